// Dropping capabilities in every thread of the process (capabilities.cc).
#ifndef HOSTFLOW_CAPABILITIES_H
#define HOSTFLOW_CAPABILITIES_H

#include <napi.h>

namespace hostflow {

// dropCapabilities(keep: bigint): { threads, signalled, failed }.
// Called from the JavaScript thread, once everything is attached.
Napi::Value DropCapabilities(const Napi::CallbackInfo& info);

}  // namespace hostflow

#endif  // HOSTFLOW_CAPABILITIES_H
