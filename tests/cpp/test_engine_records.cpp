// The engine's records (engine/graph_task.h): chain links get an inline record as their gradient
// arrives and give it back once they ran; nodes with several producers sum their cells in a fixed
// order. The 0-d fast path (numbers) and the tensor path (anomaly mode) must give the same bits.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/tensor.h"
#include "engine/engine.h"
#include "graph/anomaly.h"
#include "graph/meta.h"
#include "ops/ops.h"

namespace cg {
namespace {

Tensor scalar_leaf(double v, DType dtype) {
  Tensor t = Tensor::scalar(v, dtype);
  autograd::set_requires_grad(t, true);
  return t;
}

// A leaf feeding five chains of 0-d links (a sin every 100 links: numbers turn into tensors and
// back), summed: the leaf's accumulator and the sums take several gradients each.
double fan_in_grad(DType dtype, bool anomaly, int links) {
  autograd::AnomalyMode::set_enabled(anomaly);
  Tensor x = scalar_leaf(0.3, dtype);
  Tensor total;
  for (int c = 0; c < 5; ++c) {
    Tensor y = ops::mul(x, 1.0 + 0.01 * c);
    for (int i = 0; i < links; ++i) {
      y = ops::add(ops::mul(y, 0.9999), 0.001);
      if (i % 100 == 50) y = ops::sin(y);
    }
    total = total.defined() ? ops::add(total, y) : y;
  }
  total = ops::add(total, ops::mul(x, x));  // two more edges into x's accumulator
  autograd::run_backward({total}, {}, {}, {});
  autograd::AnomalyMode::set_enabled(false);
  return autograd::get_grad(x).item_double();
}

TEST(EngineRecords, FanInOfChainsSameBitsOnBothPaths) {
  for (DType dtype : {DType::Float32, DType::Float64}) {
    const double fast = fan_in_grad(dtype, false, 1000);
    const double tensors = fan_in_grad(dtype, true, 1000);
    EXPECT_EQ(std::memcmp(&fast, &tensors, sizeof fast), 0) << fast << " vs " << tensors;
    EXPECT_GT(fast, 0.0);
  }
}

TEST(EngineRecords, LongChainOfInlineRecords) {
  // 300,000 links, none tracked but the root and the leaf's accumulator.
  Tensor x = scalar_leaf(1.0, DType::Float64);
  Tensor y = x;
  for (int i = 0; i < 300000; ++i) y = ops::mul(y, 1.000001);
  autograd::run_backward({y}, {}, {}, {});
  y = Tensor();
  EXPECT_NEAR(autograd::get_grad(x).item_double(), std::pow(1.000001, 300000), 1e-9);
}

TEST(EngineRecords, RetainedChainRunsTwice) {
  Tensor x = scalar_leaf(2.0, DType::Float64);
  Tensor y = x;
  for (int i = 0; i < 1000; ++i) y = ops::add(ops::mul(y, 1.001), 0.5);
  autograd::BackwardOptions keep;
  keep.keep_graph = true;
  autograd::run_backward({y}, {}, {}, keep);
  const double once = autograd::get_grad(x).item_double();
  autograd::run_backward({y}, {}, {}, {});
  EXPECT_DOUBLE_EQ(autograd::get_grad(x).item_double(), 2 * once);
}

// The walk of the graph is deferred while the nodes from a single root form a path (engine.cpp,
// finish_deferred_walk). `kind` picks what ends the path: 0, a node with two inputs (a
// diamond below); 1, nothing but the leaf (a link also held by a tensor stays on the path); 2, a
// node whose two edges lead to one node (y * y). Backward with inputs= walks the whole graph
// first: both must give the same bits.
Tensor graph_below_a_chain(const Tensor& x, int kind, Tensor& held) {
  Tensor w = x;
  for (int i = 0; i < 300; ++i) w = ops::add(ops::mul(w, 0.999), 0.01);
  Tensor u = kind == 0 ? ops::add(ops::mul(w, 3.0), ops::sin(w)) : kind == 1 ? ops::mul(w, 0.5) : ops::mul(w, w);
  for (int i = 0; i < 300; ++i) {
    u = ops::mul(ops::tanh(u), 1.5);
    if (kind == 1 && i == 150) held = u;  // the link's node is held by a tensor too
  }
  return ops::add(u, ops::mul(x, 0.25));  // (and a second edge into x's accumulator)
}

TEST(EngineRecords, DeferredWalkSameBitsAsFullWalk) {
  for (int kind = 0; kind < 3; ++kind) {
    for (DType dtype : {DType::Float32, DType::Float64}) {
      Tensor x = scalar_leaf(0.7, dtype), held;
      autograd::run_backward({graph_below_a_chain(x, kind, held)}, {}, {}, {});
      const double deferred = autograd::get_grad(x).item_double();
      autograd::BackwardOptions grad_only;
      grad_only.accumulate_grad = false;
      autograd::TensorList g = autograd::run_backward({graph_below_a_chain(x, kind, held)}, {}, {x}, grad_only);
      const double walked = g.at(0).item_double();
      EXPECT_EQ(std::memcmp(&deferred, &walked, sizeof walked), 0) << kind << ": " << deferred << " vs " << walked;
      EXPECT_NE(deferred, 0.0);
    }
  }
}

TEST(EngineRecords, DeferredWalkThenRetainedGraphRunsAgain) {
  // The first call's walk starts below the chain; the second call walks the same graph again.
  Tensor x = scalar_leaf(0.4, DType::Float64), held;
  Tensor y = graph_below_a_chain(x, 0, held);
  autograd::BackwardOptions keep;
  keep.keep_graph = true;
  autograd::run_backward({y}, {}, {}, keep);
  const double once = autograd::get_grad(x).item_double();
  autograd::run_backward({y}, {}, {}, {});
  EXPECT_DOUBLE_EQ(autograd::get_grad(x).item_double(), 2 * once);
}

}  // namespace
}  // namespace cg
