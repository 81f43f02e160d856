#include "ring_poller.h"

#include <bpf/libbpf.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <system_error>
#include <utility>

#include "args.h"
#include "bpf_object.h"
#include "errors.h"

namespace hostflow {

namespace {

constexpr size_t kRecordHeaderBytes = 8;  // u32 byteLength + u32 ringIndex
constexpr uint32_t kStopToken = 1;        // epoll data of the eventfd
// Limits of the options; the defaults are in PollLoop::Options.
constexpr int64_t kMaxBatchBytes = int64_t{1} << 30;
constexpr int64_t kMaxFlushMs = 60 * 1000;
constexpr int64_t kMaxQueuedBatches = 1 << 16;
// Batches start with room for this much and grow to batchBytes as needed:
// below glibc's mmap threshold (addon.cc), so they come from the heap.
constexpr size_t kMaxInitialReserve = size_t{64} << 10;

size_t Padded(size_t size) { return (size + 7) & ~static_cast<size_t>(7); }

size_t InitialReserve(size_t batchBytes) {
  return std::min(batchBytes, kMaxInitialReserve) + kRecordHeaderBytes;
}

}  // namespace

// ---- RecordBatch ----

RecordBatch::RecordBatch(size_t reserve) { Reserve(reserve); }

RecordBatch::~RecordBatch() { std::free(data_); }

bool RecordBatch::Reserve(size_t bytes) {
  if (used_ + bytes <= capacity_) return true;
  const size_t capacity = std::max(used_ + bytes, capacity_ * 2);
  auto* grown = static_cast<uint8_t*>(std::realloc(data_, capacity));
  if (grown == nullptr) return false;
  data_ = grown;
  capacity_ = capacity;
  return true;
}

// ---- PollLoop ----

// Called from the JavaScript thread.
PollLoop::PollLoop(Napi::Env env, const std::vector<int>& mapFds,
                   const std::vector<std::string>& mapNames, const Options& options)
    : options_(options), mapNames_(mapNames) {
  for (size_t i = 0; i < mapFds.size(); i++) {
    rings_.push_back(std::make_unique<Ring>(Ring{this, static_cast<uint32_t>(i)}));
  }
  try {
    LibbpfLog log;
    struct ring_buffer_opts opts;
    std::memset(&opts, 0, sizeof(opts));
    opts.sz = sizeof(opts);
    ringBuffer_ = ring_buffer__new(mapFds[0], OnSample, rings_[0].get(), &opts);
    if (ringBuffer_ == nullptr) {
      int err = errno;
      throw ErrnoError(env, "RingPoller(" + mapNames[0] + ")", err, log.Tail(3));
    }
    for (size_t i = 1; i < mapFds.size(); i++) {
      int err = ring_buffer__add(ringBuffer_, mapFds[i], OnSample, rings_[i].get());
      if (err != 0) {
        throw ErrnoError(env, "RingPoller(" + mapNames[i] + ")", err, log.Tail(3));
      }
    }
    epollFd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epollFd_ < 0) throw ErrnoError(env, "RingPoller: epoll_create1", errno);
    stopFd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stopFd_ < 0) throw ErrnoError(env, "RingPoller: eventfd", errno);
    struct epoll_event event;
    std::memset(&event, 0, sizeof(event));
    event.events = EPOLLIN;
    event.data.u32 = 0;
    if (epoll_ctl(epollFd_, EPOLL_CTL_ADD, ring_buffer__epoll_fd(ringBuffer_), &event) != 0) {
      throw ErrnoError(env, "RingPoller: epoll_ctl", errno);
    }
    event.data.u32 = kStopToken;
    if (epoll_ctl(epollFd_, EPOLL_CTL_ADD, stopFd_, &event) != 0) {
      throw ErrnoError(env, "RingPoller: epoll_ctl", errno);
    }
  } catch (...) {
    if (ringBuffer_ != nullptr) ring_buffer__free(ringBuffer_);
    if (epollFd_ >= 0) close(epollFd_);
    if (stopFd_ >= 0) close(stopFd_);
    throw;
  }
  batch_ = std::make_unique<RecordBatch>(InitialReserve(options_.batchBytes));
}

