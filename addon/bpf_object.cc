#include "bpf_object.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/if_link.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <net/if.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <utility>

#include "addon.h"
#include "args.h"
#include "embedded_object.h"
#include "errors.h"
#include "ring_poller.h"

namespace hostflow {

namespace {

// tcx attach types (kernel 6.6); Debian 12's uapi header predates them.
constexpr int kBpfTcxIngress = 46;
constexpr int kBpfTcxEgress = 47;
// Kernel-internal "not supported" that bpf(2) can return.
constexpr int kENOTSUPP = 524;
// Lines of the verifier log quoted in a load error's message.
constexpr size_t kVerifierTailLines = 20;
// Lines of libbpf's own log quoted in other errors.
constexpr size_t kLibbpfTailLines = 3;
// Entries asked for per bpf_map_lookup_batch call. A hash bucket larger than
// this makes the kernel answer ENOSPC, which falls back to iteration.
constexpr uint32_t kBatchEntries = 8192;

// Attempts libbpf makes per program when the kernel answers EAGAIN
// (PROG_LOAD_ATTEMPTS in libbpf's bpf.c): the bound of load()'s retries.
constexpr int kLoadAttempts = 5;

// Blocks every signal on the calling thread while it lives. The verifier
// abandons a load with EAGAIN whenever a signal is pending for the loading
// thread, and a profiler (node --cpu-prof: SIGPROF every millisecond), a
// terminal resize or a supervisor can keep one pending through every retry.
// Blocked, they wait and are delivered when the mask is restored; signals
// for the process go to Node's other threads meanwhile.
class SignalsBlocked {
 public:
  SignalsBlocked() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &previous_);
  }
  ~SignalsBlocked() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  SignalsBlocked(const SignalsBlocked&) = delete;
  SignalsBlocked& operator=(const SignalsBlocked&) = delete;

 private:
  sigset_t previous_;
};

// A libbpf options struct, zeroed and its `sz` set: what the LIBBPF_OPTS
// macro does in C, where libbpf checks `sz` to know which fields the caller
// knows of.
template <typename Opts>
Opts LibbpfOpts() {
  Opts opts;
  std::memset(&opts, 0, sizeof(opts));
  opts.sz = sizeof(opts);
  return opts;
}

size_t RoundUp8(size_t value) { return (value + 7) & ~static_cast<size_t>(7); }

bool IsPerCpu(enum bpf_map_type type) {
  return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

int PossibleCpus() {
  int cpus = libbpf_num_possible_cpus();
  return cpus > 0 ? cpus : 1;
}

std::string InterfaceName(int ifindex) {
  char name[IF_NAMESIZE];
  if (if_indextoname(static_cast<unsigned>(ifindex), name) != nullptr) {
    return name;
  }
  return "ifindex " + std::to_string(ifindex);
}

uint32_t KernelLinkId(int fd) {
  struct bpf_link_info info;
  std::memset(&info, 0, sizeof(info));
  uint32_t length = sizeof(info);
  if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &length) != 0) return 0;
  return info.id;
}

// Every item of one of an object's lists, in the object's order, walked
// with libbpf's `next` function for that list.
template <typename Item, typename Next>
std::vector<Item*> Walk(const bpf_object* object, Next next) {
  std::vector<Item*> items;
  for (Item* item = next(object, nullptr); item != nullptr; item = next(object, item)) {
    items.push_back(item);
  }
  return items;
}

std::vector<bpf_program*> ProgramsOf(const bpf_object* object) {
  return Walk<bpf_program>(object, bpf_object__next_program);
}

// The names of an object's programs or maps, in the object's order.
template <typename Item>
std::vector<std::string> NamesOf(const std::vector<Item*>& items,
                                 const char* (*nameOf)(const Item*)) {
  std::vector<std::string> names;
  for (const Item* item : items) names.push_back(nameOf(item));
  return names;
}

std::vector<std::string> ProgramNames(const bpf_object* object) {
  return NamesOf(ProgramsOf(object), bpf_program__name);
}

std::vector<std::string> MapNames(const bpf_object* object) {
  return NamesOf(Walk<bpf_map>(object, bpf_object__next_map), bpf_map__name);
}

Napi::Array StringsToJs(Napi::Env env, const std::vector<std::string>& strings) {
  Napi::Array array = Napi::Array::New(env, strings.size());
  for (uint32_t index = 0; index < strings.size(); index++) {
    array.Set(index, Napi::String::New(env, strings[index]));
  }
  return array;
}

// "<method>: no <kind> '<name>' in object '<object>' (<kind>s: <known>)":
// what a caller asked for that the object does not have, and what it has.
Napi::Error NotFound(Napi::Env env, const char* method, const std::string& kind,
                     const std::string& name, const std::string& object,
                     const std::vector<std::string>& known) {
  std::string list;
  for (const std::string& each : known) list += (list.empty() ? "" : ", ") + each;
  return ArgRangeError(env, std::string(method) + ": no " + kind + " '" + name + "' in object '" +
                                object + "' (" + kind + "s: " + list + ")");
}

// A tracing program's link kind, from the attach type its section gave it.
const char* TracingKind(const bpf_program* program) {
  switch (bpf_program__expected_attach_type(program)) {
    case BPF_TRACE_FENTRY:
      return "fentry";
    case BPF_TRACE_FEXIT:
      return "fexit";
    case BPF_MODIFY_RETURN:
      return "fmod_ret";
    default:
      return "tracing";
  }
}

// hostflow's TC filter when there is no tcx: handle "hf", and priority 1
// so that it counts every packet before a user's filter can redirect or
// drop it (it only observes: TC_ACT_UNSPEC goes on to the next filter).
constexpr uint32_t kTcHandle = 0x6866;
constexpr uint32_t kTcPriority = 1;

bool ForceTcNetlink() {
  const char* value = std::getenv("HOSTFLOW_TC_NETLINK");
  return value != nullptr && value[0] != '\0' && std::strcmp(value, "0") != 0;
}

// The clsact hook of one interface at `attachPoint`, as libbpf's tc calls
// take it.
struct bpf_tc_hook TcHook(int ifindex, enum bpf_tc_attach_point attachPoint) {
  auto hook = LibbpfOpts<struct bpf_tc_hook>();
  hook.ifindex = ifindex;
  hook.attach_point = attachPoint;
  return hook;
}

// The filter with `handle` and `priority`, no program: what bpf_tc_detach
// takes, and bpf_tc_attach once it is given one.
struct bpf_tc_opts TcFilter(uint32_t handle, uint32_t priority) {
  auto opts = LibbpfOpts<struct bpf_tc_opts>();
  opts.handle = handle;
  opts.priority = priority;
  return opts;
}

