// Forward-mode AD's entry and its JVP runner: the level (graph/forward_ad.h) computes each node's
// tangents through run_jvp, which needs the ops (tangent fix-ups) and this engine (the fallback).
#pragma once
#include <cstdint>

#include "graph/forward_ad.h"

namespace cg::autograd::forward_ad {

// Enters the dual level (PyTorch's enter_dual_level) with run_jvp as its runner. Returns 0.
int64_t enter_dual_level();

// A node's output tangents: its native rule (Node::jvp), else the double-VJP trick below; each
// given the output's shape and dtype (native rules may return a broadcastable or other-typed one).
TensorList run_jvp(Node& node, const TensorList& input_tangents);

// The generic JVP: a VJP is linear in its vector u, so d/du <vjp(u), t> = J t. Runs the node's
// VJP on a zero vector that requires grad, then one backward from the VJP's results with the
// input tangents as their gradients. Exact for every node with a differentiable VJP.
TensorList jvp_by_double_vjp(Node& node, const TensorList& input_tangents);

}  // namespace cg::autograd::forward_ad
