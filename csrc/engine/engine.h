// The backward executor: dependency counting from the roots, a ready queue ordered by creation
// (latest first), per-node input buffers, leaf accumulation and capture for autograd.grad.
#pragma once
#include <optional>

#include "graph/node.h"

namespace cg::autograd {

struct BackwardOptions {
  bool keep_graph = false;
  bool create_graph = false;
  // autograd.grad: return the gradients of `inputs` instead of accumulating into .grad.
  bool accumulate_grad = true;
  bool allow_unused = false;
  bool materialize_grads = false;
};

// roots[i] gets gradient grad_roots[i] (undefined: ones for a one-element root). With `inputs`
// non-empty only their gradients are computed: returned (grad) or accumulated (backward).
TensorList run_backward(const TensorList& roots, const TensorList& grad_roots, const TensorList& inputs,
                        const BackwardOptions& options);

}  // namespace cg::autograd
