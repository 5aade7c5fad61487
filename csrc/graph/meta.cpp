#include <utility>

#include "graph/meta.h"

#include "graph/accumulate_grad.h"
#include "graph/forward_ad.h"

namespace cg::autograd {

AutogradMeta& meta_mut(const Tensor& t) {
  auto& slot = t.impl()->autograd;
  if (!slot) return slot.emplace<AutogradMeta>();
  return *static_cast<AutogradMeta*>(slot.get());
}

namespace {
// A view whose base was written in place after the view's history was recorded (the shared
// version counter moved on), or whose base gained a history (y[0] = x) while the view had none.
inline bool view_is_stale(const Tensor& t, const AutogradMeta* m) {
  if (!m || !m->is_view || !m->view_base().defined() || m->no_grad_view) return false;
  if (m->grad_fn) return m->attr_version != t.version();
  const AutogradMeta* bm = meta(m->view_base());
  return bm && bm->grad_fn;
}
}  // namespace

void refresh_view_history(const Tensor& t) {
  AutogradMeta* m = meta(t);
  if (!view_is_stale(t, m)) return;
  const Tensor base = m->view_base();
  const uint32_t version = t.version();
  if (!requires_grad(base)) {
    m->grad_fn = nullptr;
  } else if (base.is_contiguous() && m->extras_if()->replay_view) {
    // PyTorch's rule: the view's values are now a strided window of the base's current values.
    GradModeGuard enable(true);
    Tensor window = m->extras_if()->replay_view(base, t);
    m->grad_fn = meta(window)->grad_fn;
    m->output_nr = 0;
    m->requires_grad = false;
  }
  m->attr_version = version;
}

bool view_requires_grad(const Tensor& t) {
  refresh_view_history(t);
  return meta(t)->grad_fn != nullptr;
}

bool is_leaf(const Tensor& t) {
  const AutogradMeta* m = meta(t);
  if (m && m->is_view) refresh_view_history(t);
  return !m || !m->grad_fn;
}

const std::shared_ptr<Node>& grad_fn(const Tensor& t) {
  static const std::shared_ptr<Node> none;
  const AutogradMeta* m = meta(t);
  if (m && m->is_view) refresh_view_history(t);
  return m ? m->grad_fn : none;
}

void set_requires_grad(const Tensor& t, bool value) {
  if (value && !is_floating(t.dtype()))
    throw RuntimeError("only Tensors of floating point and complex dtype can require gradients");
  if (!is_leaf(t)) {
    if (value) return;  // already requires grad through its history
    throw RuntimeError(
        "you can only change requires_grad flags of leaf variables. If you want to use a computed variable in a "
        "subgraph that doesn't require differentiation use var_no_grad = var.detach().");
  }
  if (!value && !meta(t)) return;
  meta_mut(t).requires_grad = value;
}

std::shared_ptr<Node> grad_accumulator(const Tensor& t) {
  AutogradMeta& m = meta_mut(t);
  if (m.has_accumulator.load(std::memory_order_acquire)) return m.grad_accumulator;
  {
    std::lock_guard<std::mutex> lock(m.mutex);
    if (m.grad_accumulator) return m.grad_accumulator;
  }
  // Made outside the lock: a node's constructor may take the GIL (anomaly mode's trace).
  auto acc = make_node<AccumulateGrad>(t);
  acc->output_meta.push_back({t.shape(), t.dtype()});
  std::lock_guard<std::mutex> lock(m.mutex);
  if (!m.grad_accumulator) m.grad_accumulator = std::move(acc);  // another thread may have won
  m.has_accumulator.store(true, std::memory_order_release);
  return m.grad_accumulator;
}

Tensor get_grad(const Tensor& t) {
  AutogradMeta* m = meta(t);
  if (!m) return Tensor();
  std::lock_guard<std::mutex> lock(m->mutex);
  return m->grad;
}

void set_grad(const Tensor& t, Tensor grad) {
  if (!grad.defined() && !meta(t)) return;
  AutogradMeta& m = meta_mut(t);
  Tensor old;
  {
    std::lock_guard<std::mutex> lock(m.mutex);
    old = std::exchange(m.grad, std::move(grad));
  }
  // `old` (maybe the last handle on a graph) is destroyed here, outside the lock.
}

void retain_grad(const Tensor& t) {
  AutogradMeta& m = meta_mut(t);
  {
    std::lock_guard<std::mutex> lock(m.mutex);
    if (m.retains_grad) return;
    m.retains_grad = true;
  }
  m.grad_fn->edit_hooks([&](Node::Hooks& h) { h.retained.emplace_back(m.output_nr, t.impl_ptr()); });
}

Edge gradient_edge_slow(const Tensor& t) {
  const AutogradMeta* m = meta(t);
  if (!m) return {};
  if (m->is_view) refresh_view_history(t);
  if (m->grad_fn) return {m->grad_fn, m->output_nr};
  if (m->requires_grad) return {grad_accumulator(t), 0};
  return {};
}

namespace {
template <typename NodePtr>
void set_history_impl(const Tensor& out, NodePtr&& node) {
  Node& n = *node;
  if (const forward_ad::NodeForward* fw = n.forward()) {
    forward_ad::set_pending(out, node, static_cast<uint32_t>(n.output_meta.size()));
    if (fw->forward_only) {  // recorded for its tangents only: no history
      n.output_meta.push_back({out.shape(), out.dtype()});
      return;
    }
  }
  AutogradMeta& m = meta_mut(out);
  m.requires_grad = false;
  note_output(m, n, out);
  m.grad_fn = std::forward<NodePtr>(node);
}
}  // namespace

void set_history(const Tensor& out, const std::shared_ptr<Node>& node) { set_history_impl(out, node); }
void set_history(const Tensor& out, std::shared_ptr<Node>&& node) { set_history_impl(out, std::move(node)); }

bool any_has_tangent(std::initializer_list<const Tensor*> ts) {
  for (const Tensor* t : ts)
    if (t && forward_ad::has_tangent(*t)) return true;
  return false;
}

Tensor detach(const Tensor& t) { return t.alias(); }

}  // namespace cg::autograd
