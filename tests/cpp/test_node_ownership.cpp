// Unit tests of how nodes are owned and what they keep: a node is held only through shared_ptr
// (no enable_shared_from_this), so the graph's one reference is the only count on it; a saved
// output finds its node again through a weak link; stored shapes take no allocation for 0-d.
#include <gtest/gtest.h>

#include <variant>

#include "core/shape.h"
#include "graph/meta.h"
#include "ops/ops.h"

namespace cg {
namespace {

TEST(StoredShape, ReadsAsTheShapeItKeeps) {
  StoredShape none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.size(), 0u);
  EXPECT_EQ(none, Shape{});
  const Shape& as_ref = none;
  EXPECT_TRUE(as_ref.empty());

  StoredShape s = Shape{2, 3};
  EXPECT_FALSE(s.empty());
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0], 2);
  EXPECT_EQ(s[1], 3);
  EXPECT_EQ(s, (Shape{2, 3}));
  EXPECT_NE(s, none);
  EXPECT_EQ(numel_of(s), 6);

  StoredShape copy = s;
  EXPECT_EQ(copy, s);
  StoredShape moved = std::move(copy);
  EXPECT_EQ(moved, (Shape{2, 3}));
  EXPECT_TRUE(copy.empty());  // NOLINT: moved-from is empty by design
  copy = moved;
  moved = none;
  EXPECT_TRUE(moved.empty());
  EXPECT_EQ(copy, (Shape{2, 3}));
  int64_t product = 1;
  for (int64_t d : copy) product *= d;
  EXPECT_EQ(product, 6);
}

TEST(NodeOwnership, TheGraphHoldsTheOnlyReference) {
  Tensor x = Tensor::scalar(1.0, DType::Float32);
  autograd::set_requires_grad(x, true);
  Tensor y = ops::mul(ops::mul(x, 2.0), 3.0);
  const std::shared_ptr<autograd::Node>& fn = autograd::grad_fn(y);
  ASSERT_TRUE(fn);
  EXPECT_EQ(fn.use_count(), 1);  // y's history only
  const autograd::Edge& next = fn->next_edges[0];
  ASSERT_TRUE(next.valid());
  EXPECT_EQ(next.fn.use_count(), 1);  // the intermediate's tensor is gone: the edge alone
  EXPECT_EQ(next.fn->name(), "MulBackward0");
}

TEST(NodeOwnership, SavedOutputUnpacksWithItsNodeAsHistory) {
  Tensor x = Tensor::scalar(0.5, DType::Float64);
  autograd::set_requires_grad(x, true);
  Tensor y = ops::tanh(x);
  std::shared_ptr<autograd::Node> node = autograd::grad_fn(y);
  y = Tensor();  // the output's tensor dies; the node still has its saved data
  autograd::SavedValue v = node->saved_value("result");
  ASSERT_TRUE(std::holds_alternative<Tensor>(v));
  const Tensor& result = std::get<Tensor>(v);
  EXPECT_EQ(autograd::grad_fn(result).get(), node.get());
  EXPECT_NEAR(result.item_double(), 0.46211715726000974, 1e-12);
}

}  // namespace
}  // namespace cg