// Removes the clsact qdisc of `hook`'s interface, both directions and every
// filter on them: only for a clsact that we created.
void DestroyClsact(struct bpf_tc_hook hook) {
  hook.attach_point = static_cast<enum bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
  bpf_tc_hook_destroy(&hook);
}

// Buffer that adopts `bytes` without copying.
Napi::Buffer<uint8_t> AdoptBuffer(Napi::Env env, std::vector<uint8_t>&& bytes) {
  if (bytes.empty()) return Napi::Buffer<uint8_t>::New(env, 0);
  auto* owned = new std::vector<uint8_t>(std::move(bytes));
  return Napi::Buffer<uint8_t>::New(
      env, owned->data(), owned->size(),
      [](Napi::Env, uint8_t*, std::vector<uint8_t>* vector) { delete vector; }, owned);
}

// The verifier's log out of libbpf's output:
//   libbpf: prog 'NAME': -- BEGIN PROG LOAD LOG --\n<log>-- END PROG LOAD LOG --
bool ExtractVerifierLog(const std::string& text, std::string* program, std::string* log) {
  static const std::string kBegin = "': -- BEGIN PROG LOAD LOG --\n";
  static const std::string kEnd = "-- END PROG LOAD LOG --";
  size_t begin = text.rfind(kBegin);
  if (begin == std::string::npos) return false;
  size_t nameStart = text.rfind("prog '", begin);
  if (nameStart != std::string::npos) {
    nameStart += 6;
    *program = text.substr(nameStart, begin - nameStart);
  }
  size_t logStart = begin + kBegin.size();
  size_t end = text.find(kEnd, logStart);
  *log = text.substr(logStart, end == std::string::npos ? std::string::npos : end - logStart);
  return true;
}

// Program named in "libbpf: prog 'NAME': failed to load" when the kernel
// gave no verifier log (e.g. a map or BTF problem).
std::string FailedProgram(const std::string& text) {
  static const std::string kMarker = "': failed to load";
  size_t marker = text.rfind(kMarker);
  if (marker == std::string::npos) return "";
  size_t nameStart = text.rfind("prog '", marker);
  if (nameStart == std::string::npos) return "";
  nameStart += 6;
  return text.substr(nameStart, marker - nameStart);
}

// Throws a RangeError unless `got`, the size of the `what` ("key",
// "value") given for map `mapName`, is the `expected` size.
void RequireBytes(Napi::Env env, const char* method, const char* what, const std::string& mapName,
                  size_t expected, size_t got) {
  if (got == expected) return;
  throw ArgRangeError(env, std::string(method) + ": " + what + " of '" + mapName + "' must be " +
                               std::to_string(expected) + " bytes, got " + std::to_string(got));
}

// What dumpMap needs to know of a map to size its buffers.
struct MapShape {
  size_t keySize;
  size_t stride;  // bytes of one value, every CPU's slot included
  uint32_t maxEntries;
};

// Entries read out of a map: `count` keys and values, each packed in one
// buffer.
struct MapEntries {
  size_t count = 0;
  std::vector<uint8_t> keys;
  std::vector<uint8_t> values;
};

// dumpMap, batch path: every entry in calls of up to kBatchEntries, a few
// syscalls for a large map. Nothing when the kernel cannot batch this map
// (no batch lookup for its type or on this kernel, or a hash bucket holds
// more than one call takes: ENOSPC); the caller walks the keys instead.
std::optional<MapEntries> DumpInBatches(Napi::Env env, int fd, const MapShape& shape,
                                        const std::string& call) {
  const uint32_t chunk = std::max<uint32_t>(1, std::min(shape.maxEntries, kBatchEntries));
  MapEntries entries;
  // The batch cursor is opaque (a bucket index for hash maps, a key for
  // arrays); give it room for either.
  std::vector<uint8_t> inBatch(std::max<size_t>(shape.keySize, 8));
  std::vector<uint8_t> outBatch(inBatch.size());
  auto opts = LibbpfOpts<struct bpf_map_batch_opts>();
  for (bool first = true;; first = false) {
    entries.keys.resize((entries.count + chunk) * shape.keySize);
    entries.values.resize((entries.count + chunk) * shape.stride);
    uint32_t got = chunk;
    int err =
        bpf_map_lookup_batch(fd, first ? nullptr : inBatch.data(), outBatch.data(),
                             entries.keys.data() + entries.count * shape.keySize,
                             entries.values.data() + entries.count * shape.stride, &got, &opts);
    if (err == -ENOSPC || err == -EINVAL || err == -EOPNOTSUPP || err == -kENOTSUPP) {
      return std::nullopt;
    }
    if (err != 0 && err != -ENOENT) throw ErrnoError(env, call, err);
    entries.count += got;
    // ENOENT: the last entries came with this call; the map is done.
    if (err == -ENOENT || got == 0) return entries;
    std::swap(inBatch, outBatch);
  }
}

// dumpMap, iteration path: one key at a time, for the maps and kernels that
// cannot batch. Entries deleted meanwhile are skipped. The walk stops after
// max_entries: get_next_key starts again from the first key when the current
// one was deleted meanwhile, so a busy map could otherwise keep it going.
MapEntries DumpKeyByKey(Napi::Env env, int fd, const MapShape& shape, const std::string& call) {
  MapEntries entries;
  std::vector<uint8_t> current(shape.keySize);
  std::vector<uint8_t> next(shape.keySize);
  bool haveCurrent = false;
  while (entries.count < shape.maxEntries) {
    int err = bpf_map_get_next_key(fd, haveCurrent ? current.data() : nullptr, next.data());
    if (err == -ENOENT) break;
    if (err != 0) throw ErrnoError(env, call, err);
    entries.values.resize((entries.count + 1) * shape.stride);
    err =
        bpf_map_lookup_elem(fd, next.data(), entries.values.data() + entries.count * shape.stride);
    if (err == 0) {
      entries.keys.insert(entries.keys.end(), next.begin(), next.end());
      entries.count++;
    } else if (err != -ENOENT) {
      throw ErrnoError(env, call, err);
    }
    std::swap(current, next);
    haveCurrent = true;
  }
  return entries;
}

// dumpMap's result: the buffers cut to the entries read, and how to read them.
Napi::Object EntriesToJs(Napi::Env env, const MapShape& shape, MapEntries&& entries, int cpus) {
  entries.keys.resize(entries.count * shape.keySize);
  entries.values.resize(entries.count * shape.stride);
  Napi::Object result = Napi::Object::New(env);
  result.Set("count", Napi::Number::New(env, static_cast<double>(entries.count)));
  result.Set("keySize", Napi::Number::New(env, static_cast<double>(shape.keySize)));
  result.Set("valueStride", Napi::Number::New(env, static_cast<double>(shape.stride)));
  result.Set("cpus", Napi::Number::New(env, cpus));
  result.Set("keys", AdoptBuffer(env, std::move(entries.keys)));
  result.Set("values", AdoptBuffer(env, std::move(entries.values)));
  return result;
}

}  // namespace

