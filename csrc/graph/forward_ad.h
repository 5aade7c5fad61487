// Forward-mode AD: a tensor carries a tangent at the active dual level, and every op recorded
// while a level is active computes its outputs' tangents from its inputs' tangents with its
// node's JVP (Node::jvp). Nodes are recorded for dual inputs even when nothing requires grad
// ("forward-only" nodes: they give no grad_fn, so requires_grad stays as in PyTorch).
//
// Tangents are computed lazily, once per node, on first use (an op reading an input's tangent,
// unpack_dual, an in-place write): ops finish their node (saved outputs) after set_history,
// so the JVP cannot run there. Node::jvp's default is the double-VJP trick (below); ops with a
// native rule override it next to their VJP.
//
// Layers: this is the graph's vocabulary (levels, tangents, recording). Running a JVP needs the
// ops and, for the fallback, the engine: the engine's enter_dual_level() (engine/jvp.h) enters the
// level with its runner, and make_dual / primal_view live with the ops (ops/dual.h).
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <vector>

#include "graph/forward_hooks.h"
#include "graph/node.h"

namespace cg::autograd::forward_ad {

// A tensor's tangent (in AutogradMeta::fw): either computed, or pending on `node`'s output `output_nr`.
// A view made at the level has `base` set: its tangent is then the same window of the base's
// tangent (as in PyTorch), so writes through any view are seen by the base and every other view.
struct ForwardGrad {
  uint64_t generation = 0;  // the dual level it belongs to (stale once that level exits)
  Tensor tangent;
  std::shared_ptr<Node> node;
  uint32_t output_nr = 0;
  Tensor base;  // views: the tensor (not itself such a view) whose tangent this one's is a window of
  bool owned = false;  // `tangent` was made here for writes through views (nobody else holds it)
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

// Computes a node's output tangents (one per output, the outputs' shapes and dtypes) from its
// input tangents: given by the layer that can run ops and the engine (engine/jvp.h).
using JvpRunner = TensorList (*)(Node& node, const TensorList& input_tangents);

// Enters the (single) dual level with `runner`; PyTorch's error when one is active already. Returns 0.
int64_t enter_level(JvpRunner runner);
// Exits it: every tangent of the level is dropped.
void exit_level();
// Whether a level is entered on this thread (even while a JVP runs).
bool level_active();

// `t`'s tangent at the active level, computing it when pending; undefined when none.
Tensor tangent(const Tensor& t);
void set_tangent(const Tensor& t, const Tensor& tangent);

// RAII: ops run while it lives are plain (no tangents recorded), as inside a JVP.
class Suspend {
 public:
  Suspend();
  ~Suspend();
  Suspend(const Suspend&) = delete;
  Suspend& operator=(const Suspend&) = delete;

 private:
  bool prev_;
};

// Number of JVPs computed natively / by the double-VJP fallback on this thread (tests, benchmarks).
struct Counts {
  int64_t native = 0;
  int64_t fallback = 0;
};
Counts& counts();

}  // namespace cg::autograd::forward_ad
