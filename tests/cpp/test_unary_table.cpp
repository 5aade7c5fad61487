// The unary table (kernels/unary_ops.h): every differentiable row's 0-d derivative (vjp0_<Name>,
// UnaryBackward::apply_0d) takes the engine's scalar path and gives the same bits as its tensor
// VJP; kernels::unary_value is the kernel's own element function.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "graph/grad_mode.h"
#include "graph/meta.h"
#include "graph/node.h"
#include "kernels/elementwise.h"
#include "ops/ops.h"

namespace cg {
namespace {

using kernels::Unary;

struct Row {
  Unary op;
  const char* name;
  bool differentiable;
};
std::vector<Row> rows() {
  std::vector<Row> out;
#define CG_UNARY_ROW(Name, py_name, alias, node_name, ...) out.push_back({Unary::Name, py_name, node_name != nullptr});
  CG_UNARY_OPS(CG_UNARY_ROW)
#undef CG_UNARY_ROW
  return out;
}

double as_double(const Tensor& t) { return ops::to_dtype(t, DType::Float64).data<double>()[0]; }

TEST(UnaryTable, ZeroDimBackwardOfEveryRowTakesTheScalarPathWithTheTensorPathsBits) {
  for (DType dt : {DType::Float32, DType::Float64}) {
    for (const Row& r : rows()) {
      if (!r.differentiable) continue;
      for (double x0 : {0.3, 1.7, -0.45}) {
        SCOPED_TRACE(std::string(r.name) + " at " + std::to_string(x0) + (dt == DType::Float32 ? " float32" : " float64"));
        Tensor x = Tensor::full({}, Scalar(x0), dt);
        autograd::set_requires_grad(x, true);
        Tensor y = ops::unary(r.op, x);
        const std::shared_ptr<autograd::Node>& node = autograd::grad_fn(y);
        ASSERT_TRUE(node);
        const double g = 0.7;  // rounded to dt, as the engine's gradient is
        autograd::Node::ScalarGrads fast;
        ASSERT_TRUE(node->apply_0d(dt == DType::Float32 ? double(float(g)) : g, fast));
        ASSERT_TRUE(fast.defined[0]);
        autograd::GradModeGuard no_grad(false);  // as the engine runs a VJP without create_graph
        autograd::TensorList gs = node->apply({Tensor::full({}, Scalar(g), dt)});
        const double slow = as_double(gs[0]);
        if (std::isnan(slow)) EXPECT_TRUE(std::isnan(fast.value[0]));
        else EXPECT_EQ(std::memcmp(&fast.value[0], &slow, sizeof slow), 0) << fast.value[0] << " vs " << slow;
      }
    }
  }
}

TEST(UnaryTable, UnaryValueIsTheKernelOnAZeroDimTensor) {
  for (const Row& r : rows()) {
    if (!r.differentiable) continue;
    for (double x0 : {0.3, -2.5}) {
      Tensor xf = Tensor::full({}, Scalar(x0), DType::Float32);
      Tensor outf = Tensor::empty({}, DType::Float32);
      kernels::unary(r.op, xf, outf);
      const float vf = kernels::unary_value(r.op, float(x0));
      EXPECT_TRUE(std::memcmp(&vf, outf.data_bytes(), sizeof vf) == 0 || (std::isnan(vf) && std::isnan(as_double(outf))))
          << r.name;
      Tensor xd = Tensor::full({}, Scalar(x0), DType::Float64);
      Tensor outd = Tensor::empty({}, DType::Float64);
      kernels::unary(r.op, xd, outd);
      const double vd = kernels::unary_value(r.op, x0);
      EXPECT_TRUE(std::memcmp(&vd, outd.data_bytes(), sizeof vd) == 0 || (std::isnan(vd) && std::isnan(as_double(outd))))
          << r.name;
    }
  }
}

}  // namespace
}  // namespace cg
