// The graph layer's half of forward-mode AD: levels, tangents and their recording on nodes. Running
// a node's JVP needs the ops (tangent fix-ups) and the engine (the double-VJP fallback): the level
// keeps the runner the engine's enter_dual_level() gives it (engine/jvp.h).
#include "graph/forward_ad.h"

#include "graph/meta.h"
#include "kernels/elementwise.h"

namespace cg::autograd::forward_ad {

namespace {

// The active level's generation (0: none) and whether a JVP is running (its ops are plain).
thread_local uint64_t t_generation = 0;
thread_local uint64_t t_next_generation = 0;
thread_local bool t_suspended = false;
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

ForwardGrad* live_grad(const Tensor& t) {
  if (!t.defined()) return nullptr;
  AutogradMeta* m = meta(t);
  if (!m || !m->fw || m->fw->generation != t_generation || t_generation == 0) return nullptr;
  return m->fw.get();
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

bool active() { return t_generation != 0 && !t_suspended; }
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
    }
  for (auto& w : nodes)
    if (auto n = w.lock()) n->set_forward(nullptr);
}

bool has_tangent(const Tensor& t) { return live_grad(t) != nullptr; }

Tensor tangent(const Tensor& t) {
  ForwardGrad* g = live_grad(t);
  return g ? resolve(*g) : Tensor();
}

void set_tangent(const Tensor& t, const Tensor& tangent) {
  AutogradMeta& m = meta_mut(t);
  m.fw = new_grad();
  m.fw->tangent = tangent;
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
  AutogradMeta& m = meta_mut(out);
  m.fw = new_grad();
  m.fw->node = node;
  m.fw->output_nr = output_nr;
}

void attach_saved_output(const Tensor& unpacked, const std::shared_ptr<Node>& owner, uint32_t output_nr) {
  if (!owner || !owner->forward() || t_generation == 0) return;
  set_pending(unpacked, owner, output_nr);
}

bool inplace_involves(const Tensor& self, std::initializer_list<const Tensor*> others) {
  if (!active()) return false;
  if (has_tangent(self)) return true;
  if (const AutogradMeta* m = meta(self); m && m->is_view && has_tangent(m->view_base)) return true;
  for (const Tensor* t : others)
    if (t && has_tangent(*t)) return true;
  return false;
}

void commit_inplace(const Tensor& self, const Tensor& result) {
  if (t_generation == 0) return;
  Tensor t = tangent(result);
  AutogradMeta* m = meta(self);
  const bool through_view = m && m->is_view && m->view_base.defined();
  if (!t.defined() && !has_tangent(self) && !(through_view && has_tangent(m->view_base))) return;
  Suspend suspend;
  if (!t.defined()) t = Tensor::zeros(self.shape(), self.dtype());
  set_tangent(self, t);
  if (!through_view) return;
  // The base's tangent: its old tangent (or zeros) with the view's region replaced.
  const Tensor& base = m->view_base;
  Tensor bt = tangent(base);
  Tensor fresh = Tensor::empty(base.shape(), bt.defined() ? bt.dtype() : base.dtype());
  if (bt.defined()) kernels::copy(fresh, bt);
  else kernels::fill(fresh, 0);
  CG_CHECK(base.is_contiguous(), "forward AD: in-place write through a view of a non-contiguous base");
  kernels::copy(fresh.as_strided(self.shape(), self.strides(), self.offset() - base.offset()), t);
  set_tangent(base, fresh);
}

}  // namespace cg::autograd::forward_ad
