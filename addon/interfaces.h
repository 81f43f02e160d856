// Network interfaces as the kernel sees them in the calling thread's network
// namespace (if_nametoindex, if_nameindex and the ethtool ioctl all ask the
// kernel through a socket), never through /sys/class/net, which shows the
// namespace of whoever mounted sysfs: a process entered into another
// namespace with `nsenter --net` still sees the host's there.
#ifndef HOSTFLOW_INTERFACES_H
#define HOSTFLOW_INTERFACES_H

#include <napi.h>

namespace hostflow {

// interfaceIndex(name): the ifindex, or null when there is no such interface.
Napi::Value InterfaceIndex(const Napi::CallbackInfo& info);
// interfaces(): [{ index, name }] of every interface, by index.
Napi::Value Interfaces(const Napi::CallbackInfo& info);
// interfaceDriver(name): the driver ('virtio_net', 'veth'), or null when the
// device reports none (lo) or is gone.
Napi::Value InterfaceDriver(const Napi::CallbackInfo& info);

// netnsCookie(): the calling thread's network namespace cookie as a decimal
// string (SO_NETNS_COOKIE, Linux 5.14+), or null where the kernel has none.
Napi::Value NetnsCookie(const Napi::CallbackInfo& info);

}  // namespace hostflow

#endif  // HOSTFLOW_INTERFACES_H
