// Module entry: registers BpfObject and RingPoller, and small functions
// about libbpf and the network interfaces.
// Loaded once per Node environment (main thread and each worker).
#include <bpf/libbpf.h>
#include <napi.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <string>

#include "addon.h"
#include "bpf_object.h"
#include "capabilities.h"
#include "errors.h"
#include "interfaces.h"
#include "ring_poller.h"

namespace hostflow {

namespace {

// Called from the JavaScript thread: '1.1'.
Napi::Value LibbpfVersion(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), std::to_string(libbpf_major_version()) + "." +
                                           std::to_string(libbpf_minor_version()));
}

// Called from the JavaScript thread.
Napi::Value PossibleCpus(const Napi::CallbackInfo& info) {
  int cpus = libbpf_num_possible_cpus();
  if (cpus < 0) throw ErrnoError(info.Env(), "possibleCpus()", cpus);
  return Napi::Number::New(info.Env(), cpus);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InstallLibbpfPrint();
#if defined(__GLIBC__)
  // glibc raises its mmap threshold to the largest block freed so far; after
  // the first flow dump (megabytes, one per interval) later dumps come from
  // the heap, whose pages stay resident once freed. A fixed threshold keeps
  // every block of 1 MB or more in a mapping of its own, given back on free.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
  env.SetInstanceData(new AddonData());
  exports.Set("BpfObject", BpfObject::Init(env));
  exports.Set("RingPoller", RingPoller::Init(env));
  exports.Set("libbpfVersion", Napi::Function::New<LibbpfVersion>(env, "libbpfVersion"));
  exports.Set("possibleCpus", Napi::Function::New<PossibleCpus>(env, "possibleCpus"));
  exports.Set("interfaceIndex", Napi::Function::New<InterfaceIndex>(env, "interfaceIndex"));
  exports.Set("interfaces", Napi::Function::New<Interfaces>(env, "interfaces"));
  exports.Set("interfaceDriver", Napi::Function::New<InterfaceDriver>(env, "interfaceDriver"));
  exports.Set("netnsCookie", Napi::Function::New<NetnsCookie>(env, "netnsCookie"));
  exports.Set("dropCapabilities", Napi::Function::New<DropCapabilities>(env, "dropCapabilities"));
  return exports;
}

}  // namespace

}  // namespace hostflow

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return hostflow::Init(env, exports);
}

NODE_API_MODULE(hostflow, InitModule)
