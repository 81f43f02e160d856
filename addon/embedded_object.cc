#include "embedded_object.h"

// bpftool's skeleton is C first; keep its warnings out of -Werror.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Woverlength-strings"
#include "hostflow.skel.h"
#pragma GCC diagnostic pop

namespace hostflow {

const void* EmbeddedObject(size_t* size) { return hostflow_bpf__elf_bytes(size); }

}  // namespace hostflow
