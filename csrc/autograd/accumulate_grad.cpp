#include "autograd/accumulate_grad.h"

#include "autograd/meta.h"
#include "ops/ops.h"

namespace cg::autograd {

// Leaf accumulation runs as soon as it is ready (PyTorch gives it the highest priority too).
AccumulateGrad::AccumulateGrad(const Tensor& v) : variable_(v.impl_ptr()) { sequence_nr_ = UINT64_MAX; }

Tensor run_leaf_hooks(const Tensor& leaf, Tensor grad) {
  if (!leaf.defined()) return grad;
  AutogradMeta* m = meta(leaf);
  if (!m || m->hooks.empty()) return grad;
  // Copy: a hook may register or remove hooks while running.
  auto hooks = m->hooks.items;
  for (auto& [id, fn] : hooks) {
    Tensor r = fn(grad);
    if (r.defined()) grad = r;
  }
  return grad;
}

void accumulate_into_grad(const Tensor& t, const Tensor& grad) {
  AutogradMeta& m = meta_mut(t);
  if (!m.grad.defined()) {
    if (GradMode::is_enabled()) {
      m.grad = grad;  // create_graph: keep the gradient's own history
    } else {
      // Steal the buffer when nobody else holds it; otherwise copy so .grad never aliases.
      bool stealable = grad.impl_ptr().use_count() == 1 && grad.storage().use_count() == 1 && grad.is_contiguous() &&
                       !requires_grad(grad);
      m.grad = stealable ? grad : ops::clone(autograd::detach(grad));
    }
  } else if (GradMode::is_enabled()) {
    m.grad = ops::add(m.grad, grad);
  } else {
    ops::add_(m.grad, grad);
  }
}

TensorList AccumulateGrad::apply(TensorList&& grads) {
  // The leaf's own hooks already ran in the engine (they also apply to captured gradients).
  Tensor g = std::move(grads[0]);
  Tensor variable = this->variable();
  if (!g.defined() || !variable.defined()) return {};
  accumulate_into_grad(variable, g);
  AutogradMeta& m = meta_mut(variable);
  if (!m.post_accumulate_hooks.empty()) {
    auto hooks = m.post_accumulate_hooks.items;
    for (auto& [id, fn] : hooks) fn(variable);
  }
  return {};
}

}  // namespace cg::autograd