// Called from the JavaScript thread when the last owner lets go (the
// wrapper, the BpfObject, or the thread-safe function's finalizer).
PollLoop::~PollLoop() {
  StopAndJoin();
  if (ringBuffer_ != nullptr) ring_buffer__free(ringBuffer_);
  if (epollFd_ >= 0) close(epollFd_);
  if (stopFd_ >= 0) close(stopFd_);
}

// Called from the JavaScript thread.
void PollLoop::Start(Napi::Env env, const std::shared_ptr<PollLoop>& self, Napi::Function onBatch,
                     Napi::Object owner, BpfObject* ownerObject) {
  auto holder = std::make_unique<std::shared_ptr<PollLoop>>(self);
  // The queue itself is unbounded: the poll thread counts queued batches
  // and waits for room, so that StopAndJoin can always make it finish.
  tsfn_ = Tsfn::New(env, onBatch, "hostflow.RingPoller", 0, 1, this, Finalize, holder.get());
  holder.release();  // now owned by the thread-safe function's finalizer
  owner_ = ownerObject;
  ownerRef_ = Napi::Persistent(owner);
  try {
    thread_ = std::thread(&PollLoop::Run, this);
    pthread_setname_np(thread_.native_handle(), "hostflow-poll");
  } catch (const std::system_error& error) {
    tsfn_.Release();
    throw ErrnoError(env, "RingPoller: starting the poll thread", error.code().value());
  }
}

// Called from any thread.
void PollLoop::RequestStop() {
  stopRequested_.store(true, std::memory_order_release);
  if (stopFd_ >= 0) {
    const uint64_t one = 1;
    ssize_t written = write(stopFd_, &one, sizeof(one));
    (void)written;  // EAGAIN: the counter is already non-zero
  }
  { std::lock_guard<std::mutex> lock(mutex_); }
  queueHasRoom_.notify_all();
}

// Called from the JavaScript thread.
void PollLoop::StopAndJoin() {
  RequestStop();
  if (thread_.joinable()) thread_.join();
}

// Called from the JavaScript thread.
Napi::Value PollLoop::StopPromise(Napi::Env env) {
  if (finalized_) {
    Napi::Promise::Deferred done = Napi::Promise::Deferred::New(env);
    done.Resolve(env.Undefined());
    return done.Promise();
  }
  if (!stopDeferred_) stopDeferred_ = std::make_unique<Napi::Promise::Deferred>(env);
  RequestStop();
  return stopDeferred_->Promise();
}

// Poll thread: wait for data, the stop eventfd or flushMs; drain every ring;
// hand the batch over; after a stop request, one last drain and out.
void PollLoop::Run() {
  struct epoll_event events[2];
  for (;;) {
    bool stopping = stopRequested_.load(std::memory_order_acquire);
    if (!stopping) {
      int ready = epoll_wait(epollFd_, events, 2, options_.flushMs);
      if (ready < 0 && errno != EINTR) {
        std::fprintf(stderr, "hostflow: RingPoller epoll_wait: %s\n", std::strerror(errno));
        stopping = true;
      }
      stopping = stopping || stopRequested_.load(std::memory_order_acquire);
    }
    int consumed = ring_buffer__consume(ringBuffer_);
    if (consumed < 0) {
      std::fprintf(stderr, "hostflow: RingPoller ring_buffer__consume: %s\n",
                   ErrnoText(consumed).c_str());
    }
    Handoff();
    if (stopping || tsfnClosing_) break;
  }
  // After napi_closing the thread-safe function must not be touched again.
  if (!tsfnClosing_) tsfn_.Release();
}

// Poll thread, inside ring_buffer__consume.
int PollLoop::OnSample(void* context, void* data, size_t size) {
  Ring* ring = static_cast<Ring*>(context);
  ring->loop->Append(ring->index, data, size);
  return 0;
}

