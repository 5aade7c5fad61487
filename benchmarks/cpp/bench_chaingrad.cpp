// chaingrad's C++ benchmark: the per-node cost of the native engine and the large workloads,
// with no Python in the process.
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "engine/engine.h"
#include "graph/meta.h"
#include "kernels/parallel.h"
// After the library headers: it declares the allocator functions it counts.
#include "alloc_count.h"
#include "bench_common.h"
#include "ops/ops.h"

using namespace cg;

namespace {

Tensor leaf(const Shape& shape) {
  Tensor t = ops::randn(shape, DType::Float32);
  autograd::set_requires_grad(t, true);
  return t;
}

void backward(const Tensor& root) { autograd::run_backward({root}, {}, {}, {}); }

// Resident memory of the process (Linux; 0 where /proc is missing): its growth over a forward
// pass is what the graph costs in fresh memory.
double resident_bytes() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<double>(resident) * 4096.0;
}

// `chaingrad_bench [word...]` runs only the sections whose title contains one of the words.
int g_argc = 0;
char** g_argv = nullptr;
bool selected(const char* title) {
  if (g_argc < 2) return true;
  for (int i = 1; i < g_argc; ++i)
    if (std::strstr(title, g_argv[i])) return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  g_argc = argc;
  g_argv = argv;
  ops::manual_seed(0);
  const char* sys = "chaingrad";

  // Scalar chain: forward (tiny-op cost) and backward (per-node cost) of 1,000,000 nodes.
  if (selected("scalar chain")) {
    const int n = 1'000'000;
    Tensor x = leaf({});
    Tensor y;
    const double rss0 = resident_bytes();
    double fwd = time_once([&] {
      y = x;
      for (int i = 0; i < n; ++i) y = ops::mul(y, 1.0000001);
    });
    const double rss1 = resident_bytes();
    const AllocCount before_bwd = alloc_count();
    double bwd = time_once([&] { backward(y); });
    const AllocCount after_bwd = alloc_count();
    double del = time_once([&] { y = Tensor(); });
    report(sys, "scalar chain 1e6: forward per op", fwd / n * 1e9, "ns");
    report(sys, "scalar chain 1e6: backward per node", bwd / n * 1e9, "ns");
    report(sys, "scalar chain 1e6: destroy per node", del / n * 1e9, "ns");
    report(sys, "scalar chain 1e6: backward mallocs per node", double(after_bwd.mallocs - before_bwd.mallocs) / n, "");
    report(sys, "scalar chain 1e6: backward frees per node", double(after_bwd.frees - before_bwd.frees) / n, "");
    report(sys, "scalar chain 1e6: graph bytes per node (RSS growth)", (rss1 - rss0) / n, "B");
    // The same chain again in the memory the first one freed (pooled blocks, no page faults):
    // the difference to the first forward is the cost of fresh memory.
    double fwd2 = time_once([&] {
      y = x;
      for (int i = 0; i < n; ++i) y = ops::mul(y, 1.0000001);
    });
    double del2 = time_once([&] { y = Tensor(); });
    report(sys, "scalar chain 1e6 (memory reused): forward per op", fwd2 / n * 1e9, "ns");
    report(sys, "scalar chain 1e6 (memory reused): destroy per node", del2 / n * 1e9, "ns");
  }

  // Tiny mixed ops on 0-d tensors (W1's graph): forward and backward per op.
  if (selected("W1")) {
    Tensor x = leaf({});
    Tensor y;
    const int groups = 400;
    double fwd = median_seconds([&] {
      y = x;
      for (int i = 0; i < groups; ++i) {
        y = ops::add(y, x);
        y = ops::mul(y, 0.5);
        y = ops::tanh(y);
        y = ops::pow(y, 2);
        y = ops::sub(y, x);
      }
    });
    // Backward alone, on a freshly built graph each repetition.
    std::vector<double> ts;
    AllocCount a0{}, a1{};
    for (int r = 0; r < 7; ++r) {
      y = x;
      for (int i = 0; i < groups; ++i) y = ops::sub(ops::pow(ops::tanh(ops::mul(ops::add(y, x), 0.5)), 2), x);
      a0 = alloc_count();
      ts.push_back(time_once([&] { backward(y); }));
      a1 = alloc_count();
    }
    std::sort(ts.begin(), ts.end());
    report(sys, "W1 tiny ops: forward per op", fwd / (5 * groups) * 1e9, "ns");
    report(sys, "W1 tiny ops: backward per op", ts[3] / (5 * groups) * 1e9, "ns");
    report(sys, "W1 tiny ops: backward mallocs per op", double(a1.mallocs - a0.mallocs) / (5 * groups), "");
  }

  // Parallel backward: two independent branches of 50 x tanh(y * f) on n float32, joined by a sum,
  // backward on 1 and on 2 threads. The smaller sizes show where the hand-off to a second thread
  // starts to pay: there the engine's parallel_min_node_work threshold is lowered to 1, so that
  // every size takes the parallel path; the `default threshold` lines keep the engine's own
  // threshold and load-awareness (what a user gets: serial below the threshold, and serial when
  // the machine has no free core). Above kGrainSize the kernels already split each node over the
  // threads. The 1- and 2-thread runs alternate, each on a fresh graph, and the best of 9 is
  // reported (a shared machine's load hits both alike).
  if (selected("parallel")) {
    const int64_t default_min = autograd::parallel_min_node_work();
    // `as_user`: the thread count comes from set_num_threads (as in a user's program), not from
    // set_backward_threads (an explicit count, which the engine takes as asked).
    auto two_branches = [&](int64_t n, int length, const char* label, bool as_user) {
      Tensor x = leaf({n});
      auto branch = [&](double f) {
        Tensor y = x;
        for (int i = 0; i < length; ++i) y = ops::tanh(ops::mul(y, f));
        return ops::sum(y);
      };
      double t[3] = {1e30, 1e30, 1e30};
      for (int r = 0; r < 9; ++r) {
        for (int threads : {1, 2}) {
          if (as_user) set_num_threads(threads);
          else autograd::set_backward_threads(threads);
          Tensor loss = ops::add(branch(0.9), branch(1.1));
          autograd::meta_mut(x).grad = Tensor();
          t[threads] = std::min(t[threads], time_once([&] { backward(loss); }));
        }
      }
      char title[160];
      char what[96];
      std::snprintf(what, sizeof what, "parallel backward 2 branches n=%lld%s%s", static_cast<long long>(n),
                    length == 50 ? "" : (" x " + std::to_string(length) + " ops").c_str(), label);
      std::snprintf(title, sizeof title, "%s: 1 thread", what);
      report(sys, title, t[1] * 1e6, "us");
      std::snprintf(title, sizeof title, "%s: 2 threads", what);
      report(sys, title, t[2] * 1e6, "us");
      std::snprintf(title, sizeof title, "%s: speed-up", what);
      report(sys, title, t[1] / t[2], "x");
    };
    // What this machine gives two threads at all: the same kernels (two forward branches, no
    // graph) on the caller alone, then on the caller and a fresh std::thread, best of 9.
    auto ceiling = [&](int64_t n, int length) {
      Tensor x = ops::randn({n}, DType::Float32);
      auto branch = [&](double f) {
        autograd::GradModeGuard off(false);
        IntraOpCap one(1);  // the kernels' own loops stay on this thread, as in a parallel walk
        Tensor y = x;
        for (int i = 0; i < length; ++i) y = ops::tanh(ops::mul(y, f));
        return y;
      };
      double t[3] = {1e30, 1e30, 1e30};
      for (int r = 0; r < 9; ++r) {
        t[1] = std::min(t[1], time_once([&] { branch(0.9); branch(1.1); }));
        t[2] = std::min(t[2], time_once([&] {
          std::thread other([&] { branch(1.1); });
          branch(0.9);
          other.join();
        }));
      }
      char title[160];
      std::snprintf(title, sizeof title, "2 threads, no engine (the machine's ceiling) n=%lld x %d ops: speed-up",
                    static_cast<long long>(n), length);
      report(sys, title, t[1] / t[2], "x");
    };
    autograd::set_parallel_min_node_work(1);
    for (int64_t n : {256, 1024, 4096, 8192, 16384, 32768}) two_branches(n, 50, "", false);
    // Long branches: the helper's wake-up is paid once against milliseconds of work.
    ceiling(8192, 500);
    two_branches(8192, 500, "", false);
    autograd::set_parallel_min_node_work(default_min);
    autograd::set_backward_threads(0);
    const int saved_threads = get_num_threads();
    char label[48];
    std::snprintf(label, sizeof label, " default threshold %lld", static_cast<long long>(default_min));
    for (int64_t n : {1024, 8192}) two_branches(n, 50, label, true);
    two_branches(8192, 500, label, true);
    set_num_threads(saved_threads);
  }

  // W4: ((x*w + b).tanh() * x).sum(), 10,000,000 float32, forward + backward.
  if (selected("W4")) {
    const int64_t n = 10'000'000;
    Tensor x = leaf({n}), w = leaf({n}), b = leaf({n});
    double t = median_seconds([&] {
      for (Tensor* p : {&x, &w, &b}) autograd::meta_mut(*p).grad = Tensor();
      Tensor y = ops::sum(ops::mul(ops::tanh(ops::add(ops::mul(x, w), b)), x));
      backward(y);
    });
    report(sys, "W4 large elementwise fwd+bwd (1e7 f32)", t * 1e3, "ms");
  }

  // W5: (A @ B).tanh().sum() with grads for A and B, 1024x1024 float32.
  if (selected("W5")) {
    Tensor a = leaf({1024, 1024}), b = leaf({1024, 1024});
    double t = median_seconds([&] {
      for (Tensor* p : {&a, &b}) autograd::meta_mut(*p).grad = Tensor();
      backward(ops::sum(ops::tanh(ops::matmul(a, b))));
    });
    report(sys, "W5 matmul fwd+bwd (1024^2 f32)", t * 1e3, "ms");
    report(sys, "W5 matmul fwd+bwd throughput", 3 * 2.0 * 1024 * 1024 * 1024 / t / 1e9, "GFLOP/s");
  }
  return 0;
}