Napi::Function BpfObject::Init(Napi::Env env) {
  Napi::Function constructor =
      DefineClass(env, "BpfObject",
                  {
                      InstanceMethod<&BpfObject::Programs>("programs"),
                      InstanceMethod<&BpfObject::Maps>("maps"),
                      InstanceMethod<&BpfObject::ProgramStats>("programStats"),
                      InstanceMethod<&BpfObject::SetAutoload>("setAutoload"),
                      InstanceMethod<&BpfObject::SetConst>("setConst"),
                      InstanceMethod<&BpfObject::SetMaxEntries>("setMaxEntries"),
                      InstanceMethod<&BpfObject::Load>("load"),
                      InstanceMethod<&BpfObject::AttachTracepoint>("attachTracepoint"),
                      InstanceMethod<&BpfObject::AttachRawTracepoint>("attachRawTracepoint"),
                      InstanceMethod<&BpfObject::AttachKprobe>("attachKprobe"),
                      InstanceMethod<&BpfObject::AttachTracing>("attachTracing"),
                      InstanceMethod<&BpfObject::AttachUprobe>("attachUprobe"),
                      InstanceMethod<&BpfObject::AttachXdp>("attachXdp"),
                      InstanceMethod<&BpfObject::AttachTc>("attachTc"),
                      InstanceMethod<&BpfObject::AttachCgroup>("attachCgroup"),
                      InstanceMethod<&BpfObject::Detach>("detach"),
                      InstanceMethod<&BpfObject::Links>("links"),
                      InstanceMethod<&BpfObject::DumpMap>("dumpMap"),
                      InstanceMethod<&BpfObject::Lookup>("lookup"),
                      InstanceMethod<&BpfObject::Update>("update"),
                      InstanceMethod<&BpfObject::Delete>("delete"),
                      InstanceMethod<&BpfObject::TestRun>("testRun"),
                      InstanceMethod<&BpfObject::Run>("run"),
                      InstanceMethod<&BpfObject::Close>("close"),
                  });
  env.GetInstanceData<AddonData>()->bpfObjectConstructor = Napi::Persistent(constructor);
  return constructor;
}

// Called from the JavaScript thread.
BpfObject* BpfObject::FromValue(Napi::Value value) {
  if (!value.IsObject()) return nullptr;
  AddonData* data = value.Env().GetInstanceData<AddonData>();
  if (data == nullptr || data->bpfObjectConstructor.IsEmpty()) return nullptr;
  if (!value.As<Napi::Object>().InstanceOf(data->bpfObjectConstructor.Value())) {
    return nullptr;
  }
  return Unwrap(value.As<Napi::Object>());
}

