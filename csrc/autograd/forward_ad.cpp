#include "autograd/forward_ad.h"

#include "autograd/engine.h"
#include "autograd/graph_task.h"
#include "autograd/meta.h"
#include "kernels/elementwise.h"
#include "ops/creation.h"
#include "ops/shape.h"

namespace cg::autograd::forward_ad {

namespace {

// The active level's generation (0: none) and whether a JVP is running (its ops are plain).
thread_local uint64_t t_generation = 0;
thread_local uint64_t t_next_generation = 0;
thread_local bool t_suspended = false;
// Every tangent handed out at the active level, dropped when it exits.
thread_local std::vector<std::weak_ptr<ForwardGrad>> t_level_grads;
// Every node that recorded tangents at the active level: their cached tangents may hold graphs
// reaching back to the node (create_graph), so the level's exit drops them.
thread_local std::vector<std::weak_ptr<Node>> t_level_nodes;
thread_local Counts t_counts;

struct Suspend {
  bool prev = t_suspended;
  Suspend() { t_suspended = true; }
  ~Suspend() { t_suspended = prev; }
  Suspend(const Suspend&) = delete;
  Suspend& operator=(const Suspend&) = delete;
};

// The gradient sink the double-VJP trick points input edges at while it runs a node's VJP:
// should_compute_output() must say yes for every input that has a tangent.
struct TangentSink : Node {
  TensorList apply(TensorList&&) override { return {}; }
  std::string name() const override { return "TangentSink"; }
};

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

Tensor zeros_for(const OutputMeta& om) { return Tensor::zeros(om.shape, om.dtype); }

// Runs the node's JVP once (native rule, else the double-VJP trick) and caches all outputs.
void compute(Node& node) {
  NodeForward& fw = *node.fw;
  if (fw.computed) return;
  Suspend suspend;
  GradModeGuard grad(fw.grad_enabled);
  TensorList outs = node.jvp(fw.input_tangents);
  if (outs.empty()) {
    outs = jvp_by_double_vjp(node, fw.input_tangents);
    ++t_counts.fallback;
  } else {
    ++t_counts.native;
  }
  outs.resize(node.output_meta.size());
  for (size_t k = 0; k < outs.size(); ++k) {
    const OutputMeta& om = node.output_meta[k];
    if (!outs[k].defined()) {
      outs[k] = zeros_for(om);
      continue;
    }
    // Native rules may give a broadcastable or differently typed tangent: it takes the output's.
    if (outs[k].shape() != om.shape) outs[k] = ops::contiguous(ops::expand(outs[k], om.shape));
    if (outs[k].dtype() != om.dtype) outs[k] = ops::to_dtype(outs[k], om.dtype);
  }
  fw.output_tangents = std::move(outs);
  fw.input_tangents.clear();
  fw.computed = true;
}

Tensor resolve(ForwardGrad& g) {
  if (g.node) {
    std::shared_ptr<Node> node = std::move(g.node);
    if (node->fw) {
      compute(*node);
      g.tangent = node->fw->output_tangents.at(g.output_nr);
    }
  }
  return g.tangent;
}

void capture(Node& node, const TensorList& tangents, bool any_requires) {
  auto fw = std::make_shared<NodeForward>();
  fw->input_tangents = tangents;
  fw->grad_enabled = GradMode::is_enabled();
  fw->forward_only = !(fw->grad_enabled && any_requires);
  node.fw = std::move(fw);
  t_level_nodes.push_back(node.weak_from_this());
}

}  // namespace

Counts& counts() { return t_counts; }

bool active() { return t_generation != 0 && !t_suspended; }

int64_t enter_level() {
  if (t_generation != 0) throw RuntimeError("Nested forward mode AD is not supported at the moment");
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
    if (auto n = w.lock()) n->fw.reset();
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

Tensor make_dual(const Tensor& primal, const Tensor& tangent) {
  if (t_generation == 0)
    throw RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, make sure to "
                       "enter_dual_level() first.");
  if (!is_floating(primal.dtype()))
    throw ValueError(msg("Expected primal to be floating point or complex, but got: chaingrad.",
                         dtype_name(primal.dtype())));
  if (!is_floating(tangent.dtype()))
    throw ValueError(msg("Expected tangent to be floating point or complex, but got: chaingrad.",
                         dtype_name(tangent.dtype())));
  if (has_tangent(primal))
    throw RuntimeError("Making a dual Tensor based on a Tensor that already has a forward gradient at the same "
                       "level 0 is not supported.");
  if (tangent.shape() != primal.shape())
    throw RuntimeError(msg("Trying to set a forward gradient that has a different size than that of the original "
                           "Tensor, this is not supported. Tensor is of size ", shape_str(primal.shape()),
                           " while the given forward gradient is of size ", shape_str(tangent.shape()), "."));
  Tensor dual;
  {
    Suspend suspend;
    dual = ops::alias(primal);
  }
  AutogradMeta& m = meta_mut(dual);
  if (!m.is_view) {
    m.is_view = true;
    m.view_base = primal;
  }
  set_tangent(dual, tangent);
  return dual;
}

Tensor primal_view(const Tensor& t) {
  Suspend suspend;
  return ops::alias(t);
}

void capture_inputs(Node& node, std::initializer_list<const Tensor*> inputs) {
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

void capture_inputs(Node& node, const std::vector<Tensor>& inputs) {
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

void attach_saved_output(const Tensor& unpacked, const Node& owner, uint32_t output_nr) {
  if (!owner.fw || t_generation == 0) return;
  set_pending(unpacked, std::const_pointer_cast<Node>(owner.shared_from_this()), output_nr);
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

TensorList jvp_by_double_vjp(Node& node, const TensorList& input_tangents) {
  // The tangents are recorded (differentiable) when the primal computation was, or they require grad.
  bool create_graph = GradMode::is_enabled() && node.fw && !node.fw->forward_only;
  for (const Tensor& t : input_tangents) create_graph |= GradMode::is_enabled() && t.defined() && requires_grad(t);
  GradModeGuard on(true);
  TensorList us;
  us.reserve(node.output_meta.size());
  for (const OutputMeta& om : node.output_meta) {
    Tensor u = zeros_for(om);
    meta_mut(u).requires_grad = true;
    us.push_back(u);
  }
  std::vector<Edge> edges = node.next_edges;
  auto sink = make_node<TangentSink>();
  for (size_t i = 0; i < input_tangents.size() && i < node.next_edges.size(); ++i)
    if (input_tangents[i].defined() && !node.next_edges[i].valid()) node.next_edges[i] = Edge{sink, 0};
  TensorList grads;
  {
    GraphTask::Scope no_task(nullptr);  // outside any backward: every valid edge is computed
    struct Restore {
      Node& n;
      std::vector<Edge>& e;
      ~Restore() { n.next_edges = std::move(e); }
    } restore{node, edges};
    grads = node.apply(TensorList(us));
  }
  TensorList roots, root_grads;
  for (size_t i = 0; i < input_tangents.size() && i < grads.size(); ++i) {
    if (!input_tangents[i].defined() || !grads[i].defined() || !requires_grad(grads[i])) continue;
    roots.push_back(grads[i]);
    root_grads.push_back(input_tangents[i].dtype() == grads[i].dtype() ? input_tangents[i]
                                                                       : ops::to_dtype(input_tangents[i], grads[i].dtype()));
  }
  TensorList out(us.size());
  if (roots.empty()) return out;
  BackwardOptions options;
  options.accumulate_grad = false;
  options.allow_unused = true;
  options.create_graph = create_graph;
  out = run_backward(roots, root_grads, us, options);
  return out;
}

}  // namespace cg::autograd::forward_ad
