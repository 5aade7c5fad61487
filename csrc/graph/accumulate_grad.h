// The node behind every leaf that requires grad: its gradient is summed into `.grad`. Declared
// here, below the ops, because recording an op needs the leaf's edge; the summing itself uses
// ops and is done by the engine (engine/accumulate_grad.h), which runs these nodes specially.
#pragma once
#include "core/errors.h"
#include "graph/node.h"

namespace cg::autograd {

class AccumulateGrad final : public Node {
 public:
  // Leaf accumulation runs as soon as it is ready (PyTorch gives it the highest priority too).
  explicit AccumulateGrad(const Tensor& variable) : variable_(variable.impl_ptr()) {
    sequence_nr_ = UINT64_MAX;
    is_accumulator_ = true;
  }
  // Never called: the engine accumulates (accumulate_leaf) where it would call apply.
  TensorList apply(TensorList&&) override { throw RuntimeError("AccumulateGrad is run by the engine"); }
  std::string name() const override { return "AccumulateGrad"; }

  // The leaf, held weakly: a strong reference would make leaf -> .grad (with create_graph) ->
  // graph -> this node -> leaf a cycle. Undefined once the leaf is gone (nothing to accumulate).
  Tensor variable() const { return Tensor(variable_.lock()); }

 private:
  std::weak_ptr<TensorImpl> variable_;
};

}  // namespace cg::autograd
