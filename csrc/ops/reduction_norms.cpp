// Reductions with a statistic or norm: var/std, linalg.vector_norm, logsumexp and softmax /
// log_softmax (fused kernels both ways), forward and VJP side by side.
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

// ---- var / std / norm / logsumexp ------------------------------------------------------------
namespace {
Dims dims_of(const std::vector<bool>& mask) {
  Dims dims;
  for (size_t d = 0; d < mask.size(); ++d)
    if (mask[d]) dims.push_back(static_cast<int64_t>(d));
  return dims;
}
int64_t reduced_numel(const Tensor& x, const std::vector<bool>& mask) {
  int64_t n = 1;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (mask[d]) n *= x.shape()[d];
  return n;
}
// mean over the masked dims, kept (an empty dim list reduces every dim).
Tensor mean_keep(const Tensor& x, const std::vector<bool>& mask) {
  Dims dims = dims_of(mask);
  return dims.empty() ? x : mean(x, dims, true);
}
}  // namespace

// d var / dx = 2 (x - mean) / (n - correction); std divides that by 2 std (0 where std == 0).
struct VarBackward0 : BackwardNode<VarBackward0> {
  SavedTensor self_, result_;
  std::vector<bool> mask;
  double correction = 1;
  bool keepdim = false;
  bool is_std = false;
  TensorList apply(TensorList&& g) override {
    Tensor x = self_.unpack(*this);
    Tensor gi = unsqueeze_to(g[0], x.shape(), mask, keepdim);
    if (is_std) {
      Tensor yi = unsqueeze_to(result_.unpack(*this), x.shape(), mask, keepdim);
      Tensor y_zero = compare(static_cast<int>(Binary::Eq), yi, Scalar(0.0));
      gi = where(y_zero, Tensor::zeros({}, gi.dtype()), div(gi, mul(yi, 2.0)));
    }
    const double denom = std::max(0.0, static_cast<double>(reduced_numel(x, mask)) - correction);
    return {mul(gi, mul(sub(x, mean_keep(x, mask)), 2.0 / denom))};
  }
  TensorList jvp(const TensorList& t) override { return {local_jvp(*this, t[0], mask, keepdim)}; }
  std::string name() const override { return is_std ? "StdBackward0" : "VarBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("self", &VarBackward0::self_),
                           saved("result", &VarBackward0::result_),
                           saved("keepdim", &VarBackward0::keepdim));
  }
};

static Tensor var_impl(const Tensor& x, const std::optional<Dims>& dims, double correction, bool keepdim, bool is_std) {
  CG_CHECK(is_floating(x.dtype()), "std and var only support floating point and complex dtypes");
  std::vector<bool> mask = dims && !dims->empty() ? dims_mask(*dims, x.dim()) : std::vector<bool>(x.dim(), true);
  Tensor out;
  {
    autograd::GradModeGuard no_grad(false);
    Tensor centered = sub(x, mean_keep(x, mask));
    Dims ds = dims_of(mask);
    Tensor sq = mul(centered, centered);
    Tensor ss = ds.empty() ? sq : sum(sq, ds, keepdim);
    out = div(ss, std::max(0.0, static_cast<double>(reduced_numel(x, mask)) - correction));
    if (is_std) out = sqrt(out);
  }
  if (any_requires_grad({&x})) {
    auto node = VarBackward0::make({&x});
    node->mask = mask;
    node->correction = correction;
    node->keepdim = keepdim;
    node->is_std = is_std;
    node->self_ = SavedTensor(x, false);
    record(node, out);
    if (is_std) node->result_ = SavedTensor(out, true);
  }
  return out;
}

Tensor var(const Tensor& x, const std::optional<Dims>& dims, double correction, bool keepdim) {
  return var_impl(x, dims, correction, keepdim, false);
}

Tensor std(const Tensor& x, const std::optional<Dims>& dims, double correction, bool keepdim) {
  return var_impl(x, dims, correction, keepdim, true);
}

