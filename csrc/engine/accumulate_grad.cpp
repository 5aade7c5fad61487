#include "engine/accumulate_grad.h"

#include "graph/meta.h"
#include "ops/ops.h"

namespace cg::autograd {

Tensor run_leaf_hooks(const Tensor& leaf, Tensor grad) {
  if (!leaf.defined()) return grad;
  AutogradMeta* m = meta(leaf);
  if (!m) return grad;
  HookList<TensorHook> hooks;
  {
    std::lock_guard<std::mutex> lock(m->mutex);
    if (m->hooks.empty()) return grad;
    hooks = m->hooks;  // run a copy, unlocked: hooks take the GIL and may edit the list
  }
  hooks.run([&](const std::string& name, const TensorHook& fn) {
    Tensor r = fn(grad);
    if (!r.defined()) return;
    check_hook_value(name, grad, r);
    grad = std::move(r);
  });
  return grad;
}

// The engine's buffer may become .grad itself when nothing else can see it: the only handle on
// its TensorImpl, whose storage is referenced by that impl alone (the version counter inside the
// storage holds no reference of its own).
bool can_steal(const Tensor& grad) {
  const TensorImpl& impl = *grad.impl();
  return grad.impl_ptr().use_count() == 1 && impl.storage.use_count() == 1 && grad.is_contiguous() &&
         !requires_grad(grad);
}

void accumulate_into_grad(const Tensor& t, const Tensor& grad) {
  AutogradMeta& m = meta_mut(t);
  if (GradMode::is_enabled()) {
    // create_graph: the sum is recorded, out of place and outside the lock (recording may take
    // the GIL). Concurrent create_graph backward calls into one leaf are not serialised further.
    Tensor old = get_grad(t);
    set_grad(t, old.defined() ? ops::add(old, grad) : grad);
    return;
  }
  std::lock_guard<std::mutex> lock(m.mutex);
  if (!m.grad.defined()) {
    m.grad = can_steal(grad) ? grad : ops::clone(autograd::detach(grad));  // .grad never aliases
  } else {
    ops::add_(m.grad, grad);
  }
}

TensorList accumulate_leaf(const AccumulateGrad& node, TensorList&& grads) {
  // The leaf's own hooks already ran in the engine (they also apply to captured gradients).
  Tensor g = std::move(grads[0]);
  Tensor variable = node.variable();
  if (!g.defined() || !variable.defined()) return {};
  accumulate_into_grad(variable, g);
  AutogradMeta& m = meta_mut(variable);
  HookList<std::function<void(const Tensor&)>> hooks;
  {
    std::lock_guard<std::mutex> lock(m.mutex);
    if (m.post_accumulate_hooks.empty()) return {};
    hooks = m.post_accumulate_hooks;
  }
  hooks.run([&](const std::string&, const auto& fn) { fn(variable); });
  return {};
}

}  // namespace cg::autograd
