// Fused gradient ops: one kernel pass when nothing records, the composed (differentiable) form
// when a higher-order graph is wanted, and the zero-derivative links PyTorch records for them.
#include "ops/arithmetic.h"

#include <cmath>

#include "ops/arithmetic_internal.h"
#include "ops/common.h"
#include "ops/inplace.h"
#include "ops/ops.h"

namespace cg::ops {

using namespace arith;
using autograd::any_requires_grad;

namespace {

// The backward of tanh_backward / sigmoid_backward, as PyTorch records it under create_graph: one
// node (TanhBackwardBackward0, SigmoidBackwardBackward0) with a one-pass kernel per gradient, where
// composing the formula from products recorded four nodes and ran four kernels. For
// out = g * f'(y):  d/dg = gg * f'(y) (the activation's backward again), d/dy = gg * g * f''(y).
struct ActivationGradRule {
  const char* node_name;
  Tensor (*backward)(const Tensor& gg, const Tensor& y);  // tanh_backward / sigmoid_backward
  // d/dy: a kernel when nothing records, else composed of differentiable ops (same operations).
  void (*kernel)(const Tensor& gg, const Tensor& g, const Tensor& y, const Tensor& out);
  Tensor (*composed)(const Tensor& gg, const Tensor& g, const Tensor& y);
};

Tensor tanh_output_grad(const Tensor& gg, const Tensor& g, const Tensor& y) { return mul(gg, mul(mul(y, -2.0), g)); }
Tensor sigmoid_output_grad(const Tensor& gg, const Tensor& g, const Tensor& y) {
  return mul(gg, mul(g, rsub(mul(y, 2.0), 1)));
}
const ActivationGradRule kTanhGrad{"TanhBackwardBackward0", &tanh_backward, &kernels::tanh_backward_backward,
                                   &tanh_output_grad};
const ActivationGradRule kSigmoidGrad{"SigmoidBackwardBackward0", &sigmoid_backward,
                                      &kernels::sigmoid_backward_backward, &sigmoid_output_grad};

// One float dtype and one shape: what the fused node and its kernels handle (else the composed form).
bool fusable(const Tensor& g, const Tensor& y) {
  return g.shape() == y.shape() && g.dtype() == y.dtype() &&
         (g.dtype() == DType::Float32 || g.dtype() == DType::Float64);
}

Tensor output_grad(const ActivationGradRule& rule, const Tensor& gg, const Tensor& g, const Tensor& y) {
  if (any_requires_grad({&gg, &g, &y}) || !fusable(gg, y) || !fusable(g, y)) return rule.composed(gg, g, y);
  Tensor out = Tensor::empty(y.shape(), y.dtype());
  rule.kernel(gg, g, y, out);
  return out;
}

struct ActivationBackwardBackward : BackwardNode<ActivationBackwardBackward> {
  const ActivationGradRule* rule = nullptr;
  SavedTensor grad_output_, output_;
  TensorList apply(TensorList&& gg) override {
    TensorList r(2);
    const Tensor y = output_.unpack(*this);
    if (should_compute_output(0)) r[0] = rule->backward(gg[0], y);
    if (should_compute_output(1)) r[1] = output_grad(*rule, gg[0], grad_output_.unpack(*this), y);
    return r;
  }
  TensorList jvp(const TensorList& t) override {  // linear in g; d/dy as in apply
    const Tensor y = output_.unpack(*this);
    return {tangent_sum(t[0].defined() ? rule->backward(t[0], y) : Tensor(),
                        t[1].defined() ? rule->composed(t[1], grad_output_.unpack(*this), y) : Tensor())};
  }
  std::string name() const override { return rule->node_name; }
  static auto saved_fields() {
    return std::make_tuple(saved("grad_output", &ActivationBackwardBackward::grad_output_),
                           saved("output", &ActivationBackwardBackward::output_));
  }
};

// grad * f'(y) in one pass; recorded as one node when a higher-order graph is wanted.
template <void (*kernel)(const Tensor&, const Tensor&, const Tensor&)>
Tensor activation_backward(const ActivationGradRule& rule, const Tensor& grad, const Tensor& y,
                           Tensor (*composed)(const Tensor&, const Tensor&)) {
  const bool recording = any_requires_grad({&grad, &y});
  if (recording && !fusable(grad, y)) return composed(grad, y);
  Tensor out = Tensor::empty(broadcast_shapes(grad.shape(), y.shape()), grad.dtype());
  kernel(grad, cast_data(y, grad.dtype()), out);
  if (recording) {
    auto node = ActivationBackwardBackward::make({&grad, &y});
    node->rule = &rule;
    node->grad_output_ = SavedTensor(grad, false);
    node->output_ = SavedTensor(y, false);
    record(std::move(node), out);
  }
  return out;
}

}  // namespace

Tensor tanh_backward(const Tensor& grad, const Tensor& y) {
  return activation_backward<&kernels::tanh_backward>(
      kTanhGrad, grad, y, [](const Tensor& g, const Tensor& t) { return mul(g, rsub(mul(t, t), 1)); });
}

Tensor sigmoid_backward(const Tensor& grad, const Tensor& y) {
  return activation_backward<&kernels::sigmoid_backward>(
      kSigmoidGrad, grad, y, [](const Tensor& g, const Tensor& s) { return mul(g, mul(s, rsub(s, 1))); });
}

namespace {
struct ZeroGradBackward : BackwardNode<ZeroGradBackward> {
  Shape shape;
  DType dtype = DType::Float32;
  std::string label;
  TensorList apply(TensorList&&) override { return {Tensor::zeros(shape, dtype)}; }
  std::string name() const override { return label; }
};
}  // namespace

Tensor zero_grad_through(const Tensor& result, const autograd::Edge& edge, const Shape& shape, DType dtype,
                         const char* node_name) {
  if (!autograd::GradMode::is_enabled() || !edge.valid() || autograd::requires_grad(result)) return result;
  auto node = autograd::make_node<ZeroGradBackward>();
  node->next_edges.push_back(edge);
  node->shape = shape;
  node->dtype = dtype;
  node->label = node_name;
  Tensor out = autograd::detach(result);
  record(node, out);
  return out;
}

void link_fused_grads(autograd::TensorList& grads, const autograd::Node& node, size_t slot, const Shape& shape, DType dtype,
                      const char* node_name) {
  if (!autograd::GradMode::is_enabled() || slot >= node.next_edges.size() || !node.next_edges[slot].valid()) return;
  for (Tensor& g : grads)
    if (g.defined()) g = zero_grad_through(g, node.next_edges[slot], shape, dtype, node_name);
}

Tensor threshold_backward(const Tensor& grad, const Tensor& x, double threshold) {
  if (any_requires_grad({&grad, &x})) {
    Tensor pass = compare(static_cast<int>(Binary::Gt), x, Scalar(threshold));
    Tensor r = where(pass, grad, Tensor::zeros({}, grad.dtype()));
    return autograd::requires_grad(x) ? zero_grad_through(r, autograd::gradient_edge(x), x.shape(), x.dtype(),
                                                          "ThresholdBackwardBackward0")
                                      : r;
  }
  Tensor out = Tensor::empty(broadcast_shapes(grad.shape(), x.shape()), grad.dtype());
  kernels::threshold_backward(grad, cast_data(x, grad.dtype()), threshold, out);
  return out;
}

}  // namespace cg::ops