// linalg.vector_norm: every p (2, 1, inf, -inf, 0, other) records one node named like PyTorch's.
struct LinalgVectorNormBackward0 : BackwardNode<LinalgVectorNormBackward0> {
  SavedTensor self_, result_;
  std::vector<bool> mask;
  bool keepdim = false;
  double p = 2;
  TensorList apply(TensorList&& g) override {
    Tensor x = self_.unpack(*this), y = result_.unpack(*this);
    Tensor gi = unsqueeze_to(g[0], x.shape(), mask, keepdim);
    Tensor yi = unsqueeze_to(y, x.shape(), mask, keepdim);
    Tensor zero = Tensor::zeros({}, x.dtype());
    if (p == 0) return {Tensor::zeros(x.shape(), x.dtype())};
    if (std::isinf(p)) {
      // The gradient goes to the elements attaining the extreme |x|, split evenly among ties.
      Tensor hit = to_dtype(compare(static_cast<int>(Binary::Eq), abs(x), yi), x.dtype());
      Dims dims = dims_of(mask);
      Tensor count = dims.empty() ? hit : sum(hit, dims, true);
      return {mul(sign(x), div(mul(gi, hit), count))};
    }
    if (p == 1) return {mul(gi, sign(x))};
    Tensor y_zero = compare(static_cast<int>(Binary::Eq), yi, Scalar(0.0));
    Tensor safe_y = where(y_zero, Tensor::full({}, 1, x.dtype()), yi);
    Tensor local = p == 2 ? div(x, safe_y)
                          : div(mul(sign(x), pow(abs(x), Scalar(p - 1))), pow(safe_y, Scalar(p - 1)));
    return {where(y_zero, zero, mul(gi, local))};
  }
  TensorList jvp(const TensorList& t) override { return {local_jvp(*this, t[0], mask, keepdim)}; }
  std::string name() const override { return "LinalgVectorNormBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("self", &LinalgVectorNormBackward0::self_),
                           saved("result", &LinalgVectorNormBackward0::result_),
                           saved("ord", &LinalgVectorNormBackward0::p),
                           saved("keepdim", &LinalgVectorNormBackward0::keepdim));
  }
};

Tensor norm(const Tensor& x, double p, const std::optional<Dims>& dims, bool keepdim) {
  CG_CHECK(is_floating(x.dtype()), "linalg.vector_norm: Expected a floating point or complex tensor as input. Got ",
           x.dtype() == DType::Bool ? "Bool" : "Long");
  Dims ds = dims && !dims->empty() ? *dims : all_dims(x);
  std::vector<bool> mask = dims_mask(ds, x.dim());
  if ((p < 0 || std::isinf(p)) && x.numel() == 0) {  // max/min/negative powers have no identity
    std::string ord = std::isinf(p) ? (p > 0 ? "inf" : "-inf") : msg(p);
    CG_CHECK(dims && !dims->empty(), "linalg.vector_norm cannot compute the ", ord,
             " norm on an empty tensor because the operation does not have an identity");
    for (int64_t d = 0; d < x.dim(); ++d)
      CG_CHECK(!mask[d] || x.shape()[d] > 0, "linalg.vector_norm cannot compute the ", ord, " norm on the dimension ",
               d, "because this dimension is empty and the operation does not have an identity");
  }
  Tensor out;
  {
    autograd::GradModeGuard no_grad(false);
    Tensor ax = abs(x);
    if (ds.empty()) out = p == 0 ? to_dtype(compare(static_cast<int>(Binary::Ne), x, Scalar(0.0)), x.dtype()) : ax;
    else if (std::isinf(p)) out = p > 0 ? amax(ax, ds, keepdim) : amin(ax, ds, keepdim);
    else if (p == 0) out = sum(to_dtype(compare(static_cast<int>(Binary::Ne), x, Scalar(0.0)), x.dtype()), ds, keepdim);
    else if (p == 2) out = sqrt(sum(mul(ax, ax), ds, keepdim));
    else if (p == 1) out = sum(ax, ds, keepdim);
    else out = pow(sum(pow(ax, Scalar(p)), ds, keepdim), Scalar(1.0 / p));
  }
  if (any_requires_grad({&x})) {
    auto node = LinalgVectorNormBackward0::make({&x});
    node->mask = mask;
    node->keepdim = keepdim;
    node->p = p;
    node->self_ = SavedTensor(x, false);
    record(node, out);
    node->result_ = SavedTensor(out, true);
  }
  return out;
}

