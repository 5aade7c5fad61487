// Splitting large loops across threads (OpenMP); small loops run inline with no threading cost.
#pragma once
#include <algorithm>
#include <cstdint>

namespace cg {

int get_num_threads();
// Also sets OpenBLAS's pool so both stay in line; RuntimeError unless n >= 1 (as PyTorch).
void set_num_threads(int n);

// Below this many elements of simple work a loop runs on the calling thread.
constexpr int64_t kGrainSize = 32768;

// Calls f(begin, end) over [0, n) in chunks, in parallel when n > grain and threads > 1.
template <typename F>
void parallel_for(int64_t n, int64_t grain, const F& f) {
  int threads = get_num_threads();
  if (n <= grain || threads <= 1) {
    if (n > 0) f(int64_t{0}, n);
    return;
  }
  int64_t chunks = std::min<int64_t>(threads, (n + grain - 1) / grain);
#pragma omp parallel for num_threads(static_cast<int>(chunks)) schedule(static, 1)
  for (int64_t c = 0; c < chunks; ++c) {
    int64_t begin = n * c / chunks;
    int64_t end = n * (c + 1) / chunks;
    if (begin < end) f(begin, end);
  }
}

}  // namespace cg
