// Matrix products (through BLAS) and small linear-algebra helpers.
#pragma once
#include <optional>

#include "core/tensor.h"

namespace cg::ops {

Tensor mm(const Tensor& a, const Tensor& b);
Tensor bmm(const Tensor& a, const Tensor& b);
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor dot(const Tensor& a, const Tensor& b);
Tensor mv(const Tensor& a, const Tensor& v);
Tensor outer(const Tensor& a, const Tensor& b);
Tensor trace(const Tensor& x);
// y = x @ w^T + b (nn.functional.linear) in one node.
Tensor linear(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b);

}  // namespace cg::ops
