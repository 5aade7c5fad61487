// The same graphs as bench_chaingrad.cpp, built with libtorch, for a side-by-side C++ figure.
#include <torch/torch.h>

#include "bench_common.h"

int main() {
  torch::manual_seed(0);
  const char* sys = "libtorch";
  {
    const int n = 1'000'000;
    auto x = torch::randn({}, torch::requires_grad());
    torch::Tensor y;
    double fwd = time_once([&] {
      y = x;
      for (int i = 0; i < n; ++i) y = y * 1.0000001;
    });
    double bwd = time_once([&] { y.backward(); });
    double del = time_once([&] { y = torch::Tensor(); });
    report(sys, "scalar chain 1e6: forward per op", fwd / n * 1e9, "ns");
    report(sys, "scalar chain 1e6: backward per node", bwd / n * 1e9, "ns");
    report(sys, "scalar chain 1e6: destroy per node", del / n * 1e9, "ns");
  }
  {
    auto x = torch::randn({}, torch::requires_grad());
    torch::Tensor y;
    const int groups = 400;
    double fwd = median_seconds([&] {
      y = x;
      for (int i = 0; i < groups; ++i) y = ((((y + x) * 0.5).tanh()).pow(2)) - x;
    });
    std::vector<double> ts;
    for (int r = 0; r < 7; ++r) {
      y = x;
      for (int i = 0; i < groups; ++i) y = ((((y + x) * 0.5).tanh()).pow(2)) - x;
      ts.push_back(time_once([&] { y.backward(); }));
    }
    std::sort(ts.begin(), ts.end());
    report(sys, "W1 tiny ops: forward per op", fwd / (5 * groups) * 1e9, "ns");
    report(sys, "W1 tiny ops: backward per op", ts[3] / (5 * groups) * 1e9, "ns");
  }
  {
    const int64_t n = 10'000'000;
    auto x = torch::randn({n}, torch::requires_grad()), w = torch::randn({n}, torch::requires_grad()),
         b = torch::randn({n}, torch::requires_grad());
    double t = median_seconds([&] {
      for (auto* p : {&x, &w, &b}) p->mutable_grad() = torch::Tensor();
      (((x * w + b).tanh() * x).sum()).backward();
    });
    report(sys, "W4 large elementwise fwd+bwd (1e7 f32)", t * 1e3, "ms");
  }
  {
    auto a = torch::randn({1024, 1024}, torch::requires_grad()), b = torch::randn({1024, 1024}, torch::requires_grad());
    double t = median_seconds([&] {
      for (auto* p : {&a, &b}) p->mutable_grad() = torch::Tensor();
      torch::matmul(a, b).tanh().sum().backward();
    });
    report(sys, "W5 matmul fwd+bwd (1024^2 f32)", t * 1e3, "ms");
    report(sys, "W5 matmul fwd+bwd throughput", 3 * 2.0 * 1024 * 1024 * 1024 / t / 1e9, "GFLOP/s");
  }
  return 0;
}
