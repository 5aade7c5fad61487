// Forward-mode AD from C++ (no Python): the level, native JVP rules (the unary table's slot and a
// node override), the double-VJP fallback through the engine, and 0-d values.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/jvp.h"
#include "graph/forward_ad.h"
#include "graph/meta.h"
#include "ops/dual.h"
#include "ops/ops.h"

namespace cg {
namespace {

namespace fw = autograd::forward_ad;

struct Level {
  Level() { fw::enter_dual_level(); }
  ~Level() { fw::exit_level(); }
};

double value(const Tensor& t) { return ops::to_dtype(t, DType::Float64).data<double>()[0]; }

TEST(ForwardAD, NativeRulesAndFallbackAgreeWithCalculus) {
  const double x0 = 0.7, t0 = 1.5;
  Level level;
  fw::counts() = fw::Counts{};
  Tensor x = ops::make_dual(Tensor::full({}, Scalar(x0), DType::Float64), Tensor::full({}, Scalar(t0), DType::Float64));
  // d/dx [sin(x) * exp(x)] = (cos x + sin x) e^x: unary table rules and MulBackward0's override.
  Tensor y = ops::mul(ops::sin(x), ops::exp(x));
  EXPECT_NEAR(value(fw::tangent(y)), (std::cos(x0) + std::sin(x0)) * std::exp(x0) * t0, 1e-12);
  EXPECT_EQ(fw::counts().fallback, 0);
  EXPECT_GE(fw::counts().native, 3);
  // atan2's native rule, and the double-VJP trick (a backward through the engine) on the same node.
  Tensor p = Tensor::full({}, Scalar(x0), DType::Float64);
  autograd::meta_mut(p).requires_grad = true;  // so that z keeps its node (grad_fn)
  Tensor z = ops::atan2(ops::make_dual(p, Tensor::full({}, Scalar(t0), DType::Float64)),
                        Tensor::full({}, Scalar(2.0), DType::Float64));
  EXPECT_NEAR(value(fw::tangent(z)), 2.0 / (x0 * x0 + 4.0) * t0, 1e-12);
  EXPECT_EQ(fw::counts().fallback, 0);
  fw::Suspend plain;
  autograd::TensorList by_vjp =
      fw::jvp_by_double_vjp(*autograd::grad_fn(z), {Tensor::full({}, Scalar(t0), DType::Float64), Tensor()});
  ASSERT_EQ(by_vjp.size(), 1u);
  EXPECT_NEAR(value(by_vjp[0]), 2.0 / (x0 * x0 + 4.0) * t0, 1e-12);
}

TEST(ForwardAD, LevelExitDropsTangents) {
  Tensor x;
  {
    Level level;
    x = ops::make_dual(Tensor::full({3}, Scalar(1.0), DType::Float32), Tensor::full({3}, Scalar(2.0), DType::Float32));
    EXPECT_TRUE(fw::has_tangent(x));
  }
  EXPECT_FALSE(fw::tangent(x).defined());
}

}  // namespace
}  // namespace cg
