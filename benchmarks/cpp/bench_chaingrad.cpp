// chaingrad's C++ benchmark: the per-node cost of the native engine and the large workloads,
// with no Python in the process.
#include <cstdio>

#include "engine/engine.h"
#include "graph/meta.h"
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

}  // namespace

int main() {
  ops::manual_seed(0);
  const char* sys = "chaingrad";

  // Scalar chain: forward (tiny-op cost) and backward (per-node cost) of 1,000,000 nodes.
  {
    const int n = 1'000'000;
    Tensor x = leaf({});
    Tensor y;
    double fwd = time_once([&] {
      y = x;
      for (int i = 0; i < n; ++i) y = ops::mul(y, 1.0000001);
    });
    double bwd = time_once([&] { backward(y); });
    double del = time_once([&] { y = Tensor(); });
    report(sys, "scalar chain 1e6: forward per op", fwd / n * 1e9, "ns");
    report(sys, "scalar chain 1e6: backward per node", bwd / n * 1e9, "ns");
    report(sys, "scalar chain 1e6: destroy per node", del / n * 1e9, "ns");
  }

  // Tiny mixed ops on 0-d tensors (W1's graph): forward and backward per op.
  {
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
    for (int r = 0; r < 7; ++r) {
      y = x;
      for (int i = 0; i < groups; ++i) y = ops::sub(ops::pow(ops::tanh(ops::mul(ops::add(y, x), 0.5)), 2), x);
      ts.push_back(time_once([&] { backward(y); }));
    }
    std::sort(ts.begin(), ts.end());
    report(sys, "W1 tiny ops: forward per op", fwd / (5 * groups) * 1e9, "ns");
    report(sys, "W1 tiny ops: backward per op", ts[3] / (5 * groups) * 1e9, "ns");
  }

  // W4: ((x*w + b).tanh() * x).sum(), 10,000,000 float32, forward + backward.
  {
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
  {
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
