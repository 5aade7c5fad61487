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

Tensor tanh_backward(const Tensor& grad, const Tensor& y) {
  if (any_requires_grad({&grad, &y})) return mul(grad, rsub(mul(y, y), 1));
  Tensor out = Tensor::empty(broadcast_shapes(grad.shape(), y.shape()), grad.dtype());
  kernels::tanh_backward(grad, cast_data(y, grad.dtype()), out);
  return out;
}

Tensor sigmoid_backward(const Tensor& grad, const Tensor& y) {
  if (any_requires_grad({&grad, &y})) return mul(grad, mul(y, rsub(y, 1)));
  Tensor out = Tensor::empty(broadcast_shapes(grad.shape(), y.shape()), grad.dtype());
  kernels::sigmoid_backward(grad, cast_data(y, grad.dtype()), out);
  return out;
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
