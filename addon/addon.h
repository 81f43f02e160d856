// State the module keeps per Node environment (main thread or worker).
#ifndef HOSTFLOW_ADDON_H
#define HOSTFLOW_ADDON_H

#include <napi.h>

namespace hostflow {

// Stored with Napi::Env::SetInstanceData; freed by Node with the environment.
struct AddonData {
  // The BpfObject constructor, to recognise BpfObject arguments.
  Napi::FunctionReference bpfObjectConstructor;
};

}  // namespace hostflow

#endif  // HOSTFLOW_ADDON_H