// Called from the JavaScript thread: new BpfObject(options?).
BpfObject::BpfObject(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<BpfObject>(info), name_("hostflow"), env_(info.Env()) {
  static constexpr const char* kMethod = "new BpfObject";
  Napi::Env env = info.Env();
  const void* bytes = nullptr;
  size_t size = 0;
  if (!info[0].IsUndefined()) {
    if (!info[0].IsObject()) {
      throw ArgTypeError(env, std::string(kMethod) + ": options must be an object");
    }
    Napi::Object options = info[0].As<Napi::Object>();
    Napi::Value name = options.Get("name");
    if (!name.IsUndefined()) {
      if (!name.IsString() || name.As<Napi::String>().Utf8Value().empty()) {
        throw ArgTypeError(env, std::string(kMethod) + ": options.name must be a non-empty string");
      }
      name_ = name.As<Napi::String>().Utf8Value();
    }
    Napi::Value object = options.Get("object");
    if (!object.IsUndefined()) {
      if (!object.IsBuffer()) {
        throw ArgTypeError(env, std::string(kMethod) + ": options.object must be a Buffer");
      }
      Napi::Buffer<uint8_t> buffer = object.As<Napi::Buffer<uint8_t>>();
      elf_.assign(buffer.Data(), buffer.Data() + buffer.Length());
      if (elf_.empty()) {
        throw ArgRangeError(env, std::string(kMethod) + ": options.object must not be empty");
      }
      bytes = elf_.data();
      size = elf_.size();
    }
  }
  if (bytes == nullptr) bytes = EmbeddedObject(&size);

  LibbpfLog log;
  auto opts = LibbpfOpts<struct bpf_object_open_opts>();
  opts.object_name = name_.c_str();
  object_ = bpf_object__open_mem(bytes, size, &opts);
  if (object_ == nullptr) {
    int err = errno;
    throw ErrnoError(env, "open(" + name_ + ")", err, log.Tail(kLibbpfTailLines));
  }
  // Last, so that a constructor that threw never leaves a hook behind.
  napi_add_env_cleanup_hook(env, CleanupHook, this);
  cleanupHookRegistered_ = true;
}

// Called from the JavaScript thread (garbage collection) or during
// environment teardown.
BpfObject::~BpfObject() {
  if (cleanupHookRegistered_) {
    napi_remove_env_cleanup_hook(env_, CleanupHook, this);
    cleanupHookRegistered_ = false;
  }
  CloseAll();
}

// Called from the JavaScript thread while Node tears the environment down
// (process exit, worker termination).
void BpfObject::CleanupHook(void* self) {
  auto* object = static_cast<BpfObject*>(self);
  object->cleanupHookRegistered_ = false;
  object->CloseAll();
}

// ---- checks ----

void BpfObject::RequireOpen(Napi::Env env, const char* method) const {
  if (closed_) {
    throw StateError(env, std::string(method) + ": object '" + name_ + "' is closed");
  }
}

void BpfObject::RequireBeforeLoad(Napi::Env env, const char* method) const {
  RequireOpen(env, method);
  if (loaded_ || loadFailed_) {
    throw StateError(env,
                     std::string(method) + ": must be called before load() of '" + name_ + "'");
  }
}

void BpfObject::RequireLoaded(Napi::Env env, const char* method) const {
  RequireOpen(env, method);
  if (!loaded_) {
    throw StateError(
        env, std::string(method) + ": object '" + name_ + "' is not loaded; call load() first");
  }
}

bpf_program* BpfObject::FindProgram(Napi::Env env, const std::string& name,
                                    const char* method) const {
  RequireOpen(env, method);
  bpf_program* program = bpf_object__find_program_by_name(object_, name.c_str());
  if (program != nullptr) return program;
  throw NotFound(env, method, "program", name, name_, ProgramNames(object_));
}

bpf_program* BpfObject::LoadedProgram(Napi::Env env, const std::string& name,
                                      const char* method) const {
  RequireLoaded(env, method);
  bpf_program* program = FindProgram(env, name, method);
  if (bpf_program__fd(program) < 0) {
    throw StateError(
        env, std::string(method) + ": program '" + name + "' was not loaded (autoload is off)");
  }
  return program;
}

bpf_map* BpfObject::FindMap(Napi::Env env, const std::string& name, const char* method) const {
  RequireOpen(env, method);
  bpf_map* map = bpf_object__find_map_by_name(object_, name.c_str());
  if (map != nullptr) return map;
  throw NotFound(env, method, "map", name, name_, MapNames(object_));
}

int BpfObject::MapFd(Napi::Env env, bpf_map* map, const std::string& name,
                     const char* method) const {
  RequireLoaded(env, method);
  int fd = bpf_map__fd(map);
  if (fd < 0) {
    throw StateError(env, std::string(method) + ": map '" + name + "' was not created");
  }
  return fd;
}

// lookup, update and delete take one key: the kernel reads exactly the
// map's key size from it, so a shorter buffer would be read past its end.
BpfObject::KeyedMap BpfObject::MapForKey(Napi::Env env, const std::string& name, size_t keyBytes,
                                         const char* method) const {
  bpf_map* map = FindMap(env, name, method);
  const int fd = MapFd(env, map, name, method);
  RequireBytes(env, method, "key", name, bpf_map__key_size(map), keyBytes);
  return {map, fd};
}

size_t BpfObject::ValueBytes(const bpf_map* map) {
  size_t size = bpf_map__value_size(map);
  if (IsPerCpu(bpf_map__type(map))) {
    return RoundUp8(size) * static_cast<size_t>(PossibleCpus());
  }
  return size;
}

// Called from the JavaScript thread by the RingPoller constructor.
int BpfObject::RingBufferFd(Napi::Env env, const std::string& name, const char* method) {
  bpf_map* map = FindMap(env, name, method);
  if (bpf_map__type(map) != BPF_MAP_TYPE_RINGBUF) {
    throw ArgRangeError(env, std::string(method) + ": map '" + name + "' is not a ring buffer");
  }
  return MapFd(env, map, name, method);
}

// Called from the JavaScript thread.
void BpfObject::AddPoller(Napi::Env env, std::shared_ptr<PollLoop> poller, const char* method) {
  for (const std::shared_ptr<PollLoop>& other : pollers_) {
    for (const std::string& name : poller->MapNames()) {
      const std::vector<std::string>& taken = other->MapNames();
      if (std::find(taken.begin(), taken.end(), name) != taken.end()) {
        throw StateError(env, std::string(method) + ": map '" + name +
                                  "' is already polled by another RingPoller; "
                                  "await its stop() first");
      }
    }
  }
  pollers_.push_back(std::move(poller));
}

// Called from the JavaScript thread (the poller's thread-safe function
// finalizer).
void BpfObject::RemovePoller(const PollLoop* poller) {
  pollers_.erase(
      std::remove_if(pollers_.begin(), pollers_.end(),
                     [poller](const std::shared_ptr<PollLoop>& p) { return p.get() == poller; }),
      pollers_.end());
}

// ---- before load ----

Napi::Value BpfObject::Programs(const Napi::CallbackInfo& info) {
  static constexpr const char* kMethod = "BpfObject.programs";
  RequireOpen(info.Env(), kMethod);
  return StringsToJs(info.Env(), ProgramNames(object_));
}

Napi::Value BpfObject::Maps(const Napi::CallbackInfo& info) {
  static constexpr const char* kMethod = "BpfObject.maps";
  RequireOpen(info.Env(), kMethod);
  return StringsToJs(info.Env(), MapNames(object_));
}

// The kernel's own counts for each loaded program. recursion_misses are
// runs the kernel skipped because a BPF program was already running on
// that CPU (a softirq interrupting it): events lost before any ring.
// run_cnt and run_time_ns stay 0 unless kernel.bpf_stats_enabled is set.
Napi::Value BpfObject::ProgramStats(const Napi::CallbackInfo& info) {
  static constexpr const char* kMethod = "BpfObject.programStats";
  RequireOpen(info.Env(), kMethod);
  Napi::Env env = info.Env();
  Napi::Array result = Napi::Array::New(env);
  uint32_t index = 0;
  for (bpf_program* program : ProgramsOf(object_)) {
    int fd = bpf_program__fd(program);
    if (fd < 0) continue;  // not loaded (autoload off)
    bpf_prog_info prog_info = {};
    uint32_t length = sizeof(prog_info);
    if (bpf_obj_get_info_by_fd(fd, &prog_info, &length) != 0) continue;
    Napi::Object stats = Napi::Object::New(env);
    stats.Set("name", Napi::String::New(env, bpf_program__name(program)));
    stats.Set("recursionMisses",
              Napi::Number::New(env, static_cast<double>(prog_info.recursion_misses)));
    stats.Set("runCount", Napi::Number::New(env, static_cast<double>(prog_info.run_cnt)));
    stats.Set("runTimeNs", Napi::Number::New(env, static_cast<double>(prog_info.run_time_ns)));
    result.Set(index++, stats);
  }
  return result;
}

Napi::Value BpfObject::SetAutoload(const Napi::CallbackInfo& info) {
  static constexpr const char* kMethod = "BpfObject.setAutoload";
  REQUIRE_STRING(0, "program", programName);
  REQUIRE_BOOL(1, "load", autoload);
  RequireBeforeLoad(info.Env(), kMethod);
  bpf_program* program = FindProgram(info.Env(), programName, kMethod);
  int err = bpf_program__set_autoload(program, autoload);
  if (err != 0) {
    throw ErrnoError(info.Env(), "setAutoload(" + programName + ")", err);
  }
  return info.Env().Undefined();
}

Napi::Value BpfObject::SetConst(const Napi::CallbackInfo& info) {
  static constexpr const char* kMethod = "BpfObject.setConst";
  Napi::Env env = info.Env();
  REQUIRE_STRING(0, "name", name);
  REQUIRE_BUFFER(1, "value", value);
  RequireBeforeLoad(env, kMethod);

  bpf_map* rodata = bpf_object__find_map_by_name(object_, ".rodata");
  const struct btf* btf = bpf_object__btf(object_);
  int sectionId = btf == nullptr ? -1 : btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
  if (rodata == nullptr || sectionId < 0) {
    throw ArgRangeError(env, std::string(kMethod) + ": object '" + name_ +
                                 "' has no .rodata (no const volatile globals)");
  }
  const struct btf_type* section = btf__type_by_id(btf, sectionId);
  const struct btf_var_secinfo* variables = btf_var_secinfos(section);
  for (uint16_t i = 0; i < btf_vlen(section); i++) {
    const struct btf_type* variable = btf__type_by_id(btf, variables[i].type);
    if (variable == nullptr || name != btf__name_by_offset(btf, variable->name_off)) {
      continue;
    }
    const size_t offset = variables[i].offset;
    const size_t size = variables[i].size;
    if (value.Length() != size) {
      throw ArgRangeError(env, std::string(kMethod) + ": '" + name + "' is " +
                                   std::to_string(size) + " bytes, value has " +
                                   std::to_string(value.Length()));
    }
    size_t total = 0;
    const void* initial = bpf_map__initial_value(rodata, &total);
    if (initial == nullptr || offset + size > total) {
      throw ErrnoError(env, "setConst(" + name + ")", EINVAL,
                       ".rodata is smaller than the variable's BTF offset");
    }
    std::vector<uint8_t> data(static_cast<const uint8_t*>(initial),
                              static_cast<const uint8_t*>(initial) + total);
    std::memcpy(data.data() + offset, value.Data(), size);
    int err = bpf_map__set_initial_value(rodata, data.data(), data.size());
    if (err != 0) throw ErrnoError(env, "setConst(" + name + ")", err);
    return env.Undefined();
  }
  throw ArgRangeError(env, std::string(kMethod) + ": no const volatile '" + name +
                               "' in .rodata of '" + name_ + "'");
}

Napi::Value BpfObject::SetMaxEntries(const Napi::CallbackInfo& info) {
  static constexpr const char* kMethod = "BpfObject.setMaxEntries";
  Napi::Env env = info.Env();
  REQUIRE_STRING(0, "map", mapName);
  REQUIRE_INTEGER(1, "entries", entries, 1, UINT32_MAX, "a positive integer");
  RequireBeforeLoad(env, kMethod);
  bpf_map* map = FindMap(env, mapName, kMethod);
  if (bpf_map__type(map) == BPF_MAP_TYPE_RINGBUF) {
    const int64_t page = sysconf(_SC_PAGESIZE);
    if ((entries & (entries - 1)) != 0 || entries % page != 0) {
      throw ArgRangeError(env, std::string(kMethod) + ": ring buffer '" + mapName +
                                   "' needs a power of 2 that is a "
                                   "multiple of the page size (" +
                                   std::to_string(page) + "), got " + std::to_string(entries));
    }
  }
  int err = bpf_map__set_max_entries(map, static_cast<uint32_t>(entries));
  if (err != 0) throw ErrnoError(env, "setMaxEntries(" + mapName + ")", err);
  return env.Undefined();
}

Napi::Value BpfObject::Load(const Napi::CallbackInfo& info) {
  static constexpr const char* kMethod = "BpfObject.load";
  Napi::Env env = info.Env();
  RequireOpen(env, kMethod);
  if (loaded_) throw StateError(env, std::string(kMethod) + ": '" + name_ + "' is already loaded");
  if (loadFailed_) {
    throw StateError(env, std::string(kMethod) + ": an earlier load() of '" + name_ +
                              "' failed; close it and open a new BpfObject");
  }
  LibbpfLog log;
  int err;
  {
    SignalsBlocked blocked;
    err = bpf_object__load(object_);
  }
#if defined(__GLIBC__)
  // Loading parsed the kernel's BTF (tens of MB) and freed it: give those
  // pages back instead of keeping them resident for the whole run.
  malloc_trim(0);
#endif
  if (err == 0) {
    loaded_ = true;
    return env.Undefined();
  }
  loadFailed_ = true;
  std::string program;
  std::string verifierLog;
  Napi::Error error;
  // EAGAIN survives only when the kernel kept giving up after libbpf's
  // retries: say so rather than blame the program.
  const std::string gaveUp =
      " (the kernel gave up " + std::to_string(kLoadAttempts) + " times with signals blocked)";
  if (ExtractVerifierLog(log.Text(), &program, &verifierLog)) {
    std::string what = "load(" + name_ + "): program '" + program + "' rejected by the verifier";
    if (err == -EAGAIN) what += gaveUp;
    error = ErrnoError(env, what, err, LastLines(verifierLog, kVerifierTailLines));
    error.Set("verifierLog", Napi::String::New(env, verifierLog));
  } else {
    program = FailedProgram(log.Text());
    std::string what = "load(" + name_ + ")";
    if (!program.empty()) what += ": program '" + program + "'";
    if (err == -EAGAIN) what += gaveUp;
    error = ErrnoError(env, what, err, log.Tail(kLibbpfTailLines));
  }
  if (!program.empty()) error.Set("program", Napi::String::New(env, program));
  error.Set("libbpfLog", Napi::String::New(env, log.Text()));
  throw error;
}

// ---- attach ----

Napi::Object BpfObject::LinkToJs(Napi::Env env, const Link& link) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("id", Napi::Number::New(env, link.id));
  object.Set("program", Napi::String::New(env, link.program));
  object.Set("kind", Napi::String::New(env, link.kind));
  object.Set("target", Napi::String::New(env, link.target));
  object.Set("kernelLinkId", Napi::Number::New(env, link.kernelLinkId));
  return object;
}

