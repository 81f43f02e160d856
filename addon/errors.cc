#include "errors.h"

#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

namespace hostflow {

namespace {

// Kernel-internal errno values that reach user space through bpf(2) but
// that glibc does not name.
constexpr int kENOTSUPP = 524;

const char* const kLibbpfErrnoNames[] = {
    "LIBBPF_ERRNO__LIBELF", "LIBBPF_ERRNO__FORMAT",   "LIBBPF_ERRNO__KVERSION",
    "LIBBPF_ERRNO__ENDIAN", "LIBBPF_ERRNO__INTERNAL", "LIBBPF_ERRNO__RELOC",
    "LIBBPF_ERRNO__LOAD",   "LIBBPF_ERRNO__VERIFY",   "LIBBPF_ERRNO__PROG2BIG",
    "LIBBPF_ERRNO__KVER",   "LIBBPF_ERRNO__PROGTYPE", "LIBBPF_ERRNO__WRNGPID",
    "LIBBPF_ERRNO__INVSEQ", "LIBBPF_ERRNO__NLPARSE",
};

thread_local LibbpfLog* tCapture = nullptr;

bool DebugEnabled() {
  static const bool enabled = [] {
    const char* value = std::getenv("HOSTFLOW_LIBBPF_DEBUG");
    return value != nullptr && value[0] != '\0' && std::strcmp(value, "0") != 0;
  }();
  return enabled;
}

// Called by libbpf on whichever thread made the libbpf call.
int Print(enum libbpf_print_level level, const char* format, va_list args) {
  const bool debug = DebugEnabled();
  if (tCapture != nullptr && level != LIBBPF_DEBUG) {
    va_list copy;
    va_copy(copy, args);
    char small[512];
    int length = std::vsnprintf(small, sizeof(small), format, copy);
    va_end(copy);
    if (length < 0) return 0;
    if (static_cast<size_t>(length) < sizeof(small)) {
      tCapture->Append(small, static_cast<size_t>(length));
    } else {
      // Verifier logs arrive in one call and can be megabytes long.
      std::string large(static_cast<size_t>(length) + 1, '\0');
      va_copy(copy, args);
      std::vsnprintf(large.data(), large.size(), format, copy);
      va_end(copy);
      tCapture->Append(large.data(), static_cast<size_t>(length));
    }
    if (!debug) return 0;
  }
  if (level == LIBBPF_DEBUG && !debug) return 0;
  return std::vfprintf(stderr, format, args);
}

Napi::Error WithCode(Napi::Error error, const char* code) {
  error.Set("code", Napi::String::New(error.Env(), code));
  return error;
}

}  // namespace

std::string ErrnoName(int err) {
  if (err < 0) err = -err;
  if (err == kENOTSUPP) return "ENOTSUPP";
  if (err >= __LIBBPF_ERRNO__START && err < __LIBBPF_ERRNO__END) {
    return kLibbpfErrnoNames[err - __LIBBPF_ERRNO__START];
  }
  const char* name = strerrorname_np(err);
  if (name != nullptr) return name;
  return "E" + std::to_string(err);
}

std::string ErrnoText(int err) {
  if (err < 0) err = -err;
  if (err == kENOTSUPP) return "Operation not supported by the kernel";
  char text[256];
  if (libbpf_strerror(err, text, sizeof(text)) != 0) {
    return "Unknown error " + std::to_string(err);
  }
  return text;
}

Napi::Error ErrnoError(Napi::Env env, const std::string& what, int err, const std::string& detail) {
  const std::string name = ErrnoName(err);
  std::string message = what + ": " + ErrnoText(err) + " (" + name + ")";
  if (!detail.empty()) message += "\n" + detail;
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, name));
  return error;
}

Napi::Error ArgTypeError(Napi::Env env, const std::string& message) {
  return WithCode(Napi::TypeError::New(env, message), "ERR_INVALID_ARG_TYPE");
}

Napi::Error ArgRangeError(Napi::Env env, const std::string& message) {
  return WithCode(Napi::RangeError::New(env, message), "ERR_OUT_OF_RANGE");
}

Napi::Error StateError(Napi::Env env, const std::string& message) {
  return WithCode(Napi::Error::New(env, message), "ERR_INVALID_STATE");
}

void InstallLibbpfPrint() {
  static std::once_flag once;
  std::call_once(once, [] { libbpf_set_print(Print); });
}

LibbpfLog::LibbpfLog() : previous_(tCapture) { tCapture = this; }

LibbpfLog::~LibbpfLog() { tCapture = previous_; }

void LibbpfLog::Append(const char* text, size_t length) { text_.append(text, length); }

std::string LibbpfLog::Tail(size_t lines) const { return LastLines(text_, lines); }

std::string LastLines(const std::string& text, size_t lines) {
  std::vector<std::string> kept;
  size_t position = 0;
  while (position < text.size()) {
    size_t newline = text.find('\n', position);
    if (newline == std::string::npos) newline = text.size();
    if (newline > position) {
      kept.emplace_back(text, position, newline - position);
      if (kept.size() > lines) kept.erase(kept.begin());
    }
    position = newline + 1;
  }
  std::string result;
  for (const std::string& line : kept) {
    if (!result.empty()) result += '\n';
    result += line;
  }
  return result;
}

}  // namespace hostflow
