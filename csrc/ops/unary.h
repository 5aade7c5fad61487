// Elementwise math and activations.
#pragma once
#include <string>

#include "core/tensor.h"
#include "kernels/elementwise.h"

namespace cg::ops {

// Every pointwise op of the table kernels/unary_ops.h, with its VJP (vjp_<Name> in unary.cpp).
Tensor unary(kernels::Unary op, const Tensor& x);
Tensor& unary_(kernels::Unary op, Tensor& x);
// Forward mode: the op's JVP rule, the output's tangent from the input's tangent, the input x
// and the output y; nullptr while the op has none (jvp_of<Unary::Name> in unary.cpp).
using UnaryJvp = Tensor (*)(const Tensor& tangent, const Tensor& x, const Tensor& y);
UnaryJvp unary_jvp(kernels::Unary op);

Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor sign(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double slope);
Tensor elu(const Tensor& x, double alpha);
Tensor gelu(const Tensor& x);
Tensor gelu(const Tensor& x, const std::string& approximate);  // "none" or "tanh"
Tensor silu(const Tensor& x);
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);

}  // namespace cg::ops