Napi::Value BpfObject::AddLink(Napi::Env env, Link link) {
  link.id = nextLinkId_++;
  if (link.kernelLinkId == 0) {
    link.kernelLinkId = KernelLinkId(link.link != nullptr ? bpf_link__fd(link.link) : link.fd);
  }
  Napi::Object result = LinkToJs(env, link);
  links_.emplace(link.id, std::move(link));
  return result;
}

BpfObject::Link BpfObject::MakeLink(const std::string& program, const std::string& kind,
                                    const std::string& target) {
  Link link;
  link.program = program;
  link.kind = kind;
  link.target = target;
  return link;
}

// Makes one libbpf attachment into a Link, or throws with the call that
// failed, as "<JS method>(<program>, <target>)" (ErrnoError's "<operation>
// (<subject>)": "attachKprobe(on_connect, tcp_v4_connect)"), errno and
// libbpf's last log lines.
template <typename Attach>
Napi::Value BpfObject::AttachLink(Napi::Env env, const char* method, Link link, Attach attach) {
  LibbpfLog log;
  link.link = attach();
  if (link.link == nullptr) {
    int err = errno;
    const std::string call =
        std::string(std::strchr(method, '.') + 1) + "(" + link.program + ", " + link.target + ")";
    throw ErrnoError(env, call, err, log.Tail(kLibbpfTailLines));
  }
  return AddLink(env, std::move(link));
}

