// Dropping capabilities in every thread of the process.
//
// Linux keeps the capability sets per thread, and capset(2) changes the
// calling thread's only. When hostflow has attached everything, a Node
// process already runs several threads (V8's platform workers, the
// inspector's SIGUSR1 thread, the ring poll threads, libuv's pool), so the
// JavaScript thread drops its own and then signals every other thread to
// drop its own, the way glibc makes setuid(2) process-wide.
//
// The signal is glibc's own SIGSETXID (33), swapped in with the raw
// rt_sigaction syscall for the time of the drop: glibc keeps it unblocked in
// every thread (pthread_sigmask refuses to block it), which holds for no
// other signal here (the inspector's thread blocks all the rest). glibc uses
// it only inside setuid()-family calls, which hostflow never makes. Its own
// handler, with glibc's restorer, is put back once every thread answered.
#include "capabilities.h"

#include <dirent.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <vector>

#include "errors.h"

#if !defined(__x86_64__) && !defined(__aarch64__)
#error "the kernel sigaction layout below is checked for x86_64 and aarch64 only"
#endif

namespace hostflow {

namespace {

// glibc's SIGSETXID: __SIGRTMIN + 1.
constexpr int kSetxidSignal = 33;
// How long the other threads get to answer, per round.
constexpr int kAnswerTimeoutMs = 2000;
// Rounds of listing /proc/self/task: a thread started during a round by a
// thread that had not dropped yet is found by the next.
constexpr int kMaxRounds = 8;

// The kernel's struct sigaction on x86_64 and aarch64 (not glibc's).
struct KernelSigaction {
  void (*handler)(int, siginfo_t*, void*);
  unsigned long flags;
  void (*restorer)();
  uint64_t mask;
};

std::atomic<uint64_t> g_keep{0};
std::atomic<int> g_answered{0};
std::atomic<int> g_failed{0};
std::atomic<pid_t> g_pid{0};

// Async-signal-safe: raw syscalls only. Clears the ambient set (so that no
// child inherits anything) and lowers effective, permitted and inheritable
// to `keep`. 0, or -1 when the kernel refused.
int DropOnThisThread(uint64_t keep) {
  if (syscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) return -1;
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
  if (syscall(SYS_capget, &header, data) != 0) return -1;
  for (int word = 0; word < _LINUX_CAPABILITY_U32S_3; word++) {
    const uint32_t kept = static_cast<uint32_t>(keep >> (32 * word));
    data[word].effective &= kept;
    data[word].permitted &= kept;
    data[word].inheritable &= kept;
  }
  return syscall(SYS_capset, &header, data) == 0 ? 0 : -1;
}

// Runs on each signalled thread. Only this process's own tgkill counts, as
// glibc's handler checks too.
void OnDropSignal(int, siginfo_t* info, void*) {
  if (info->si_code != SI_TKILL || info->si_pid != g_pid.load()) return;
  const int saved = errno;
  if (DropOnThisThread(g_keep.load()) != 0) g_failed.fetch_add(1);
  g_answered.fetch_add(1);
  errno = saved;
}

std::vector<pid_t> ListThreads() {
  std::vector<pid_t> tids;
  DIR* dir = opendir("/proc/self/task");
  if (!dir) return tids;
  while (dirent* entry = readdir(dir)) {
    const long tid = std::strtol(entry->d_name, nullptr, 10);
    if (tid > 0) tids.push_back(static_cast<pid_t>(tid));
  }
  closedir(dir);
  return tids;
}

void SleepMs(long ms) {
  timespec pause{0, ms * 1000000L};
  nanosleep(&pause, nullptr);
}

}  // namespace

Napi::Value DropCapabilities(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBigInt()) throw ArgTypeError(env, "dropCapabilities: keep must be a bigint");
  bool lossless = false;
  const uint64_t keep = info[0].As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) throw ArgRangeError(env, "dropCapabilities: keep must fit in 64 bits");

  KernelSigaction previous{};
  if (syscall(SYS_rt_sigaction, kSetxidSignal, nullptr, &previous, sizeof(uint64_t)) != 0) {
    throw ErrnoError(env, "dropCapabilities(rt_sigaction)", errno);
  }
  // glibc installs its handler at start; without it (another libc) there is
  // no restorer to borrow on x86_64, and no promise that the signal is open.
  if (previous.handler == nullptr || reinterpret_cast<uintptr_t>(previous.handler) <= 1) {
    throw ErrnoError(env, "dropCapabilities: no glibc SIGSETXID handler to borrow", ENOTSUP);
  }
  g_keep = keep;
  g_pid = getpid();
  g_answered = 0;
  g_failed = 0;
  KernelSigaction ours = previous;
  ours.handler = OnDropSignal;
  ours.flags = previous.flags | SA_SIGINFO | SA_RESTART;
  if (syscall(SYS_rt_sigaction, kSetxidSignal, &ours, nullptr, sizeof(uint64_t)) != 0) {
    throw ErrnoError(env, "dropCapabilities(rt_sigaction)", errno);
  }

  const pid_t self = static_cast<pid_t>(syscall(SYS_gettid));
  const int ownFailure = DropOnThisThread(keep) != 0 ? errno : 0;
  std::set<pid_t> handled{self};
  int signalled = 0;
  bool timedOut = false;
  for (int round = 0; round < kMaxRounds && !timedOut; round++) {
    std::vector<pid_t> fresh;
    for (pid_t tid : ListThreads()) {
      if (handled.insert(tid).second) fresh.push_back(tid);
    }
    if (fresh.empty()) break;
    const int expected = g_answered.load();
    int sent = 0;
    for (pid_t tid : fresh) {
      // ESRCH: it ended in between, nothing to drop.
      if (syscall(SYS_tgkill, g_pid.load(), tid, kSetxidSignal) == 0) sent++;
    }
    signalled += sent;
    int waited = 0;
    while (g_answered.load() - expected < sent) {
      if (waited >= kAnswerTimeoutMs) {
        timedOut = true;
        break;
      }
      SleepMs(1);
      waited++;
    }
  }
  // A signal still pending would reach glibc's handler, which expects a
  // setuid call in progress: ours stays until every thread has answered.
  if (!timedOut) syscall(SYS_rt_sigaction, kSetxidSignal, &previous, nullptr, sizeof(uint64_t));
  if (ownFailure != 0) throw ErrnoError(env, "dropCapabilities(capset)", ownFailure);

  Napi::Object result = Napi::Object::New(env);
  result.Set("signalled", Napi::Number::New(env, signalled));
  result.Set("answered", Napi::Number::New(env, g_answered.load()));
  result.Set("failed", Napi::Number::New(env, g_failed.load()));
  result.Set("timedOut", Napi::Boolean::New(env, timedOut));
  return result;
}

}  // namespace hostflow
