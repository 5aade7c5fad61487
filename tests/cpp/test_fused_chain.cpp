// kernels::run_chain against the same formulas applied one step at a time over whole arrays:
// chains with a broadcast and a contiguous first gradient, dropped and held outputs, a Pass link,
// float32 and float64, sizes with a tail, and the streamed side outputs (beyond 16 MB).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/fused_chain.h"

namespace cg {
namespace {

using kernels::ChainStep;
using kernels::GradOp;

template <typename T>
std::vector<T> random_vector(int64_t n, uint64_t seed) {
  std::mt19937_64 g(seed);
  std::normal_distribution<double> d;
  std::vector<T> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<T>(d(g));
  return v;
}

// W4's backward: g (broadcast 1) -> mul(t, x) -> tanh'(t) -> add (b's gradient) -> mul(x, w),
// with x's two gradients summed by the chain (hold / add).
template <typename T>
void check_w4_chain(int64_t n, bool broadcast) {
  const auto x = random_vector<T>(n, 1), w = random_vector<T>(n, 2), t = random_vector<T>(n, 3);
  const auto g = random_vector<T>(n, 4);
  const T one = 1;
  std::vector<T> gx(n), gw(n), gb(n);
  ChainStep s[3];
  s[0].op[0] = GradOp::Mul, s[0].operand[0] = reinterpret_cast<const char*>(x.data());  // to tanh
  s[0].op[1] = GradOp::Mul, s[0].operand[1] = reinterpret_cast<const char*>(t.data());  // x's first
  s[0].next = 0, s[0].hold[1] = 0;
  s[1].op[0] = GradOp::TanhGrad, s[1].operand[0] = reinterpret_cast<const char*>(t.data()), s[1].next = 0;
  ChainStep add;  // add: g to the product, g to b
  add.op[0] = GradOp::Pass, add.op[1] = GradOp::Pass, add.next = 0, add.side[1] = reinterpret_cast<char*>(gb.data());
  s[2].op[0] = GradOp::Mul, s[2].operand[0] = reinterpret_cast<const char*>(w.data());
  s[2].op[1] = GradOp::Mul, s[2].operand[1] = reinterpret_cast<const char*>(x.data());
  s[2].side[0] = reinterpret_cast<char*>(gx.data()), s[2].add[0] = 0, s[2].side[1] = reinterpret_cast<char*>(gw.data());
  const ChainStep steps[] = {s[0], s[1], add, s[2]};
  kernels::run_chain(steps, 4, reinterpret_cast<const char*>(broadcast ? &one : g.data()), broadcast, n,
                     sizeof(T) == 8);
  for (int64_t i = 0; i < n; ++i) {
    const T g0 = broadcast ? one : g[i];
    const T gt = g0 * x[i], gx1 = g0 * t[i];
    const T gs = kernels::TanhGrad{}(gt, t[i]);
    ASSERT_EQ(gb[i], gs) << i;
    ASSERT_EQ(gw[i], gs * x[i]) << i;
    ASSERT_EQ(gx[i], gx1 + gs * w[i]) << i;
  }
}

TEST(FusedChain, MatchesTheStepsOneByOne) {
  for (int64_t n : {1, 7, 2048, 2049, 100003}) {
    check_w4_chain<float>(n, true);
    check_w4_chain<float>(n, false);
    check_w4_chain<double>(n, false);
  }
}

TEST(FusedChain, StreamedSideOutputs) { check_w4_chain<float>(4'500'001, true); }

TEST(FusedChain, ScaleNegAndActivations) {
  const int64_t n = 5001;
  const auto y = random_vector<double>(n, 5), g = random_vector<double>(n, 6);
  std::vector<double> out_scale(n), out_neg(n), out_relu(n);
  ChainStep a, b, c;
  a.op[0] = GradOp::Scale, a.scalar[0] = Scalar(0.5), a.next = 0;
  a.op[1] = GradOp::Neg, a.side[1] = reinterpret_cast<char*>(out_neg.data());
  b.op[0] = GradOp::SigmoidGrad, b.operand[0] = reinterpret_cast<const char*>(y.data()), b.next = 0;
  c.op[0] = GradOp::ReluGrad, c.operand[0] = reinterpret_cast<const char*>(y.data());
  c.side[0] = reinterpret_cast<char*>(out_relu.data());
  c.op[1] = GradOp::None;  // dropped
  const ChainStep steps[] = {a, b, c};
  kernels::run_chain(steps, 3, reinterpret_cast<const char*>(g.data()), false, n, true);
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(out_neg[i], -g[i]);
    const double s = kernels::SigmoidGrad{}(g[i] * 0.5, y[i]);
    ASSERT_EQ(out_relu[i], y[i] > 0 ? s : 0.0);
  }
}

}  // namespace
}  // namespace cg
