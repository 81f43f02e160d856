#include "interfaces.h"

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "args.h"
#include "errors.h"

namespace hostflow {

namespace {

// Names the kernel accepts: 1..15 bytes (IFNAMSIZ with its NUL), no '/',
// no whitespace.
bool ValidName(const std::string& name) {
  if (name.empty() || name.size() >= IF_NAMESIZE) return false;
  return std::none_of(name.begin(), name.end(),
                      [](char c) { return c == '/' || c == ' ' || c == '\t' || c == '\n'; });
}

}  // namespace

// Called from the JavaScript thread.
Napi::Value InterfaceIndex(const Napi::CallbackInfo& info) {
  static constexpr const char* kMethod = "interfaceIndex";
  Napi::Env env = info.Env();
  REQUIRE_STRING(0, "name", name);
  if (!ValidName(name)) return env.Null();
  const unsigned index = if_nametoindex(name.c_str());
  if (index == 0) {
    if (errno == ENODEV || errno == ENXIO) return env.Null();
    throw ErrnoError(env, "if_nametoindex(" + name + ")", errno);
  }
  return Napi::Number::New(env, index);
}

// Called from the JavaScript thread.
Napi::Value Interfaces(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct if_nameindex* list = if_nameindex();
  if (list == nullptr) throw ErrnoError(env, "if_nameindex()", errno);
  std::vector<std::pair<unsigned, std::string>> found;
  for (struct if_nameindex* entry = list; entry->if_index != 0; entry++) {
    found.emplace_back(entry->if_index, entry->if_name);
  }
  if_freenameindex(list);
  std::sort(found.begin(), found.end());
  Napi::Array result = Napi::Array::New(env, found.size());
  for (size_t i = 0; i < found.size(); i++) {
    Napi::Object item = Napi::Object::New(env);
    item.Set("index", Napi::Number::New(env, found[i].first));
    item.Set("name", Napi::String::New(env, found[i].second));
    result.Set(static_cast<uint32_t>(i), item);
  }
  return result;
}

// Called from the JavaScript thread.
Napi::Value InterfaceDriver(const Napi::CallbackInfo& info) {
  static constexpr const char* kMethod = "interfaceDriver";
  Napi::Env env = info.Env();
  REQUIRE_STRING(0, "name", name);
  if (!ValidName(name)) return env.Null();
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw ErrnoError(env, "socket(AF_INET)", errno);
  struct ethtool_drvinfo drvinfo;
  std::memset(&drvinfo, 0, sizeof(drvinfo));
  drvinfo.cmd = ETHTOOL_GDRVINFO;
  struct ifreq request;
  std::memset(&request, 0, sizeof(request));
  std::memcpy(request.ifr_name, name.c_str(), name.size());
  request.ifr_data = reinterpret_cast<char*>(&drvinfo);
  const int result = ioctl(fd, SIOCETHTOOL, &request);
  close(fd);
  // No ethtool (lo), no device, or no driver name: nothing to report.
  if (result != 0 || drvinfo.driver[0] == '\0') return env.Null();
  drvinfo.driver[sizeof(drvinfo.driver) - 1] = '\0';
  return Napi::String::New(env, drvinfo.driver);
}

// Called from the JavaScript thread.
Napi::Value NetnsCookie(const Napi::CallbackInfo& info) {
  // include/uapi/asm-generic/socket.h; older libc headers lack it.
  static constexpr int kSoNetnsCookie = 71;
  Napi::Env env = info.Env();
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw ErrnoError(env, "netnsCookie(socket)", errno);
  uint64_t cookie = 0;
  socklen_t length = sizeof(cookie);
  const int ret = getsockopt(fd, SOL_SOCKET, kSoNetnsCookie, &cookie, &length);
  const int err = errno;
  close(fd);
  if (ret != 0) {
    // Before 5.14 the option does not exist.
    if (err == ENOPROTOOPT) return env.Null();
    throw ErrnoError(env, "netnsCookie(getsockopt SO_NETNS_COOKIE)", err);
  }
  return Napi::String::New(env, std::to_string(cookie));
}

}  // namespace hostflow
