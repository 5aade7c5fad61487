// The graph layer's half of forward-mode AD: levels, tangents and their recording on nodes. Running
// a node's JVP needs the ops (tangent fix-ups) and the engine (the double-VJP fallback): the level
// keeps the runner the engine's enter_dual_level() gives it (engine/jvp.h).
#include "graph/forward_ad.h"

#include <algorithm>
#include <utility>

#include "graph/meta.h"
#include "kernels/elementwise.h"

namespace cg::autograd::forward_ad {

namespace {

// (The active level's generation and the suspended flag are in forward_hooks.h.)
using detail::t_generation;
using detail::t_suspended;
thread_local uint64_t t_next_generation = 0;
thread_local JvpRunner t_runner = nullptr;
// Every tangent handed out at the active level, dropped when it exits.
thread_local std::vector<std::weak_ptr<ForwardGrad>> t_level_grads;
// Every node that recorded tangents at the active level: their cached tangents may hold graphs
// reaching back to the node (create_graph), so the level's exit drops them.
thread_local std::vector<std::weak_ptr<Node>> t_level_nodes;
thread_local Counts t_counts;

std::shared_ptr<ForwardGrad> new_grad() {
  auto g = std::make_shared<ForwardGrad>();
  g->generation = t_generation;
  t_level_grads.push_back(g);
  return g;
}

// t's forward state at the active level, whether or not it holds a tangent.
ForwardGrad* current(const Tensor& t) {
  if (!t.defined() || t_generation == 0) return nullptr;
  AutogradMeta* m = meta(t);
  ForwardGrad* g = m ? m->fw() : nullptr;
  return g && g->generation == t_generation ? g : nullptr;
}

// t's own tangent (computed or pending), not one it reads from a base.
ForwardGrad* live_grad(const Tensor& t) {
  ForwardGrad* g = current(t);
  return g && (g->tangent.defined() || g->node) ? g : nullptr;
}

// The forward base of view t (ForwardGrad::base); for a view made before the level was entered,
// the tensor it views into. Undefined for the rest (make_dual's dual is a base of its own).
Tensor forward_base(const Tensor& t) {
  if (ForwardGrad* g = current(t)) return g->base;
  const AutogradMeta* m = t.defined() ? meta(t) : nullptr;
  return m && m->is_view ? m->view_base() : Tensor();
}

// Replaces t's forward state (same level), keeping its forward base.
ForwardGrad& renew(const Tensor& t) {
  ForwardGrad* old = current(t);
  Tensor base = old ? old->base : Tensor();
  std::shared_ptr<ForwardGrad>& fw = meta_mut(t).extras().fw;
  fw = new_grad();
  fw->base = std::move(base);
  return *fw;
}

// Whether no two elements of t share memory: then a tangent laid out as t holds every value
// (an expanded base's does not: its views keep tangents of their own).
bool non_overlapping(const Tensor& t) {
  std::vector<std::pair<int64_t, int64_t>> dims;  // (stride, size) of the dims that step
  for (size_t d = 0; d < t.shape().size(); ++d) {
    if (t.shape()[d] == 0) return true;
    if (t.shape()[d] > 1) dims.emplace_back(t.strides()[d], t.shape()[d]);
  }
  std::sort(dims.begin(), dims.end());
  int64_t reach = 1;
  for (auto [stride, size] : dims) {
    if (stride < reach) return false;
    reach = stride * size;
  }
  return true;
}

// The forward base whose tangent `t`'s is a window of, when it has one (else undefined).
Tensor window_base(const Tensor& t) {
  Tensor base = forward_base(t);
  return base.defined() && live_grad(base) && non_overlapping(base) ? base : Tensor();
}

// The window of base tangent `bt` (laid out as `base`) that is `view`'s tangent.
Tensor window(const Tensor& bt, const Tensor& base, const Tensor& view) {
  return bt.as_strided(view.shape(), view.strides(), bt.offset() + view.offset() - base.offset());
}

// Runs the node's JVP once (the level's runner: native rule, else the double-VJP trick) and caches
// all outputs' tangents.
void compute(Node& node) {
  NodeForward& fw = *node.forward();
  if (fw.computed) return;
  Suspend suspend;
  GradModeGuard grad(fw.grad_enabled);
  fw.output_tangents = t_runner(node, fw.input_tangents);
  fw.input_tangents.clear();
  fw.computed = true;
}

Tensor resolve(ForwardGrad& g) {
  if (g.node) {
    std::shared_ptr<Node> node = std::move(g.node);
    if (NodeForward* fw = node->forward()) {
      compute(*node);
      g.tangent = fw->output_tangents.at(g.output_nr);
    }
  }
  return g.tangent;
}

void capture(const std::shared_ptr<Node>& node, const TensorList& tangents, bool any_requires) {
  auto fw = std::make_unique<NodeForward>();
  fw->input_tangents = tangents;
  fw->grad_enabled = GradMode::is_enabled();
  fw->forward_only = !(fw->grad_enabled && any_requires);
  node->set_forward(std::move(fw));
  t_level_nodes.push_back(node);
}

}  // namespace

Counts& counts() { return t_counts; }

bool level_active() { return t_generation != 0; }

Suspend::Suspend() : prev_(t_suspended) { t_suspended = true; }
Suspend::~Suspend() { t_suspended = prev_; }

int64_t enter_level(JvpRunner runner) {
  if (t_generation != 0) throw RuntimeError("Nested forward mode AD is not supported at the moment");
  t_runner = runner;
  t_generation = ++t_next_generation;
  return 0;
}

void exit_level() {
  // Pending tangents hold their node (and through its saved outputs, maybe themselves): break
  // those links here, as PyTorch frees a level's tangents when it exits.
  std::vector<std::weak_ptr<ForwardGrad>> grads = std::move(t_level_grads);
  std::vector<std::weak_ptr<Node>> nodes = std::move(t_level_nodes);
  t_level_grads.clear();
  t_level_nodes.clear();
  t_generation = 0;
  for (auto& w : grads)
    if (auto g = w.lock()) {
      g->tangent = Tensor();
      g->node.reset();
      g->base = Tensor();
    }
  for (auto& w : nodes)
    if (auto n = w.lock()) n->set_forward(nullptr);
}

namespace {
// base's tangent laid out with base's own strides, so that every view's tangent is a window of
// it. `for_write`: a tangent of base's own that a view may write into (a copy when the tangent is
// shared, e.g. passed on unchanged by clone or add; zeros of `dtype` when base has none).
Tensor base_tangent(const Tensor& base, bool for_write, DType dtype) {
  ForwardGrad* g = live_grad(base);
  Tensor t = g ? resolve(*g) : Tensor();
  const bool laid_out = t.defined() && t.strides() == base.strides();
  if (for_write ? laid_out && g->owned : laid_out || !t.defined()) return t;
  int64_t span = 1;  // elements the base's layout reaches
  for (size_t d = 0; d < base.shape().size(); ++d) {
    if (base.shape()[d] == 0) span = 0;
    if (span) span += (base.shape()[d] - 1) * base.strides()[d];
  }
  Suspend suspend;
  Tensor fresh = Tensor::empty({span}, t.defined() ? t.dtype() : dtype).as_strided(base.shape(), base.strides(), 0);
  if (t.defined()) kernels::copy(fresh, t);
  else kernels::fill(fresh, 0);
  ForwardGrad& fresh_grad = renew(base);
  fresh_grad.tangent = fresh;
  fresh_grad.owned = true;
  return fresh;
}
}  // namespace

bool has_tangent(const Tensor& t) {
  if (live_grad(t)) return true;
  Tensor base = forward_base(t);
  return base.defined() && live_grad(base);
}

Tensor tangent(const Tensor& t) {
  if (t_generation == 0 || !t.defined()) return Tensor();
  if (Tensor base = window_base(t); base.defined()) return window(base_tangent(base, false, t.dtype()), base, t);
  ForwardGrad* g = live_grad(t);
  return g ? resolve(*g) : Tensor();
}

void set_tangent(const Tensor& t, const Tensor& tangent) { renew(t).tangent = tangent; }

void note_view(const Tensor& input, const Tensor& view) {
  if (!active()) return;
  Tensor base = forward_base(input);
  if (!base.defined()) base = input;
  if (!current(view)) meta_mut(view).extras().fw = new_grad();
  meta_mut(view).extras().fw->base = std::move(base);
}

void capture_inputs(const std::shared_ptr<Node>& node, std::initializer_list<const Tensor*> inputs) {
  if (!active()) return;
  TensorList tangents;
  tangents.reserve(inputs.size());
  bool any = false, any_requires = false;
  for (const Tensor* t : inputs) {
    tangents.push_back(t ? tangent(*t) : Tensor());
    any |= tangents.back().defined();
    any_requires |= t && t->defined() && requires_grad(*t);
  }
  if (any) capture(node, tangents, any_requires);
}

void capture_inputs(const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs) {
  if (!active()) return;
  TensorList tangents;
  tangents.reserve(inputs.size());
  bool any = false, any_requires = false;
  for (const Tensor& t : inputs) {
    tangents.push_back(tangent(t));
    any |= tangents.back().defined();
    any_requires |= t.defined() && requires_grad(t);
  }
  if (any) capture(node, tangents, any_requires);
}

void set_pending(const Tensor& out, const std::shared_ptr<Node>& node, uint32_t output_nr) {
  ForwardGrad& g = renew(out);
  g.node = node;
  g.output_nr = output_nr;
}

void attach_saved_output(const Tensor& unpacked, const std::shared_ptr<Node>& owner, uint32_t output_nr) {
  if (!owner || !owner->forward() || t_generation == 0) return;
  set_pending(unpacked, owner, output_nr);
}

bool inplace_involves(const Tensor& self, std::initializer_list<const Tensor*> others) {
  if (!active()) return false;
  if (has_tangent(self)) return true;
  for (const Tensor* t : others)
    if (t && has_tangent(*t)) return true;
  return false;
}

void commit_inplace(const Tensor& self, const Tensor& result) {
  if (t_generation == 0) return;
  Tensor t = tangent(result);
  if (!t.defined() && !has_tangent(self)) return;
  Suspend suspend;
  if (!t.defined()) t = Tensor::zeros(self.shape(), self.dtype());
  Tensor base = forward_base(self);
  if (!base.defined() || !non_overlapping(base)) return set_tangent(self, t);
  // A view: its window of the base's tangent (zeros until now, if the base had none) takes t,
  // which the base and every other view of it then see.
  kernels::copy(window(base_tangent(base, true, t.dtype()), base, self), t);
}

}  // namespace cg::autograd::forward_ad
