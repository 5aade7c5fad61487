// Cumulative reductions (cumsum, cumprod) and their VJPs.
#include "ops/reduction.h"

#include <cmath>
#include <limits>

#include "ops/common.h"
#include "ops/ops.h"
#include "ops/reduction_internal.h"

namespace cg::ops {

using namespace reduction;
using autograd::any_requires_grad;
using kernels::Binary;

// ---- cumsum / cumprod ------------------------------------------------------------------------
struct CumsumBackward0 : BackwardNode<CumsumBackward0> {
  int64_t dim = 0;
  TensorList apply(TensorList&& g) override { return {flip(cumsum(flip(g[0], {dim}), dim), {dim})}; }
  TensorList jvp(const TensorList& t) override { return {cumsum(t[0], dim)}; }
  std::string name() const override { return "CumsumBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("dim", &CumsumBackward0::dim));
  }
};

Tensor cumsum(const Tensor& x, int64_t dim) {
  int64_t d = wrap_dim(dim, x.dim());
  DType dt = sum_dtype(x, std::nullopt);
  Tensor in = cast_data(x, dt);
  Tensor out = Tensor::empty(x.shape(), dt);
  kernels::scan(kernels::Scan::Sum, in, d, out);
  if (any_requires_grad({&x})) {
    auto node = CumsumBackward0::make({&x});
    node->dim = d;
    record(node, out);
  }
  return out;
}

// dx_k = sum_{j >= k} g_j prod_{i <= j, i != k} x_i. Without zeros that is
// revcumsum(g * y) / x; with zeros, the products are formed explicitly (an n x n pass).
struct CumprodBackward0 : BackwardNode<CumprodBackward0> {
  SavedTensor self_, result_;
  int64_t dim = 0;
  TensorList apply(TensorList&& g) override {
    Tensor x = self_.unpack(*this), y = result_.unpack(*this);
    if (x.dim() == 0) return {g[0]};
    bool has_zero = any(compare(static_cast<int>(Binary::Eq), x, Scalar(0.0)), std::nullopt, false).item_double() != 0;
    if (!has_zero) return {div(flip(cumsum(flip(mul(g[0], y), {dim}), dim), {dim}), x)};
    const int64_t n = x.shape()[dim];
    Tensor xm = unsqueeze(transpose(x, dim, -1), -2);           // [..., 1, n]: x_i
    Shape sq = xm.shape();
    sq[sq.size() - 2] = n;                                         // [..., n (k), n (i)]
    Tensor diag = eye(n, n, DType::Bool);
    Tensor others = where(diag, Tensor::full({}, 1, x.dtype()), expand(xm, sq));  // x_i, 1 at i == k
    Tensor prods = cumprod(others, -1);                            // prod_{i <= j, i != k} x_i
    Tensor upper = compare(static_cast<int>(Binary::Ge), arange(0, static_cast<double>(n), 1, DType::Int64),
                           reshape(arange(0, static_cast<double>(n), 1, DType::Int64), {n, 1}));  // j >= k
    Tensor gj = unsqueeze(transpose(g[0], dim, -1), -2);
    Tensor terms = where(upper, mul(gj, prods), Tensor::zeros({}, x.dtype()));
    return {transpose(sum(terms, {-1}, false), dim, -1)};
  }
  // t_y_j = sum_{k <= j} (d y_j / d x_k) t_k: y cumsum(t / x) without zeros, else the VJP's products.
  TensorList jvp(const TensorList& t) override {
    Tensor x = self_.unpack(*this), y = result_.unpack(*this);
    if (x.dim() == 0) return {t[0]};
    bool has_zero = any(compare(static_cast<int>(Binary::Eq), x, Scalar(0.0)), std::nullopt, false).item_double() != 0;
    if (!has_zero) return {mul(y, cumsum(div(t[0], x), dim))};
    const int64_t n = x.shape()[dim];
    Tensor xm = unsqueeze(transpose(x, dim, -1), -2);
    Shape sq = xm.shape();
    sq[sq.size() - 2] = n;
    Tensor others = where(eye(n, n, DType::Bool), Tensor::full({}, 1, x.dtype()), expand(xm, sq));
    Tensor prods = cumprod(others, -1);                            // [..., k, j]: d y_j / d x_k for j >= k
    Tensor upper = compare(static_cast<int>(Binary::Ge), arange(0, static_cast<double>(n), 1, DType::Int64),
                           reshape(arange(0, static_cast<double>(n), 1, DType::Int64), {n, 1}));
    Tensor tk = unsqueeze(transpose(t[0], dim, -1), -1);          // [..., k, 1]
    Tensor terms = where(upper, mul(tk, prods), Tensor::zeros({}, x.dtype()));
    return {transpose(sum(terms, {-2}, false), dim, -1)};
  }
  std::string name() const override { return "CumprodBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("self", &CumprodBackward0::self_),
                           saved("result", &CumprodBackward0::result_),
                           saved("dim", &CumprodBackward0::dim));
  }
};

Tensor cumprod(const Tensor& x, int64_t dim) {
  int64_t d = wrap_dim(dim, x.dim());
  DType dt = sum_dtype(x, std::nullopt);
  Tensor in = cast_data(x, dt);
  Tensor out = Tensor::empty(x.shape(), dt);
  kernels::scan(kernels::Scan::Prod, in, d, out);
  if (any_requires_grad({&x})) {
    auto node = CumprodBackward0::make({&x});
    node->dim = d;
    node->self_ = SavedTensor(x, false);
    record(node, out);
    node->result_ = SavedTensor(out, true);
  }
  return out;
}

}  // namespace cg::ops
