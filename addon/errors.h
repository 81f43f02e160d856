// Errors that cross into JavaScript, and the capture of libbpf's own log.
//
// Every libbpf failure becomes an Error whose message reads
//   "<operation>(<subject>): <strerror text> (<ERRNO NAME>)"
// followed by the last lines libbpf printed while the call ran, with `code`
// set to the errno name so callers can branch on it.
#ifndef HOSTFLOW_ERRORS_H
#define HOSTFLOW_ERRORS_H

#include <napi.h>

#include <string>

namespace hostflow {

// "EPERM", "ENOTSUPP", "LIBBPF_ERRNO__VERIFY", or "E<n>" when unknown.
// err may be positive or negative (libbpf returns -errno).
std::string ErrnoName(int err);

// Human text for an errno or a libbpf error code (libbpf_strerror).
std::string ErrnoText(int err);

// Error "<what>: <text> (<NAME>)" + optional detail lines, code = NAME.
Napi::Error ErrnoError(Napi::Env env, const std::string& what, int err,
                       const std::string& detail = "");

// TypeError / RangeError with Node's codes (ERR_INVALID_ARG_TYPE,
// ERR_OUT_OF_RANGE), and Error with ERR_INVALID_STATE for calls made in the
// wrong phase (attach before load, anything after close).
Napi::Error ArgTypeError(Napi::Env env, const std::string& message);
Napi::Error ArgRangeError(Napi::Env env, const std::string& message);
Napi::Error StateError(Napi::Env env, const std::string& message);

// Routes libbpf's print callback to the capture of the calling thread, or to
// stderr (warnings only; everything with HOSTFLOW_LIBBPF_DEBUG=1).
// Called once per process from the module entry.
void InstallLibbpfPrint();

// Captures what libbpf prints on this thread while the object lives, so an
// error can carry it. Captures nest; the innermost one receives the lines.
// Used on the JavaScript thread around each libbpf call that can fail.
class LibbpfLog {
 public:
  LibbpfLog();
  ~LibbpfLog();
  LibbpfLog(const LibbpfLog&) = delete;
  LibbpfLog& operator=(const LibbpfLog&) = delete;

  void Append(const char* text, size_t length);
  const std::string& Text() const { return text_; }
  // The last `lines` non-empty lines, newline-separated, no trailing newline.
  std::string Tail(size_t lines) const;

 private:
  std::string text_;
  LibbpfLog* previous_;
};

// The last `lines` non-empty lines of `text`.
std::string LastLines(const std::string& text, size_t lines);

}  // namespace hostflow

#endif  // HOSTFLOW_ERRORS_H
