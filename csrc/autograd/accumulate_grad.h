// The node behind every leaf that requires grad: sums incoming gradients into `.grad`.
#pragma once
#include "autograd/node.h"

namespace cg::autograd {

class AccumulateGrad : public Node {
 public:
  explicit AccumulateGrad(const Tensor& variable);
  TensorList apply(TensorList&& grads) override;
  std::string name() const override { return "AccumulateGrad"; }

  // The leaf, held weakly: a strong reference would make leaf -> .grad (with create_graph) ->
  // graph -> this node -> leaf a cycle. Undefined once the leaf is gone (nothing to accumulate).
  Tensor variable() const { return Tensor(variable_.lock()); }

 private:
  std::weak_ptr<TensorImpl> variable_;
};

// Runs the leaf's own hooks (Tensor.register_hook on a leaf) over its incoming gradient.
Tensor run_leaf_hooks(const Tensor& leaf, Tensor grad);
// Adds `grad` into `t.grad` (in place without create_graph; recorded with it).
void accumulate_into_grad(const Tensor& t, const Tensor& grad);
// Whether nothing but this handle can see `grad`'s data (so it may become .grad, or be summed
// into in place by the engine).
bool can_steal(const Tensor& grad);

}  // namespace cg::autograd
