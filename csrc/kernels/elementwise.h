// Elementwise kernels over strided buffers. Callers allocate `out` (of the broadcast shape) and
// pass inputs already in the compute dtype; these functions only compute. Integer division by
// zero (//, %, fmod, div) raises ZeroDivisionError before anything is written.
#pragma once
#include <optional>

#include "core/tensor.h"
#include "kernels/binary_ops.h"
#include "kernels/unary_ops.h"

namespace cg::kernels {

// The unary ops, in the order of their table (kernels/unary_ops.h).
enum class Unary {
#define CG_UNARY_ENUM(Name, ...) Name,
  CG_UNARY_OPS(CG_UNARY_ENUM)
#undef CG_UNARY_ENUM
};
// The binary ops, in the order of their table (kernels/binary_ops.h).
enum class Binary {
#define CG_BINARY_ENUM(Name, ...) Name,
  CG_BINARY_OPS(CG_BINARY_ENUM)
#undef CG_BINARY_ENUM
};

bool is_comparison(Binary op);  // result is bool
const char* unary_name(Unary op);
const char* binary_name(Binary op);

void unary(Unary op, const Tensor& x, const Tensor& out);
// op's element function on one number (not the predicates): the same code unary() runs on a 0-d
// tensor of that type, so the same bits (the 0-d derivatives of ops/unary.cpp use it).
float unary_value(Unary op, float v);
double unary_value(Unary op, double v);
void binary(Binary op, const Tensor& a, const Tensor& b, const Tensor& out);
// a (op) s, or s (op) a when `scalar_first`; `s` is converted to a's dtype.
void binary_scalar(Binary op, const Tensor& a, Scalar s, const Tensor& out, bool scalar_first = false);
// out = a + alpha * b (one pass; the engine's gradient accumulation and axpy-style updates use it).
void add_scaled(const Tensor& a, const Tensor& b, double alpha, const Tensor& out);

void copy(const Tensor& dst, const Tensor& src);  // broadcasts src to dst, converts dtype
void fill(const Tensor& dst, Scalar value);
void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out);
void clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi, const Tensor& out);
void leaky_relu(const Tensor& x, double slope, const Tensor& out);
void elu(const Tensor& x, double alpha, const Tensor& out);

// Fused gradient kernels: one pass instead of a chain of temporaries.
void tanh_backward(const Tensor& grad, const Tensor& y, const Tensor& out);      // g * (1 - y^2)
void sigmoid_backward(const Tensor& grad, const Tensor& y, const Tensor& out);   // g * y * (1 - y)
void threshold_backward(const Tensor& grad, const Tensor& x, double threshold, const Tensor& out);  // x > t ? g : 0
// The backward of those two with respect to y (gg: the gradient of their result, g: their grad):
// float32/float64 operands of one dtype, broadcast to out.
void tanh_backward_backward(const Tensor& gg, const Tensor& grad, const Tensor& y, const Tensor& out);     // gg * (-2 y * g)
void sigmoid_backward_backward(const Tensor& gg, const Tensor& grad, const Tensor& y, const Tensor& out);  // gg * (g * (1 - 2 y))
// grad_a = grad * b, grad_b = grad * a: both gradients of a product in one pass over grad.
// Float32/float64 operands of one dtype; the inputs broadcast to the outputs' shape.
void mul_backward(const Tensor& grad, const Tensor& a, const Tensor& b, const Tensor& grad_a, const Tensor& grad_b);

}  // namespace cg::kernels