Napi::Value BpfObject::AttachTracepoint(const Napi::CallbackInfo& info) {
  static constexpr const char* kMethod = "BpfObject.attachTracepoint";
  Napi::Env env = info.Env();
  REQUIRE_STRING(0, "program", programName);
  REQUIRE_STRING(1, "category", category);
  REQUIRE_STRING(2, "name", tracepoint);
  bpf_program* program = LoadedProgram(env, programName, kMethod);
  Link link = MakeLink(programName, "tracepoint", category + "/" + tracepoint);
  return AttachLink(env, kMethod, std::move(link), [&] {
    return bpf_program__attach_tracepoint(program, category.c_str(), tracepoint.c_str());
  });
}

// A raw tracepoint runs under its own program's recursion guard, not the
// CPU-wide one classic tracepoints share, so it still runs when a classic
// tracepoint program is interrupted on the same CPU.
Napi::Value BpfObject::AttachRawTracepoint(const Napi::CallbackInfo& info) {
  static constexpr const char* kMethod = "BpfObject.attachRawTracepoint";
  Napi::Env env = info.Env();
  REQUIRE_STRING(0, "program", programName);
  REQUIRE_STRING(1, "name", tracepoint);
  bpf_program* program = LoadedProgram(env, programName, kMethod);
  return AttachLink(env, kMethod, MakeLink(programName, "raw_tracepoint", tracepoint), [&] {
    return bpf_program__attach_raw_tracepoint(program, tracepoint.c_str());
  });
}

// A cgroup program (cgroup/sock_create, cgroup_skb/egress, ...) on the
// cgroup directory `path`, as a bpf_link: links are always multi-attach, so
// other runs' programs on the same cgroup stay, and a killed process leaves
// nothing behind. Called from the JavaScript thread.
Napi::Value BpfObject::AttachCgroup(const Napi::CallbackInfo& info) {
  static constexpr const char* kMethod = "BpfObject.attachCgroup";
  Napi::Env env = info.Env();
  REQUIRE_STRING(0, "program", programName);
  REQUIRE_STRING(1, "path", path);
  bpf_program* program = LoadedProgram(env, programName, kMethod);
  const int cgroupFd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cgroupFd < 0) {
    throw ErrnoError(env, "attachCgroup(" + programName + ", " + path + ")", errno, "");
  }
  try {
    Napi::Value result = AttachLink(env, kMethod, MakeLink(programName, "cgroup", path),
                                    [&] { return bpf_program__attach_cgroup(program, cgroupFd); });
    close(cgroupFd);
    return result;
  } catch (...) {
    close(cgroupFd);
    throw;
  }
}

Napi::Value BpfObject::AttachKprobe(const Napi::CallbackInfo& info) {
  static constexpr const char* kMethod = "BpfObject.attachKprobe";
  Napi::Env env = info.Env();
  REQUIRE_STRING(0, "program", programName);
  REQUIRE_STRING(1, "func", func);
  REQUIRE_BOOL(2, "retprobe", retprobe);
  bpf_program* program = LoadedProgram(env, programName, kMethod);
  return AttachLink(env, kMethod, MakeLink(programName, retprobe ? "kretprobe" : "kprobe", func),
                    [&] { return bpf_program__attach_kprobe(program, retprobe, func.c_str()); });
}

Napi::Value BpfObject::AttachTracing(const Napi::CallbackInfo& info) {
  static constexpr const char* kMethod = "BpfObject.attachTracing";
  Napi::Env env = info.Env();
  REQUIRE_STRING(0, "program", programName);
  bpf_program* program = LoadedProgram(env, programName, kMethod);
  const std::string section = bpf_program__section_name(program);
  const size_t slash = section.find('/');
  const std::string target = slash == std::string::npos ? section : section.substr(slash + 1);
  return AttachLink(env, kMethod, MakeLink(programName, TracingKind(program), target),
                    [&] { return bpf_program__attach_trace(program); });
}

Napi::Value BpfObject::AttachUprobe(const Napi::CallbackInfo& info) {
  static constexpr const char* kMethod = "BpfObject.attachUprobe";
  Napi::Env env = info.Env();
  REQUIRE_STRING(0, "program", programName);
  REQUIRE_STRING(1, "binaryPath", binaryPath);
  REQUIRE_STRING(2, "func", func);
  REQUIRE_BOOL(3, "retprobe", retprobe);
  int64_t pid = -1;
  if (!info[4].IsUndefined()) {
    REQUIRE_INTEGER(4, "pid", requestedPid, -1, INT32_MAX, "-1 (every process) or a process id");
    pid = requestedPid;
  }
  bpf_program* program = LoadedProgram(env, programName, kMethod);
  auto opts = LibbpfOpts<struct bpf_uprobe_opts>();
  opts.retprobe = retprobe;
  opts.func_name = func.c_str();
  Link link = MakeLink(programName, retprobe ? "uretprobe" : "uprobe", binaryPath + ":" + func);
  return AttachLink(env, kMethod, std::move(link), [&] {
    return bpf_program__attach_uprobe_opts(program, static_cast<pid_t>(pid), binaryPath.c_str(), 0,
                                           &opts);
  });
}

// mode 'native' (the driver's own XDP), 'generic' (the kernel's, after the
// socket buffer is built) or 'kernel' (no flag: native where the driver has
// XDP at all, else generic). Made with bpf_link_create, as libbpf 1.1's
// bpf_program__attach_xdp takes no mode flags.
Napi::Value BpfObject::AttachXdp(const Napi::CallbackInfo& info) {
  static constexpr const char* kMethod = "BpfObject.attachXdp";
  Napi::Env env = info.Env();
  REQUIRE_STRING(0, "program", programName);
  REQUIRE_POSITIVE_INT(1, "ifindex", ifindex);
  std::string mode = "kernel";
  if (!info[2].IsUndefined()) {
    REQUIRE_STRING(2, "mode", requested);
    mode = requested;
  }
  uint32_t flags = 0;
  if (mode == "native") {
    flags = XDP_FLAGS_DRV_MODE;
  } else if (mode == "generic") {
    flags = XDP_FLAGS_SKB_MODE;
  } else if (mode != "kernel") {
    throw ArgRangeError(env,
                        std::string(kMethod) + ": mode must be 'native', 'generic' or 'kernel'");
  }
  bpf_program* program = LoadedProgram(env, programName, kMethod);
  if (bpf_program__type(program) != BPF_PROG_TYPE_XDP) {
    throw ArgRangeError(
        env, std::string(kMethod) + ": program '" + programName + "' is not an XDP program");
  }
  Link link = MakeLink(programName, "xdp", InterfaceName(static_cast<int>(ifindex)));
  const std::string call = "attachXdp(" + programName + ", ifindex " + std::to_string(ifindex) +
                           (mode == "kernel" ? "" : ", " + mode) + ")";
  auto opts = LibbpfOpts<struct bpf_link_create_opts>();
  opts.flags = flags;
  int fd = bpf_link_create(bpf_program__fd(program), static_cast<int>(ifindex), BPF_XDP, &opts);
  if (fd < 0) throw ErrnoError(env, call, fd);
  link.fd = fd;
  return AddLink(env, std::move(link));
}

