// Argument guards for methods called from JavaScript.
//
// Each macro reads info[index], throws a TypeError or RangeError whose
// message names the method and the parameter ("BpfObject.attachXdp: ifindex
// must be a positive integer"), and otherwise declares `var`. They expect
// `info` (the Napi::CallbackInfo) and `kMethod` (the "Class.method" name) in
// scope. All run on the JavaScript thread.
#ifndef HOSTFLOW_ARGS_H
#define HOSTFLOW_ARGS_H

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "errors.h"

#define REQUIRE_STRING(index, name, var) \
  const std::string var = ::hostflow::args::String(info, index, kMethod, name)
#define REQUIRE_BOOL(index, name, var) \
  const bool var = ::hostflow::args::Bool(info, index, kMethod, name)
#define REQUIRE_BUFFER(index, name, var) \
  Napi::Buffer<uint8_t> var = ::hostflow::args::Buffer(info, index, kMethod, name)
#define REQUIRE_FUNCTION(index, name, var) \
  Napi::Function var = ::hostflow::args::Function(info, index, kMethod, name)
// An integer in [min, max]; `what` completes "<name> must be ...".
#define REQUIRE_INTEGER(index, name, var, min, max, what) \
  const int64_t var = ::hostflow::args::Integer(info[index], kMethod, name, min, max, what)
#define REQUIRE_POSITIVE_INT(index, name, var) \
  REQUIRE_INTEGER(index, name, var, 1, INT32_MAX, "a positive integer")

namespace hostflow::args {

inline std::string Prefix(const char* method, const char* name) {
  return std::string(method) + ": " + name + " must be ";
}

inline std::string String(const Napi::CallbackInfo& info, size_t index, const char* method,
                          const char* name) {
  if (!info[index].IsString()) {
    throw ArgTypeError(info.Env(), Prefix(method, name) + "a string");
  }
  std::string value = info[index].As<Napi::String>().Utf8Value();
  if (value.empty() || value.find('\0') != std::string::npos) {
    throw ArgRangeError(info.Env(), Prefix(method, name) + "a non-empty string without NUL");
  }
  return value;
}

inline bool Bool(const Napi::CallbackInfo& info, size_t index, const char* method,
                 const char* name) {
  if (!info[index].IsBoolean()) {
    throw ArgTypeError(info.Env(), Prefix(method, name) + "a boolean");
  }
  return info[index].As<Napi::Boolean>().Value();
}

inline Napi::Buffer<uint8_t> Buffer(const Napi::CallbackInfo& info, size_t index,
                                    const char* method, const char* name) {
  if (!info[index].IsBuffer()) {
    throw ArgTypeError(info.Env(), Prefix(method, name) + "a Buffer");
  }
  return info[index].As<Napi::Buffer<uint8_t>>();
}

inline Napi::Function Function(const Napi::CallbackInfo& info, size_t index, const char* method,
                               const char* name) {
  if (!info[index].IsFunction()) {
    throw ArgTypeError(info.Env(), Prefix(method, name) + "a function");
  }
  return info[index].As<Napi::Function>();
}

inline int64_t Integer(const Napi::Value& value, const char* method, const char* name, int64_t min,
                       int64_t max, const char* what) {
  if (!value.IsNumber()) {
    throw ArgTypeError(value.Env(), Prefix(method, name) + what);
  }
  const double number = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(number) || std::trunc(number) != number || number < static_cast<double>(min) ||
      number > static_cast<double>(max)) {
    throw ArgRangeError(value.Env(), Prefix(method, name) + what);
  }
  return static_cast<int64_t>(number);
}

// An optional integer property of an options object; `fallback` when absent.
inline int64_t OptionalInteger(const Napi::Object& options, const char* method, const char* name,
                               int64_t fallback, int64_t min, int64_t max, const char* what) {
  Napi::Value value = options.Get(name);
  if (value.IsUndefined()) return fallback;
  return Integer(value, method, name, min, max, what);
}

}  // namespace hostflow::args

#endif  // HOSTFLOW_ARGS_H