// d logsumexp / dx = exp(x - result).
struct LogsumexpBackward0 : BackwardNode<LogsumexpBackward0> {
  SavedTensor self_, result_;
  std::vector<bool> mask;
  bool keepdim = false;
  TensorList apply(TensorList&& g) override {
    Tensor x = self_.unpack(*this);
    Tensor gi = unsqueeze_to(g[0], x.shape(), mask, keepdim);
    Tensor yi = unsqueeze_to(result_.unpack(*this), x.shape(), mask, keepdim);
    return {mul(gi, exp(sub(x, yi)))};
  }
  TensorList jvp(const TensorList& t) override { return {local_jvp(*this, t[0], mask, keepdim)}; }
  std::string name() const override { return "LogsumexpBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("self", &LogsumexpBackward0::self_),
                           saved("result", &LogsumexpBackward0::result_),
                           saved("keepdim", &LogsumexpBackward0::keepdim));
  }
};

Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim) {
  Dims ds = dims.empty() ? all_dims(x) : dims;
  std::vector<bool> mask = dims_mask(ds, x.dim());
  Tensor xf = is_floating(x.dtype()) ? x : to_dtype(x, DType::Float32);
  Tensor out;
  {
    autograd::GradModeGuard no_grad(false);
    Tensor m = xf.numel() ? amax(xf, ds, true) : Tensor::zeros({}, xf.dtype());  // empty: log(0) = -inf
    Tensor finite_m = where(unary(kernels::Unary::IsInf, m), Tensor::zeros({}, m.dtype()), m);
    out = add(log(sum(exp(sub(xf, finite_m)), ds, true)), finite_m);
    if (!keepdim) out = squeeze(out, ds);
  }
  if (any_requires_grad({&xf})) {
    auto node = LogsumexpBackward0::make({&xf});
    node->mask = mask;
    node->keepdim = keepdim;
    node->self_ = SavedTensor(xf, false);
    record(node, out);
    node->result_ = SavedTensor(out, true);
  }
  return out;
}

// ---- softmax / log_softmax (fused kernels both ways) ------------------------------------------
struct SoftmaxBackward : BackwardNode<SoftmaxBackward> {
  SavedTensor result_;
  int64_t dim = 0;
  bool log = false;
  TensorList apply(TensorList&& g) override {
    Tensor y = result_.unpack(*this);
    if (any_requires_grad({&g[0], &y})) {
      // Composed form so that higher-order gradients exist.
      if (log) return {sub(g[0], mul(exp(y), sum(g[0], {dim}, true)))};
      return {mul(y, sub(g[0], sum(mul(g[0], y), {dim}, true)))};
    }
    Tensor out = Tensor::empty(y.shape(), y.dtype());
    kernels::softmax_backward(contiguous(g[0]), y, dim, log, out);
    return {out};
  }
  // softmax: y * (t - <y, t>); log_softmax: t - <softmax, t> (along dim).
  TensorList jvp(const TensorList& t) override {
    Tensor y = result_.unpack(*this);
    if (log) return {sub(t[0], sum(mul(exp(y), t[0]), {dim}, true))};
    return {mul(y, sub(t[0], sum(mul(t[0], y), {dim}, true)))};
  }
  std::string name() const override { return log ? "LogSoftmaxBackward0" : "SoftmaxBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("result", &SoftmaxBackward::result_),
                           saved("dim", &SoftmaxBackward::dim));
  }
};

static Tensor softmax_impl(const Tensor& x, int64_t dim, bool log) {
  int64_t d = x.dim() ? wrap_dim(dim, x.dim()) : (wrap_dim(dim, 1), 0);  // 0-d: dim in [-1, 0]
  if (!is_floating(x.dtype()))  // PyTorch: integer inputs need an explicit dtype= (cast before)
    throw_not_implemented(log ? "log_softmax_lastdim_kernel_impl" : "softmax_lastdim_kernel_impl", x.dtype());
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  if (x.numel() > 0) kernels::softmax(x, d, log, out);
  if (any_requires_grad({&x})) {
    auto node = SoftmaxBackward::make({&x});
    node->dim = d;
    node->log = log;
    record(node, out);
    node->result_ = SavedTensor(out, true);
  }
  return out;
}

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, true); }

}  // namespace cg::ops
