#include "autograd/meta.h"

#include "autograd/accumulate_grad.h"

namespace cg::autograd {

AutogradMeta* meta(const Tensor& t) { return static_cast<AutogradMeta*>(t.impl()->autograd.get()); }

AutogradMeta& meta_mut(const Tensor& t) {
  auto& slot = t.impl()->autograd;
  if (!slot) slot = std::make_unique<AutogradMeta>();
  return *static_cast<AutogradMeta*>(slot.get());
}

bool requires_grad(const Tensor& t) {
  const AutogradMeta* m = meta(t);
  return m && (m->requires_grad || m->grad_fn);
}

bool is_leaf(const Tensor& t) {
  const AutogradMeta* m = meta(t);
  return !m || !m->grad_fn;
}

const std::shared_ptr<Node>& grad_fn(const Tensor& t) {
  static const std::shared_ptr<Node> none;
  const AutogradMeta* m = meta(t);
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
  if (auto acc = m.grad_accumulator.lock()) return acc;
  auto acc = make_node<AccumulateGrad>(t);
  acc->output_meta.push_back({t.shape(), t.dtype()});
  m.grad_accumulator = acc;
  return acc;
}

Edge gradient_edge(const Tensor& t) {
  const AutogradMeta* m = meta(t);
  if (!m) return {};
  if (m->grad_fn) return {m->grad_fn, m->output_nr};
  if (m->requires_grad) return {grad_accumulator(t), 0};
  return {};
}

void set_history(const Tensor& out, const std::shared_ptr<Node>& node) {
  AutogradMeta& m = meta_mut(out);
  m.grad_fn = node;
  m.output_nr = static_cast<uint32_t>(node->output_meta.size());
  m.requires_grad = false;
  node->output_meta.push_back({out.shape(), out.dtype()});
}

Tensor detach(const Tensor& t) { return t.alias(); }

}  // namespace cg::autograd
