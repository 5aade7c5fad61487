// The user's hooks as the engine runs them on one node (autograd/engine.cpp).
#pragma once
#include <optional>

#include "graph/node.h"

namespace cg::autograd {

// Hooks on the tensors whose gradients are `grads` (one per output of `node`; for a leaf's
// accumulator, the leaf's own hooks), in registration order; they may replace the gradients.
void run_tensor_hooks(Node& node, const std::optional<Node::Hooks>& hooks, TensorList& grads);
// retain_grad(): the gradients of the retained outputs into their tensors' .grad.
void retain_grads(const Node::Hooks& hooks, const TensorList& grads);
// Pre hooks may replace the node's incoming gradients, post hooks its results.
void run_pre_hooks(const Node::Hooks& hooks, TensorList& grads);
void run_post_hooks(const Node::Hooks& hooks, TensorList& outputs, const TensorList& grads_in);

}  // namespace cg::autograd
