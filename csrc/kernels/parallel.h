// Splitting large loops across threads (OpenMP); small loops run inline with no threading cost.
#pragma once
#include <algorithm>
#include <cstdint>

namespace cg {

int get_num_threads();
// Also sets OpenBLAS's pool so both stay in line; RuntimeError unless n >= 1 (as PyTorch).
void set_num_threads(int n);

// Threads a parallel loop started on this thread may use: get_num_threads(), unless an
// IntraOpCap on this thread lowers it (the backward engine's threads, each already running a
// branch of its own on a core: loops that split further would only fight them for the cores).
int intra_op_threads();
class IntraOpCap {
 public:
  explicit IntraOpCap(int threads);
  ~IntraOpCap();
  IntraOpCap(const IntraOpCap&) = delete;
  IntraOpCap& operator=(const IntraOpCap&) = delete;

 private:
  int prev_;
};

// Below this many elements of simple work a loop runs on the calling thread.
constexpr int64_t kGrainSize = 32768;

namespace detail {
using RangeFn = void (*)(const void* ctx, int64_t begin, int64_t end);
// The one OpenMP region (parallel.cpp): loops share it instead of each call site outlining its
// own, which kept the kernels' compile time growing with every instantiation.
void parallel_run(int64_t n, int64_t grain, int threads, RangeFn fn, const void* ctx);
using RankFn = void (*)(const void* ctx, int rank);
void team_run(int threads, RankFn fn, const void* ctx);
}  // namespace detail

// Calls f(begin, end) over [0, n) in chunks, in parallel when n > grain and threads > 1.
template <typename F>
void parallel_for(int64_t n, int64_t grain, const F& f) {
  const int threads = intra_op_threads();
  if (n <= grain || threads <= 1) {
    if (n > 0) f(int64_t{0}, n);
    return;
  }
  detail::parallel_run(n, grain, threads,
                       [](const void* ctx, int64_t b, int64_t e) { (*static_cast<const F*>(ctx))(b, e); }, &f);
}

// Calls f(rank) once on each of up to `threads` threads, this one as rank 0, and returns when all
// have returned: the same OpenMP team the loops use, whose threads are still spinning for a while
// after the last loop (they start within microseconds, and no second set of threads competes with
// them for the cores). f must not throw.
template <typename F>
void run_on_team(int threads, const F& f) {
  detail::team_run(threads, [](const void* ctx, int rank) { (*static_cast<const F*>(ctx))(rank); }, &f);
}

}  // namespace cg