Napi::Value BpfObject::AttachTc(const Napi::CallbackInfo& info) {
  static constexpr const char* kMethod = "BpfObject.attachTc";
  Napi::Env env = info.Env();
  REQUIRE_STRING(0, "program", programName);
  REQUIRE_POSITIVE_INT(1, "ifindex", ifindex);
  REQUIRE_STRING(2, "direction", direction);
  if (direction != "ingress" && direction != "egress") {
    throw ArgRangeError(env, std::string(kMethod) + ": direction must be 'ingress' or 'egress'");
  }
  bpf_program* program = LoadedProgram(env, programName, kMethod);
  if (bpf_program__type(program) != BPF_PROG_TYPE_SCHED_CLS) {
    throw ArgRangeError(env, std::string(kMethod) + ": program '" + programName +
                                 "' is not a TC (sched_cls) program");
  }
  const TcTarget target{bpf_program__fd(program), static_cast<int>(ifindex),
                        direction == "ingress"};
  const std::string call =
      "attachTc(" + programName + ", ifindex " + std::to_string(ifindex) + " " + direction + ")";
  Link link;
  link.program = programName;
  link.target = InterfaceName(target.ifindex) + "/" + direction;
  if (ForceTcNetlink() || !AttachTcx(env, target, call, &link)) {
    AttachTcNetlink(env, target, call, &link);
  }
  return AddLink(env, std::move(link));
}

// attachTc's path on kernels with tcx (6.6+): a bpf_link, which the kernel
// removes when its last fd closes, a killed process included.
bool BpfObject::AttachTcx(Napi::Env env, const TcTarget& target, const std::string& call,
                          Link* link) {
  int fd = bpf_link_create(
      target.progFd, target.ifindex,
      static_cast<enum bpf_attach_type>(target.ingress ? kBpfTcxIngress : kBpfTcxEgress), nullptr);
  if (fd >= 0) {
    link->kind = "tcx";
    link->fd = fd;
    return true;
  }
  // Kernels before 6.6 do not know the tcx attach types.
  if (fd == -EINVAL || fd == -EOPNOTSUPP || fd == -kENOTSUPP) return false;
  throw ErrnoError(env, call, fd);
}

