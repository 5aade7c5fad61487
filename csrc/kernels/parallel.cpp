#include "kernels/parallel.h"

#include <omp.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>

#include "core/errors.h"

extern "C" void scipy_openblas_set_num_threads(int);

namespace cg {

namespace {
// Process-wide configuration (like torch.set_num_threads), read by every parallel loop.
std::atomic<int> g_num_threads{-1};
thread_local int t_intra_op_cap = 0;  // 0: no cap

// A child forked after the parent ran an OpenMP region inherits a team whose threads it does not
// have, and libgomp hangs in the child's next region. Such a child runs everything on its one
// thread (as PyTorch's forked workers do); a child forked before any region keeps its threads.
std::atomic<bool> g_team_started{false};
std::atomic<bool> g_in_bad_fork{false};
const bool g_fork_handler = [] {
  pthread_atfork(nullptr, nullptr, [] {
    if (g_team_started.load(std::memory_order_relaxed)) g_in_bad_fork.store(true, std::memory_order_relaxed);
  });
  return true;
}();
// Whether this process may start an OpenMP region (not in such a child); notes that one started.
bool may_start_team() {
  if (g_in_bad_fork.load(std::memory_order_relaxed)) return false;
  if (!g_team_started.load(std::memory_order_relaxed)) g_team_started.store(true, std::memory_order_relaxed);
  return true;
}
}  // namespace

int get_num_threads() {
  if (g_in_bad_fork.load(std::memory_order_relaxed)) return 1;
  int n = g_num_threads.load(std::memory_order_relaxed);
  if (n < 0) {
    n = omp_get_max_threads();
    g_num_threads.store(n, std::memory_order_relaxed);
  }
  return n;
}

int intra_op_threads() {
  const int n = get_num_threads();
  return t_intra_op_cap > 0 ? std::min(n, t_intra_op_cap) : n;
}
IntraOpCap::IntraOpCap(int threads) : prev_(t_intra_op_cap) { t_intra_op_cap = std::max(1, threads); }
IntraOpCap::~IntraOpCap() { t_intra_op_cap = prev_; }

void set_num_threads(int n) {
  if (n < 1) throw RuntimeError("set_num_threads expects a positive integer");
  g_num_threads.store(n, std::memory_order_relaxed);
  scipy_openblas_set_num_threads(n);
}

namespace detail {
void parallel_run(int64_t n, int64_t grain, int threads, RangeFn fn, const void* ctx) {
  if (!may_start_team()) return fn(ctx, 0, n);
  const int64_t chunks = std::min<int64_t>(threads, (n + grain - 1) / grain);
#pragma omp parallel for num_threads(static_cast<int>(chunks)) schedule(static, 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = n * c / chunks;
    const int64_t end = n * (c + 1) / chunks;
    if (begin < end) fn(ctx, begin, end);
  }
}

void team_run(int threads, RankFn fn, const void* ctx) {
  if (!may_start_team()) return fn(ctx, 0);
#pragma omp parallel num_threads(std::max(1, threads))
  fn(ctx, omp_get_thread_num());
}
}  // namespace detail

}  // namespace cg
