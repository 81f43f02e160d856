// BpfObject: one libbpf bpf_object and every attachment made from it.
//
// Life: open (constructor) -> setAutoload/setConst/setMaxEntries -> load ->
// attach*/map operations/testRun -> close. close() (or the destructor, or
// the environment cleanup hook when a worker or the process ends) stops the
// RingPollers created from this object, detaches every link and frees the
// object. Every method runs on the JavaScript thread.
//
// Attachments are bpf_links wherever the kernel has them, so a process that
// dies without closing (SIGKILL) leaves nothing attached. TC uses tcx links
// (kernel 6.6+); older kernels get a clsact netlink filter ('tc-netlink'),
// which close() removes but which outlives a killed process.
// HOSTFLOW_TC_NETLINK=1 forces the netlink path (to test it on new kernels).
#ifndef HOSTFLOW_BPF_OBJECT_H
#define HOSTFLOW_BPF_OBJECT_H

#include <napi.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct bpf_object;
struct bpf_program;
struct bpf_map;
struct bpf_link;

namespace hostflow {

class PollLoop;

class BpfObject : public Napi::ObjectWrap<BpfObject> {
 public:
  static Napi::Function Init(Napi::Env env);
  // The BpfObject wrapped by `value`, or nullptr when it is something else.
  static BpfObject* FromValue(Napi::Value value);

  explicit BpfObject(const Napi::CallbackInfo& info);
  ~BpfObject() override;

  const std::string& Name() const { return name_; }
  // fd of a loaded BPF_MAP_TYPE_RINGBUF map; throws naming `method` otherwise.
  int RingBufferFd(Napi::Env env, const std::string& map, const char* method);
  // Pollers register so that close() can stop them before the maps go away.
  // One ring buffer has one consumer position: a map polled by a registered
  // poller cannot be given to another one (throws naming `method`).
  void AddPoller(Napi::Env env, std::shared_ptr<PollLoop> poller, const char* method);
  void RemovePoller(const PollLoop* poller);

 private:
  // One attachment. Exactly one of link / fd / tc-netlink fields is in use.
  struct Link {
    uint32_t id = 0;
    std::string program;
    std::string kind;
    std::string target;
    uint32_t kernelLinkId = 0;
    bpf_link* link = nullptr;  // made by libbpf (tracepoint, probes)
    int fd = -1;               // xdp and tcx links made with bpf_link_create
    int tcIfindex = 0;         // tc-netlink filter
    uint32_t tcAttachPoint = 0;
    uint32_t tcHandle = 0;
    uint32_t tcPriority = 0;
  };

  Napi::Value Programs(const Napi::CallbackInfo& info);
  Napi::Value ProgramStats(const Napi::CallbackInfo& info);
  Napi::Value Maps(const Napi::CallbackInfo& info);
  Napi::Value SetAutoload(const Napi::CallbackInfo& info);
  Napi::Value SetConst(const Napi::CallbackInfo& info);
  Napi::Value SetMaxEntries(const Napi::CallbackInfo& info);
  Napi::Value Load(const Napi::CallbackInfo& info);
  Napi::Value AttachTracepoint(const Napi::CallbackInfo& info);
  Napi::Value AttachRawTracepoint(const Napi::CallbackInfo& info);
  Napi::Value AttachKprobe(const Napi::CallbackInfo& info);
  Napi::Value AttachTracing(const Napi::CallbackInfo& info);
  Napi::Value AttachUprobe(const Napi::CallbackInfo& info);
  Napi::Value AttachXdp(const Napi::CallbackInfo& info);
  Napi::Value AttachTc(const Napi::CallbackInfo& info);
  Napi::Value AttachCgroup(const Napi::CallbackInfo& info);
  Napi::Value Detach(const Napi::CallbackInfo& info);
  Napi::Value Links(const Napi::CallbackInfo& info);
  Napi::Value DumpMap(const Napi::CallbackInfo& info);
  Napi::Value Lookup(const Napi::CallbackInfo& info);
  Napi::Value Update(const Napi::CallbackInfo& info);
  Napi::Value Delete(const Napi::CallbackInfo& info);
  Napi::Value TestRun(const Napi::CallbackInfo& info);
  Napi::Value Run(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  // Lookups that throw a precise error naming `method`.
  void RequireOpen(Napi::Env env, const char* method) const;
  void RequireBeforeLoad(Napi::Env env, const char* method) const;
  void RequireLoaded(Napi::Env env, const char* method) const;
  bpf_program* FindProgram(Napi::Env env, const std::string& name, const char* method) const;
  bpf_program* LoadedProgram(Napi::Env env, const std::string& name, const char* method) const;
  bpf_map* FindMap(Napi::Env env, const std::string& name, const char* method) const;
  int MapFd(Napi::Env env, bpf_map* map, const std::string& name, const char* method) const;
  // A loaded map and its fd.
  struct KeyedMap {
    bpf_map* map;
    int fd;
  };
  // The guard of lookup, update and delete: loaded map `name`, whose key
  // size must be `keyBytes`.
  KeyedMap MapForKey(Napi::Env env, const std::string& name, size_t keyBytes,
                     const char* method) const;
  // Bytes of one value as the kernel reads and writes it for this map.
  static size_t ValueBytes(const bpf_map* map);

  // What attachTc attaches where: program fd, interface, direction.
  struct TcTarget {
    int progFd;
    int ifindex;
    bool ingress;
  };
  // attachTc's two paths; AttachTcx returns false where the kernel has no tcx.
  static bool AttachTcx(Napi::Env env, const TcTarget& target, const std::string& call, Link* link);
  void AttachTcNetlink(Napi::Env env, const TcTarget& target, const std::string& call, Link* link);

  Napi::Value AddLink(Napi::Env env, Link link);
  static Link MakeLink(const std::string& program, const std::string& kind,
                       const std::string& target);
  template <typename Attach>
  Napi::Value AttachLink(Napi::Env env, const char* method, Link link, Attach attach);
  static Napi::Object LinkToJs(Napi::Env env, const Link& link);
  // Undoes one attachment; returns 0 or a negative errno (tc-netlink only).
  int ReleaseLink(Link& link);
  int ReleaseTcNetlink(Link& link);
  void CloseAll();
  static void CleanupHook(void* self);

  std::string name_;
  std::vector<uint8_t> elf_;  // copy of options.object; libbpf keeps pointers into it
  bpf_object* object_ = nullptr;
  bool loaded_ = false;
  bool loadFailed_ = false;
  bool closed_ = false;
  napi_env env_;
  bool cleanupHookRegistered_ = false;
  uint32_t nextLinkId_ = 1;
  std::map<uint32_t, Link> links_;
  // ifindex -> tc-netlink links of ours on it, for clsact hooks we created.
  std::map<int, int> createdTcHooks_;
  std::vector<std::shared_ptr<PollLoop>> pollers_;
};

}  // namespace hostflow

#endif  // HOSTFLOW_BPF_OBJECT_H
