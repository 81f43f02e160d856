// The hostflow BPF object compiled into the addon (build/bpf/hostflow.skel.h).
// Only embedded_object.cc includes the skeleton, so nothing else depends on
// its generated names.
#ifndef HOSTFLOW_EMBEDDED_OBJECT_H
#define HOSTFLOW_EMBEDDED_OBJECT_H

#include <cstddef>

namespace hostflow {

// ELF bytes of the embedded object; static storage, valid for the life of
// the process. Callable from any thread.
const void* EmbeddedObject(size_t* size);

}  // namespace hostflow

#endif  // HOSTFLOW_EMBEDDED_OBJECT_H
