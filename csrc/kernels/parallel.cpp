#include "kernels/parallel.h"

#include <omp.h>

#include <atomic>

#include "core/errors.h"

extern "C" void scipy_openblas_set_num_threads(int);

namespace cg {

namespace {
// Process-wide configuration (like torch.set_num_threads), read by every parallel loop.
std::atomic<int> g_num_threads{-1};
}  // namespace

int get_num_threads() {
  int n = g_num_threads.load(std::memory_order_relaxed);
  if (n < 0) {
    n = omp_get_max_threads();
    g_num_threads.store(n, std::memory_order_relaxed);
  }
  return n;
}

void set_num_threads(int n) {
  if (n < 1) throw RuntimeError("set_num_threads expects a positive integer");
  g_num_threads.store(n, std::memory_order_relaxed);
  scipy_openblas_set_num_threads(n);
}

}  // namespace cg
