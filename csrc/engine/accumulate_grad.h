// Leaf accumulation, done by the engine: the gradient reaching a leaf's AccumulateGrad node
// (graph/accumulate_grad.h) is summed into `.grad`, and the leaf's hooks run.
#pragma once
#include "graph/accumulate_grad.h"

namespace cg::autograd {

// Runs the leaf's own hooks (Tensor.register_hook on a leaf) over its incoming gradient.
Tensor run_leaf_hooks(const Tensor& leaf, Tensor grad);
// Adds `grad` into `t.grad` (in place without create_graph; recorded with it).
void accumulate_into_grad(const Tensor& t, const Tensor& grad);
// Whether nothing but this handle can see `grad`'s data (so it may become .grad, or be summed
// into in place by the engine).
bool can_steal(const Tensor& grad);
// What the engine runs in place of AccumulateGrad::apply: accumulates grads[0] into the leaf's
// `.grad`, then runs its post-accumulate hooks. Returns no gradients (a leaf has no inputs).
TensorList accumulate_leaf(const AccumulateGrad& node, TensorList&& grads);

}  // namespace cg::autograd
