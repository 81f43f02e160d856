// RingPoller: one thread that drains ring-buffer maps and hands whole batches
// of records to JavaScript.
//
// Threads: the JavaScript thread constructs, stops and reads stats; the poll
// thread waits on its own epoll (the ring buffers' epoll fd + an eventfd) for
// at most flushMs, consumes every ring, and hands batches over through one
// thread-safe function. When JavaScript falls behind by maxQueuedBatches the
// poll thread waits, the kernel ring fills and the BPF side counts drops; the
// native layer never drops a record. The model is parcel-bundler/watcher's
// poll loop (kernel fd + self-pipe with a timeout).
//
// Batch layout (little endian): per record u32 byteLength, u32 ringIndex,
// the bytes, zero padding to a multiple of 8.
//
// A batch starts small and grows by doubling: most hand-offs are tens of
// kilobytes, and a batch that reserved a megabyte up front was a mapping
// of its own each time (glibc maps blocks of 1 MB and more, addon.cc),
// faulted in page by page and unmapped with a TLB shootdown to every CPU.
// Its bytes are never zero-filled first, only written.
#ifndef HOSTFLOW_RING_POLLER_H
#define HOSTFLOW_RING_POLLER_H

#include <napi.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

struct ring_buffer;

namespace hostflow {

class BpfObject;

// The memory of one batch: malloc'd, grown with realloc, never zero-filled.
class RecordBatch {
 public:
  explicit RecordBatch(size_t reserve);
  ~RecordBatch();
  RecordBatch(const RecordBatch&) = delete;
  RecordBatch& operator=(const RecordBatch&) = delete;

  // Room for `bytes` more at End(); false when memory ran out.
  bool Reserve(size_t bytes);
  uint8_t* Data() const { return data_; }
  uint8_t* End() const { return data_ + used_; }
  size_t Used() const { return used_; }
  void Advance(size_t bytes) { used_ += bytes; }
  void Clear() { used_ = 0; }

 private:
  uint8_t* data_ = nullptr;
  size_t capacity_ = 0;
  size_t used_ = 0;
};

// The state shared by the poll thread, the thread-safe function and the
// RingPoller wrapper; owned through shared_ptr so that each can outlive the
// others (a RingPoller garbage-collected while its thread runs, an
// environment torn down with a poller running).
class PollLoop {
 public:
  using Batch = RecordBatch;
  // CallJs runs on the JavaScript thread for each queued batch.
  static void CallJs(Napi::Env env, Napi::Function onBatch, PollLoop* loop, Batch* batch);
  using Tsfn = Napi::TypedThreadSafeFunction<PollLoop, Batch, &PollLoop::CallJs>;

  struct Options {
    size_t batchBytes = 1 << 20;
    int flushMs = 50;
    size_t maxQueuedBatches = 64;
  };

  // Called from the JavaScript thread; throws on failure.
  PollLoop(Napi::Env env, const std::vector<int>& mapFds, const std::vector<std::string>& mapNames,
           const Options& options);
  ~PollLoop();
  PollLoop(const PollLoop&) = delete;
  PollLoop& operator=(const PollLoop&) = delete;

  // Called from the JavaScript thread: creates the thread-safe function and
  // starts the poll thread. `self` is this loop's own shared_ptr, kept by
  // the thread-safe function until its finalizer.
  void Start(Napi::Env env, const std::shared_ptr<PollLoop>& self, Napi::Function onBatch,
             Napi::Object owner, BpfObject* ownerObject);

  // Called from any thread: ask the poll thread for a final drain and exit.
  void RequestStop();
  // Called from the JavaScript thread: RequestStop, then join the poll
  // thread. Never waits for JavaScript (the final drain does not take the
  // queue limit into account), so it is safe while JavaScript is blocked.
  void StopAndJoin();
  const std::vector<std::string>& MapNames() const { return mapNames_; }
  // Called from the JavaScript thread by BpfObject when it closes first.
  void DetachOwner() { owner_ = nullptr; }

  // Called from the JavaScript thread (stop()): a promise resolved once
  // every queued batch has reached the handler.
  Napi::Value StopPromise(Napi::Env env);

  uint64_t batches() const { return batches_.load(std::memory_order_relaxed); }
  uint64_t records() const { return records_.load(std::memory_order_relaxed); }
  uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }

 private:
  struct Ring {
    PollLoop* loop;
    uint32_t index;
  };

  // Poll thread.
  void Run();
  static int OnSample(void* context, void* data, size_t size);
  void Append(uint32_t ringIndex, const void* data, size_t size);
  void Handoff();
  // JavaScript thread: the thread-safe function is finalized.
  static void Finalize(Napi::Env env, std::shared_ptr<PollLoop>* self, PollLoop* loop);

  const Options options_;
  const std::vector<std::string> mapNames_;
  std::vector<std::unique_ptr<Ring>> rings_;
  ring_buffer* ringBuffer_ = nullptr;
  int epollFd_ = -1;
  int stopFd_ = -1;  // eventfd; a write wakes the poll thread for shutdown
  std::thread thread_;
  Tsfn tsfn_;

  // Poll thread only.
  std::unique_ptr<RecordBatch> batch_;
  uint64_t batchRecords_ = 0;
  uint64_t batchPayload_ = 0;
  bool tsfnClosing_ = false;

  // Shared: the stop flag and the count of batches queued for JavaScript.
  std::atomic<bool> stopRequested_{false};
  std::mutex mutex_;
  std::condition_variable queueHasRoom_;
  size_t queued_ = 0;
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> records_{0};
  std::atomic<uint64_t> bytes_{0};

  // JavaScript thread only.
  BpfObject* owner_ = nullptr;
  Napi::ObjectReference ownerRef_;  // keeps the BpfObject alive while polling
  std::unique_ptr<Napi::Promise::Deferred> stopDeferred_;
  bool finalized_ = false;
};

class RingPoller : public Napi::ObjectWrap<RingPoller> {
 public:
  static Napi::Function Init(Napi::Env env);
  // Called from the JavaScript thread:
  // new RingPoller(object, maps, onBatch, options?).
  explicit RingPoller(const Napi::CallbackInfo& info);

 private:
  // Called from the JavaScript thread.
  Napi::Value Stop(const Napi::CallbackInfo& info);
  // Called from the JavaScript thread; reads counters the poll thread writes.
  Napi::Value Stats(const Napi::CallbackInfo& info);

  std::shared_ptr<PollLoop> loop_;
};

}  // namespace hostflow

#endif  // HOSTFLOW_RING_POLLER_H