// Poll thread.
void PollLoop::Append(uint32_t ringIndex, const void* data, size_t size) {
  const size_t framed = kRecordHeaderBytes + Padded(size);
  if (!batch_->Reserve(framed)) {
    // Out of memory: what is batched goes to JavaScript, this record too.
    Handoff();
    if (!batch_->Reserve(framed)) {
      std::fprintf(stderr, "hostflow: RingPoller: out of memory for a batch of %zu bytes\n",
                   framed);
      std::abort();
    }
  }
  uint8_t* at = batch_->End();
  const uint32_t header[2] = {static_cast<uint32_t>(size), ringIndex};
  std::memcpy(at, header, sizeof(header));
  std::memcpy(at + kRecordHeaderBytes, data, size);
  std::memset(at + kRecordHeaderBytes + size, 0, framed - kRecordHeaderBytes - size);
  batch_->Advance(framed);
  batchRecords_++;
  batchPayload_ += size;
  if (batch_->Used() >= options_.batchBytes) Handoff();
}

// Poll thread: queue the current batch for JavaScript, first waiting for
// room unless a stop was requested.
void PollLoop::Handoff() {
  if (batch_->Used() == 0) return;
  if (tsfnClosing_) {
    batch_->Clear();
    return;
  }
  {
    std::unique_lock<std::mutex> lock(mutex_);
    queueHasRoom_.wait(lock, [this] {
      return queued_ < options_.maxQueuedBatches || stopRequested_.load(std::memory_order_acquire);
    });
    queued_++;
  }
  Batch* batch = batch_.release();
  batch_ = std::make_unique<RecordBatch>(InitialReserve(options_.batchBytes));
  const uint64_t records = batchRecords_;
  const uint64_t payload = batchPayload_;
  batchRecords_ = 0;
  batchPayload_ = 0;
  napi_status status = tsfn_.NonBlockingCall(batch);
  if (status != napi_ok) {
    // napi_closing: the environment is going away; nobody will read it.
    delete batch;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queued_--;
    }
    if (status == napi_closing) tsfnClosing_ = true;
    return;
  }
  batches_.fetch_add(1, std::memory_order_relaxed);
  records_.fetch_add(records, std::memory_order_relaxed);
  bytes_.fetch_add(payload, std::memory_order_relaxed);
}

// JavaScript thread, once per queued batch. env is null when the
// environment is torn down with batches still queued: Node then calls this
// after Finalize, when `loop` may already be freed, so only the batch is.
void PollLoop::CallJs(Napi::Env env, Napi::Function onBatch, PollLoop* loop, Batch* batch) {
  if (env == nullptr || onBatch.IsEmpty()) {
    delete batch;
    return;
  }
  struct ReturnRoom {
    PollLoop* loop;
    ~ReturnRoom() {
      {
        std::lock_guard<std::mutex> lock(loop->mutex_);
        loop->queued_--;
      }
      loop->queueHasRoom_.notify_one();
    }
  } returnRoom{loop};
  Napi::Buffer<uint8_t> buffer;
  try {
    buffer = Napi::Buffer<uint8_t>::New(
        env, batch->Data(), batch->Used(), [](Napi::Env, uint8_t*, Batch* owned) { delete owned; },
        batch);
  } catch (const Napi::Error&) {
    delete batch;  // the environment is stopping JavaScript
    return;
  }
  try {
    onBatch.Call({buffer});
  } catch (const Napi::Error& error) {
    // A throwing handler is an uncaught exception, as for any callback.
    // Fails quietly only while a worker is being terminated.
    if (!error.IsEmpty()) napi_fatal_exception(env, error.Value());
  }
}

