// Binary arithmetic with broadcasting and type promotion, comparisons, where/clamp.
#pragma once
#include <optional>

#include "graph/node.h"
#include "core/tensor.h"

namespace cg::ops {

Tensor add(const Tensor& a, const Tensor& b, Scalar alpha = 1);
Tensor add(const Tensor& a, Scalar b, Scalar alpha = 1);
Tensor sub(const Tensor& a, const Tensor& b, Scalar alpha = 1);
Tensor sub(const Tensor& a, Scalar b, Scalar alpha = 1);
Tensor rsub(const Tensor& a, Scalar b);  // b - a
Tensor mul(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, Scalar b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, Scalar b);
Tensor rdiv(const Tensor& a, Scalar b);  // b / a
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, Scalar b);
Tensor pow(Scalar a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor remainder(const Tensor& a, const Tensor& b);
Tensor remainder(const Tensor& a, Scalar b);
Tensor floor_divide(const Tensor& a, const Tensor& b);
Tensor floor_divide(const Tensor& a, Scalar b);
Tensor atan2(const Tensor& a, const Tensor& b);

// Comparisons and logical ops: bool results, never differentiable.
Tensor compare(int op, const Tensor& a, const Tensor& b);  // op is a kernels::Binary value
Tensor compare(int op, const Tensor& a, Scalar b);

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi);
Tensor clamp(const Tensor& x, const Tensor& lo, const Tensor& hi);  // tensor bounds (undefined = none)

// In-place forms: bump the version, record history on `self` (errors on leaves that require grad).
Tensor& add_(Tensor& self, const Tensor& other, Scalar alpha = 1);
Tensor& add_(Tensor& self, Scalar other, Scalar alpha = 1);
Tensor& sub_(Tensor& self, const Tensor& other, Scalar alpha = 1);
Tensor& sub_(Tensor& self, Scalar other, Scalar alpha = 1);
Tensor& mul_(Tensor& self, const Tensor& other);
Tensor& mul_(Tensor& self, Scalar other);
Tensor& div_(Tensor& self, const Tensor& other);
Tensor& div_(Tensor& self, Scalar other);
Tensor& pow_(Tensor& self, Scalar other);
Tensor& pow_(Tensor& self, const Tensor& other);
Tensor& clamp_(Tensor& self, std::optional<double> lo, std::optional<double> hi);
Tensor& copy_(Tensor& self, const Tensor& src);
Tensor& fill_(Tensor& self, Scalar value);
Tensor& zero_(Tensor& self);

// Fused gradient ops (single kernel pass); differentiable themselves by composition when recording.
Tensor tanh_backward(const Tensor& grad, const Tensor& y);
Tensor sigmoid_backward(const Tensor& grad, const Tensor& y);
// PyTorch records the backward formulas of piecewise ops (threshold_backward, leaky_relu's,
// nll_loss's) as differentiable in the input they read, with a zero derivative: so under
// create_graph their result requires grad whenever that input does, and differentiating it
// again gives zeros. Attaches that zero-derivative edge to `result` when nothing else did.
Tensor zero_grad_through(const Tensor& result, const autograd::Edge& edge, const Shape& shape, DType dtype,
                         const char* node_name);
// The same for a fused backward (one PyTorch function computing every gradient from grad and the
// saved inputs): under create_graph each gradient it returns requires grad when input `slot` of
// `node` does, linked to it with a zero derivative where the formula does not read it.
void link_fused_grads(autograd::TensorList& grads, const autograd::Node& node, size_t slot, const Shape& shape, DType dtype,
                      const char* node_name);
Tensor threshold_backward(const Tensor& grad, const Tensor& x, double threshold);

}  // namespace cg::ops
