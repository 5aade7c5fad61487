// Forward-mode AD: a tensor carries a tangent at the active dual level, and every op recorded
// while a level is active computes its outputs' tangents from its inputs' tangents with its
// node's JVP (Node::jvp). Nodes are recorded for dual inputs even when nothing requires grad
// ("forward-only" nodes: they give no grad_fn, so requires_grad stays as in PyTorch).
//
// Tangents are computed lazily, once per node, on first use (an op reading an input's tangent,
// unpack_dual, an in-place write): ops finish their node (saved outputs) after set_history,
// so the JVP cannot run there. Node::jvp's default is the double-VJP trick (below); ops with a
// native rule override it next to their VJP.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <vector>

#include "autograd/forward_hooks.h"
#include "autograd/node.h"

namespace cg::autograd::forward_ad {

// A tensor's tangent (in AutogradMeta::fw): either computed, or pending on `node`'s output `output_nr`.
struct ForwardGrad {
  uint64_t generation = 0;  // the dual level it belongs to (stale once that level exits)
  Tensor tangent;
  std::shared_ptr<Node> node;
  uint32_t output_nr = 0;
};

// What a node recorded with dual inputs keeps (in Node::fw): the input tangents (undefined: zero)
// and, once computed, the output tangents.
struct NodeForward {
  TensorList input_tangents;
  TensorList output_tangents;
  bool computed = false;
  bool forward_only = false;  // no input requires grad: outputs get tangents but no grad_fn
  bool grad_enabled = false;  // grad mode at recording: the JVP is itself recorded
};

// Enters the (single) dual level; PyTorch's error when one is active already. Returns 0.
int64_t enter_level();
// Exits it: every tangent of the level is dropped.
void exit_level();

// `t`'s tangent at the active level, computing it when pending; undefined when none.
Tensor tangent(const Tensor& t);
// A view of `primal` (AliasBackward0 history when it requires grad) carrying `tangent`.
Tensor make_dual(const Tensor& primal, const Tensor& tangent);
void set_tangent(const Tensor& t, const Tensor& tangent);
// A view of `t` without its tangent (unpack_dual's primal; keeps the reverse-mode history).
Tensor primal_view(const Tensor& t);

// The generic JVP: a VJP is linear in its vector u, so d/du <vjp(u), t> = J t. Runs the node's
// VJP on a zero vector that requires grad, then one backward from the VJP's results with the
// input tangents as their gradients. Exact for every node with a differentiable VJP.
TensorList jvp_by_double_vjp(Node& node, const TensorList& input_tangents);

// Number of JVPs computed natively / by the double-VJP fallback on this thread (tests, benchmarks).
struct Counts {
  int64_t native = 0;
  int64_t fallback = 0;
};
Counts& counts();

}  // namespace cg::autograd::forward_ad
