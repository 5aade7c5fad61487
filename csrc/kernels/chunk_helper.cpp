// One helper thread per calling thread (a thread_local, joined when the caller exits), for loops
// too short for OpenMP's team: chaingrad's OpenMP workers sleep between loops (OMP_WAIT_POLICY=
// PASSIVE, python/chaingrad/__init__.py) and take 6 us or more to wake in a VM, and a parallel
// region ends on a barrier, so a worker the OS has descheduled holds up the caller for as long
// as it stays off the CPU. Here the caller publishes a job and starts on its chunks at once; the
// helper, spinning for kSpinWindow after its last job and asleep after that, takes chunks only
// while some are unclaimed, and the caller waits only for the chunks the helper has taken.
#include "kernels/chunk_helper.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include <unistd.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define CG_CPU_RELAX() _mm_pause()
#else
#define CG_CPU_RELAX() ((void)0)
#endif

namespace cg::kernels {

namespace {

// How long the helper keeps spinning after a job: long enough to span the gaps between the
// products of one backward pass (W7's are a few microseconds apart), short enough not to hold a
// core for long once the caller moves to other work.
constexpr auto kSpinWindow = std::chrono::microseconds(200);
constexpr uint64_t kChunkMask = 0xffffffffu;

class ChunkHelper {
 public:
  ChunkHelper() : thread_([this] { loop(); }) {}
  ~ChunkHelper() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_.store(true);
    }
    wake_.notify_one();
    thread_.join();
  }
  ChunkHelper(const ChunkHelper&) = delete;
  ChunkHelper& operator=(const ChunkHelper&) = delete;

  void run(int64_t n, ChunkFn fn, const void* ctx) {
    fn_.store(fn, std::memory_order_relaxed);
    ctx_.store(ctx, std::memory_order_relaxed);
    n_.store(static_cast<uint64_t>(n), std::memory_order_relaxed);
    helper_done_.store(0, std::memory_order_relaxed);
    // The job word: the job's number above, the next unclaimed chunk below. Publishing it (seq_cst,
    // paired with the helper's store to sleeping_) makes the fields above visible with it.
    ++seq_;
    job_.store(seq_ << 32);
    if (sleeping_.load()) {
      std::lock_guard<std::mutex> lock(mutex_);
      wake_.notify_one();
    }
    int64_t mine = 0;
    for (uint64_t w = job_.load(std::memory_order_relaxed); (w & kChunkMask) < static_cast<uint64_t>(n);) {
      if (job_.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel, std::memory_order_relaxed)) {
        fn(ctx, static_cast<int64_t>(w & kChunkMask));
        ++mine;
        w = job_.load(std::memory_order_relaxed);
      }
    }
    // Every chunk is claimed: wait for the ones the helper is running.
    while (helper_done_.load(std::memory_order_acquire) != n - mine) CG_CPU_RELAX();
  }

 private:
  // Claims and runs chunks of the current job while any is unclaimed; true if it ran one.
  bool help() {
    bool ran = false;
    uint64_t w = job_.load(std::memory_order_acquire);
    for (;;) {
      // Fields read before the claim: if the caller has moved to another job since `w`, they
      // may be that job's, but then the claim of `w` below fails and they are not used.
      const uint64_t n = n_.load(std::memory_order_relaxed);
      const ChunkFn fn = fn_.load(std::memory_order_relaxed);
      const void* ctx = ctx_.load(std::memory_order_relaxed);
      if ((w & kChunkMask) >= n) return ran;
      if (job_.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
        fn(ctx, static_cast<int64_t>(w & kChunkMask));
        helper_done_.fetch_add(1, std::memory_order_release);
        ran = true;
        w = job_.load(std::memory_order_acquire);
      }
    }
  }

  bool unclaimed() const {
    return (job_.load(std::memory_order_acquire) & kChunkMask) < n_.load(std::memory_order_relaxed);
  }

  void loop() {
    using clock = std::chrono::steady_clock;
    auto last = clock::now();
    uint64_t seen = job_.load(std::memory_order_acquire) >> 32;
    while (!stop_.load(std::memory_order_relaxed)) {
      for (int i = 0; i < 64; ++i) {
        if (help()) break;
        CG_CPU_RELAX();
      }
      const uint64_t now_seq = job_.load(std::memory_order_acquire) >> 32;
      const auto now = clock::now();
      if (now_seq != seen) {
        seen = now_seq;
        last = now;
      }
      if (now - last < kSpinWindow) continue;
      std::unique_lock<std::mutex> lock(mutex_);
      sleeping_.store(true);
      wake_.wait(lock, [&] { return stop_.load() || (job_.load() >> 32) != seen || unclaimed(); });
      sleeping_.store(false);
      last = clock::now();
    }
  }

  std::atomic<uint64_t> job_{0};
  std::atomic<uint64_t> n_{0};
  std::atomic<ChunkFn> fn_{nullptr};
  std::atomic<const void*> ctx_{nullptr};
  std::atomic<int64_t> helper_done_{0};
  std::atomic<bool> sleeping_{false};
  std::atomic<bool> stop_{false};
  uint64_t seq_ = 0;  // the caller's job count
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;  // last: started once every field above is initialised
};

}  // namespace

void run_chunks(int64_t n, ChunkFn fn, const void* ctx) {
  thread_local std::unique_ptr<ChunkHelper> helper;
  thread_local pid_t helper_pid = 0;
  if (n <= 1) {
    if (n == 1) fn(ctx, 0);
    return;
  }
  // A forked child has the object but not its thread: it cannot be joined (nor its mutex trusted),
  // so it is left alone (never freed) and the child starts its own helper.
  if (helper && helper_pid != getpid()) (void)helper.release();
  if (!helper) {
    helper = std::make_unique<ChunkHelper>();
    helper_pid = getpid();
  }
  helper->run(n, fn, ctx);
}

}  // namespace cg::kernels