// JavaScript thread: every batch has been handed to JavaScript (or freed)
// and the poll thread has released the function.
void PollLoop::Finalize(Napi::Env env, std::shared_ptr<PollLoop>* self, PollLoop* loop) {
  std::shared_ptr<PollLoop> keep = std::move(*self);
  delete self;
  loop->StopAndJoin();
  loop->finalized_ = true;
  if (loop->owner_ != nullptr) {
    loop->owner_->RemovePoller(loop);
    loop->owner_ = nullptr;
  }
  // Both can fail only while the environment is being torn down, when
  // nobody holds the promise any more.
  try {
    loop->ownerRef_.Reset();
  } catch (const Napi::Error&) {
    loop->ownerRef_.SuppressDestruct();
  }
  if (loop->stopDeferred_) {
    try {
      loop->stopDeferred_->Resolve(env.Undefined());
    } catch (const Napi::Error&) {
    }
    loop->stopDeferred_.reset();
  }
}

// ---- RingPoller ----

Napi::Function RingPoller::Init(Napi::Env env) {
  return DefineClass(env, "RingPoller",
                     {
                         InstanceMethod<&RingPoller::Stop>("stop"),
                         InstanceMethod<&RingPoller::Stats>("stats"),
                     });
}

RingPoller::RingPoller(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RingPoller>(info) {
  static constexpr const char* kMethod = "new RingPoller";
  Napi::Env env = info.Env();
  BpfObject* object = BpfObject::FromValue(info[0]);
  if (object == nullptr) {
    throw ArgTypeError(env, std::string(kMethod) + ": object must be a BpfObject");
  }
  if (!info[1].IsArray() || info[1].As<Napi::Array>().Length() == 0) {
    throw ArgTypeError(env, std::string(kMethod) + ": maps must be a non-empty array of map names");
  }
  REQUIRE_FUNCTION(2, "onBatch", onBatch);
  PollLoop::Options options;
  if (!info[3].IsUndefined()) {
    if (!info[3].IsObject()) {
      throw ArgTypeError(env, std::string(kMethod) + ": options must be an object");
    }
    Napi::Object given = info[3].As<Napi::Object>();
    options.batchBytes = static_cast<size_t>(args::OptionalInteger(
        given, kMethod, "batchBytes", static_cast<int64_t>(options.batchBytes), 1, kMaxBatchBytes,
        "an integer from 1 to 2^30"));
    options.flushMs = static_cast<int>(args::OptionalInteger(
        given, kMethod, "flushMs", options.flushMs, 1, kMaxFlushMs, "an integer from 1 to 60000"));
    options.maxQueuedBatches = static_cast<size_t>(args::OptionalInteger(
        given, kMethod, "maxQueuedBatches", static_cast<int64_t>(options.maxQueuedBatches), 1,
        kMaxQueuedBatches, "an integer from 1 to 65536"));
  }

  Napi::Array maps = info[1].As<Napi::Array>();
  std::vector<std::string> names;
  std::vector<int> fds;
  std::set<std::string> seen;
  for (uint32_t i = 0; i < maps.Length(); i++) {
    Napi::Value name = maps.Get(i);
    if (!name.IsString()) {
      throw ArgTypeError(
          env, std::string(kMethod) + ": maps[" + std::to_string(i) + "] must be a string");
    }
    names.push_back(name.As<Napi::String>().Utf8Value());
    if (!seen.insert(names.back()).second) {
      throw ArgRangeError(env,
                          std::string(kMethod) + ": map '" + names.back() + "' is listed twice");
    }
    fds.push_back(object->RingBufferFd(env, names.back(), kMethod));
  }

  auto loop = std::make_shared<PollLoop>(env, fds, names, options);
  object->AddPoller(env, loop, kMethod);
  try {
    loop->Start(env, loop, onBatch, info[0].As<Napi::Object>(), object);
  } catch (...) {
    object->RemovePoller(loop.get());
    throw;
  }
  loop_ = std::move(loop);
}

Napi::Value RingPoller::Stop(const Napi::CallbackInfo& info) {
  return loop_->StopPromise(info.Env());
}

Napi::Value RingPoller::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object stats = Napi::Object::New(env);
  stats.Set("batches", Napi::Number::New(env, static_cast<double>(loop_->batches())));
  stats.Set("records", Napi::Number::New(env, static_cast<double>(loop_->records())));
  stats.Set("bytes", Napi::Number::New(env, static_cast<double>(loop_->bytes())));
  return stats;
}

}  // namespace hostflow