// attachTc's path without tcx: a filter on the interface's clsact qdisc,
// made over netlink, with the clsact created when there is none (and then
// removed again with our last filter on it, see ReleaseTcNetlink).
void BpfObject::AttachTcNetlink(Napi::Env env, const TcTarget& target, const std::string& call,
                                Link* link) {
  struct bpf_tc_hook hook = TcHook(target.ifindex, target.ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
  LibbpfLog log;
  int err = bpf_tc_hook_create(&hook);
  if (err != 0 && err != -EEXIST) {
    throw ErrnoError(env, call + " creating clsact", err, log.Tail(kLibbpfTailLines));
  }
  const bool created = err == 0;
  // A netlink filter outlives a killed process (it is no bpf_link): with
  // hostflow's own handle and priority, the next start replaces what a
  // SIGKILLed run left instead of stacking a second filter beside it.
  struct bpf_tc_opts opts = TcFilter(kTcHandle, kTcPriority);
  opts.prog_fd = target.progFd;
  opts.flags = BPF_TC_F_REPLACE;
  err = bpf_tc_attach(&hook, &opts);
  if (err != 0) {
    if (created) DestroyClsact(hook);
    throw ErrnoError(env, call, err, log.Tail(kLibbpfTailLines));
  }
  if (created) createdTcHooks_[hook.ifindex] = 0;
  auto hookOwned = createdTcHooks_.find(hook.ifindex);
  if (hookOwned != createdTcHooks_.end()) hookOwned->second++;
  link->kind = "tc-netlink";
  link->tcIfindex = hook.ifindex;
  link->tcAttachPoint = hook.attach_point;
  link->tcHandle = opts.handle;
  link->tcPriority = opts.priority;
}

int BpfObject::ReleaseLink(Link& link) {
  if (link.link != nullptr) {
    bpf_link__destroy(link.link);
    link.link = nullptr;
  } else if (link.fd >= 0) {
    close(link.fd);
    link.fd = -1;
  } else if (link.tcIfindex > 0) {
    return ReleaseTcNetlink(link);
  }
  return 0;
}

// Removes a tc-netlink filter, and the clsact with it when we created that
// clsact and this was our last filter on it.
int BpfObject::ReleaseTcNetlink(Link& link) {
  struct bpf_tc_hook hook =
      TcHook(link.tcIfindex, static_cast<enum bpf_tc_attach_point>(link.tcAttachPoint));
  struct bpf_tc_opts opts = TcFilter(link.tcHandle, link.tcPriority);
  int err = bpf_tc_detach(&hook, &opts);
  // ENOENT: the filter or the device is already gone, which is the goal.
  const int result = err != 0 && err != -ENOENT && err != -ENODEV ? err : 0;
  auto owned = createdTcHooks_.find(link.tcIfindex);
  if (owned != createdTcHooks_.end() && --owned->second <= 0) {
    DestroyClsact(hook);
    createdTcHooks_.erase(owned);
  }
  link.tcIfindex = 0;
  return result;
}

Napi::Value BpfObject::Detach(const Napi::CallbackInfo& info) {
  static constexpr const char* kMethod = "BpfObject.detach";
  Napi::Env env = info.Env();
  REQUIRE_POSITIVE_INT(0, "linkId", linkId);
  RequireOpen(env, kMethod);
  auto found = links_.find(static_cast<uint32_t>(linkId));
  if (found == links_.end()) {
    throw ArgRangeError(env, std::string(kMethod) + ": no link with id " + std::to_string(linkId) +
                                 " in '" + name_ + "'");
  }
  Link link = std::move(found->second);
  links_.erase(found);
  LibbpfLog log;
  int err = ReleaseLink(link);
  if (err != 0) {
    throw ErrnoError(env, "detach(" + link.program + ", " + link.target + ")", err,
                     log.Tail(kLibbpfTailLines));
  }
  return env.Undefined();
}

Napi::Value BpfObject::Links(const Napi::CallbackInfo& info) {
  static constexpr const char* kMethod = "BpfObject.links";
  RequireOpen(info.Env(), kMethod);
  Napi::Array result = Napi::Array::New(info.Env(), links_.size());
  uint32_t index = 0;
  for (const auto& entry : links_) {
    result.Set(index++, LinkToJs(info.Env(), entry.second));
  }
  return result;
}

// ---- maps ----

Napi::Value BpfObject::DumpMap(const Napi::CallbackInfo& info) {
  static constexpr const char* kMethod = "BpfObject.dumpMap";
  Napi::Env env = info.Env();
  REQUIRE_STRING(0, "map", mapName);
  bpf_map* map = FindMap(env, mapName, kMethod);
  const int fd = MapFd(env, map, mapName, kMethod);
  const MapShape shape{bpf_map__key_size(map), ValueBytes(map), bpf_map__max_entries(map)};
  const std::string call = "dumpMap(" + mapName + ")";
  std::optional<MapEntries> entries = DumpInBatches(env, fd, shape, call);
  if (!entries) entries = DumpKeyByKey(env, fd, shape, call);
  const int cpus = IsPerCpu(bpf_map__type(map)) ? PossibleCpus() : 1;
  return EntriesToJs(env, shape, std::move(*entries), cpus);
}

Napi::Value BpfObject::Lookup(const Napi::CallbackInfo& info) {
  static constexpr const char* kMethod = "BpfObject.lookup";
  Napi::Env env = info.Env();
  REQUIRE_STRING(0, "map", mapName);
  REQUIRE_BUFFER(1, "key", key);
  const KeyedMap target = MapForKey(env, mapName, key.Length(), kMethod);
  std::vector<uint8_t> value(ValueBytes(target.map));
  int err = bpf_map_lookup_elem(target.fd, key.Data(), value.data());
  if (err == -ENOENT) return env.Null();
  if (err != 0) throw ErrnoError(env, "lookup(" + mapName + ")", err);
  return AdoptBuffer(env, std::move(value));
}

Napi::Value BpfObject::Update(const Napi::CallbackInfo& info) {
  static constexpr const char* kMethod = "BpfObject.update";
  Napi::Env env = info.Env();
  REQUIRE_STRING(0, "map", mapName);
  REQUIRE_BUFFER(1, "key", key);
  REQUIRE_BUFFER(2, "value", value);
  const KeyedMap target = MapForKey(env, mapName, key.Length(), kMethod);
  RequireBytes(env, kMethod, "value", mapName, ValueBytes(target.map), value.Length());
  int err = bpf_map_update_elem(target.fd, key.Data(), value.Data(), BPF_ANY);
  if (err != 0) throw ErrnoError(env, "update(" + mapName + ")", err);
  return env.Undefined();
}

Napi::Value BpfObject::Delete(const Napi::CallbackInfo& info) {
  static constexpr const char* kMethod = "BpfObject.delete";
  Napi::Env env = info.Env();
  REQUIRE_STRING(0, "map", mapName);
  REQUIRE_BUFFER(1, "key", key);
  const KeyedMap target = MapForKey(env, mapName, key.Length(), kMethod);
  int err = bpf_map_delete_elem(target.fd, key.Data());
  if (err == -ENOENT) return Napi::Boolean::New(env, false);
  if (err != 0) throw ErrnoError(env, "delete(" + mapName + ")", err);
  return Napi::Boolean::New(env, true);
}

// ---- test run ----

Napi::Value BpfObject::TestRun(const Napi::CallbackInfo& info) {
  static constexpr const char* kMethod = "BpfObject.testRun";
  Napi::Env env = info.Env();
  REQUIRE_STRING(0, "program", programName);
  REQUIRE_BUFFER(1, "data", data);
  REQUIRE_INTEGER(2, "repeat", repeat, 0, INT32_MAX, "a non-negative integer");
  bpf_program* program = LoadedProgram(env, programName, kMethod);
  // Room for programs that grow the packet (bpf_xdp_adjust_head/tail).
  std::vector<uint8_t> out(std::max<size_t>(2 * data.Length(), data.Length() + 4096));
  auto opts = LibbpfOpts<struct bpf_test_run_opts>();
  opts.data_in = data.Data();
  opts.data_size_in = static_cast<uint32_t>(data.Length());
  opts.data_out = out.data();
  opts.data_size_out = static_cast<uint32_t>(out.size());
  opts.repeat = static_cast<int>(repeat);
  int err = bpf_prog_test_run_opts(bpf_program__fd(program), &opts);
  if (err != 0) throw ErrnoError(env, "testRun(" + programName + ")", err);
  out.resize(std::min<size_t>(opts.data_size_out, out.size()));
  Napi::Object result = Napi::Object::New(env);
  result.Set("retval", Napi::Number::New(env, opts.retval));
  result.Set("durationNs", Napi::Number::New(env, opts.duration));
  result.Set("dataOut", AdoptBuffer(env, std::move(out)));
  return result;
}

// A program that takes no packet (a raw tracepoint program run on its own,
// such as the lifecycle's sweep): one run, its return value.
Napi::Value BpfObject::Run(const Napi::CallbackInfo& info) {
  static constexpr const char* kMethod = "BpfObject.run";
  Napi::Env env = info.Env();
  REQUIRE_STRING(0, "program", programName);
  bpf_program* program = LoadedProgram(env, programName, kMethod);
  auto opts = LibbpfOpts<struct bpf_test_run_opts>();
  int err = bpf_prog_test_run_opts(bpf_program__fd(program), &opts);
  if (err != 0) throw ErrnoError(env, "run(" + programName + ")", err);
  return Napi::Number::New(env, opts.retval);
}

// ---- close ----

Napi::Value BpfObject::Close(const Napi::CallbackInfo& info) {
  CloseAll();
  return info.Env().Undefined();
}

// Called from the JavaScript thread: close(), the destructor, the cleanup
// hook. Idempotent.
void BpfObject::CloseAll() {
  if (closed_) return;
  closed_ = true;
  // Pollers first: their thread reads the ring buffers of this object.
  for (const std::shared_ptr<PollLoop>& poller : pollers_) {
    poller->StopAndJoin();
    poller->DetachOwner();
  }
  pollers_.clear();
  for (auto it = links_.rbegin(); it != links_.rend(); ++it) {
    ReleaseLink(it->second);
  }
  links_.clear();
  createdTcHooks_.clear();
  if (object_ != nullptr) {
    bpf_object__close(object_);
    object_ = nullptr;
  }
  elf_.clear();
  elf_.shrink_to_fit();
}

}  // namespace hostflow
