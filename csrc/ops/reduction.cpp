// Reductions with their VJPs. A reduction's gradient is the incoming gradient broadcast back
// over the reduced dims (unsqueezed when keepdim was false), times the op's local derivative.
#include "ops/reduction.h"

#include <cmath>
#include <limits>

#include "kernels/reduce.h"
#include "ops/common.h"
#include "ops/ops.h"

namespace cg::ops {

using autograd::any_requires_grad;
using autograd::make_grad_node;
using autograd::set_history;
using kernels::Binary;
using kernels::Reduce;

namespace {

Dims all_dims(const Tensor& x) {
  Dims d(x.dim());
  for (int64_t i = 0; i < x.dim(); ++i) d[i] = i;
  return d;
}

Shape keepdim_shape(const Tensor& x, const std::vector<bool>& mask) {
  Shape s = x.shape();
  for (int64_t d = 0; d < x.dim(); ++d)
    if (mask[d]) s[d] = 1;
  return s;
}

Shape drop_dims(const Shape& shape, const std::vector<bool>& mask) {
  Shape s;
  for (size_t d = 0; d < shape.size(); ++d)
    if (!mask[d]) s.push_back(shape[d]);
  return s;
}

// Runs the reduction kernel and returns the result in keepdim or squeezed form.
Tensor reduce_data(Reduce op, const Tensor& x, const std::vector<bool>& mask, bool keepdim, DType out_dtype) {
  Tensor in = cast_data(x, out_dtype == DType::Bool ? x.dtype() : out_dtype);
  Tensor out = Tensor::empty(keepdim_shape(x, mask), out_dtype);
  kernels::reduce(op, in, mask, out);
  if (keepdim) return out;
  Shape s = drop_dims(x.shape(), mask);
  return out.as_strided(s, contiguous_strides(s), 0);
}

// Brings a reduced gradient back to keepdim form so it broadcasts against the input.
Tensor unsqueeze_to(const Tensor& g, const Shape& input_shape, const std::vector<bool>& mask, bool keepdim) {
  if (keepdim || input_shape.empty()) return g;
  return reshape(g, [&] {
    Shape s = input_shape;
    for (size_t d = 0; d < s.size(); ++d)
      if (mask[d]) s[d] = 1;
    return s;
  }());
}

DType sum_dtype(const Tensor& x, std::optional<DType> dtype) {
  if (dtype) return *dtype;
  return is_floating(x.dtype()) ? x.dtype() : DType::Int64;
}

}  // namespace

// ---- sum / mean ------------------------------------------------------------------------------
struct SumBackward : Node {
  Shape input_shape;
  DType input_dtype = DType::Float32;
  std::vector<bool> mask;
  bool keepdim = false;
  double scale = 1.0;  // 1/n for mean
  const char* node_name = "SumBackward0";
  TensorList apply(TensorList&& g) override {
    Tensor gi = unsqueeze_to(g[0], input_shape, mask, keepdim);
    if (scale != 1.0) gi = mul(gi, scale);
    Tensor e = expand(gi, input_shape);
    return {e.dtype() == input_dtype ? e : to_dtype(e, input_dtype)};
  }
  TensorList jvp(const TensorList& t) override {  // the same (linear) reduction of the tangent
    Dims dims;
    for (size_t d = 0; d < mask.size(); ++d)
      if (mask[d]) dims.push_back(static_cast<int64_t>(d));
    Tensor s = dims.empty() ? t[0] : sum(t[0], dims, keepdim);
    return {scale != 1.0 ? mul(s, scale) : s};
  }
  std::string name() const override { return node_name; }
};

static Tensor sum_impl(const Tensor& x, const std::vector<bool>& mask, bool keepdim, DType dt, double scale,
                       const char* name) {
  Tensor out = reduce_data(Reduce::Sum, x, mask, keepdim, dt);
  if (scale != 1.0) kernels::binary_scalar(Binary::Mul, out, scale, out);
  if (is_floating(dt) && any_requires_grad({&x})) {
    auto node = make_grad_node<SumBackward>({&x});
    node->input_shape = x.shape();
    node->input_dtype = x.dtype();
    node->mask = mask;
    node->keepdim = keepdim;
    node->scale = scale;
    node->node_name = name;
    set_history(out, node);
  }
  return out;
}

Tensor sum(const Tensor& x, std::optional<DType> dtype) {
  return sum_impl(x, std::vector<bool>(x.dim(), true), false, sum_dtype(x, dtype), 1.0, "SumBackward0");
}

Tensor sum(const Tensor& x, const Dims& dims, bool keepdim, std::optional<DType> dtype) {
  std::vector<bool> mask = dims.empty() ? std::vector<bool>(x.dim(), true) : dims_mask(dims, x.dim());
  return sum_impl(x, mask, keepdim, sum_dtype(x, dtype), 1.0, "SumBackward1");
}

static void check_mean_dtype(const Tensor& x) {
  if (!is_floating(x.dtype()))
    throw RuntimeError(::cg::msg("mean(): could not infer output dtype. Input dtype must be either a floating point or "
                           "complex dtype. Got: ", x.dtype() == DType::Bool ? "Bool" : "Long"));
}

Tensor mean(const Tensor& x) {
  check_mean_dtype(x);
  const double n = static_cast<double>(x.numel());
  return sum_impl(x, std::vector<bool>(x.dim(), true), false, x.dtype(), n == 0 ? NAN : 1.0 / n, "MeanBackward0");
}

Tensor mean(const Tensor& x, const Dims& dims, bool keepdim) {
  check_mean_dtype(x);
  std::vector<bool> mask = dims.empty() ? std::vector<bool>(x.dim(), true) : dims_mask(dims, x.dim());
  int64_t n = 1;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (mask[d]) n *= x.shape()[d];
  return sum_impl(x, mask, keepdim, x.dtype(), n == 0 ? NAN : 1.0 / static_cast<double>(n), "MeanBackward1");
}

// ---- prod ------------------------------------------------------------------------------------
// d prod / d x_i = prod / x_i without zeros; with zeros, the product of the elements before i
// times the product of those after it (exclusive cumulative products), which stays differentiable.
struct ProdBackward : Node {
  SavedTensor self_, result_;
  std::vector<bool> mask;
  bool keepdim = false;
  const char* node_name = "ProdBackward0";
  TensorList apply(TensorList&& g) override {
    Tensor x = self_.unpack(*this), y = result_.unpack(*this);
    Tensor gi = unsqueeze_to(g[0], x.shape(), mask, keepdim);
    Tensor yi = unsqueeze_to(y, x.shape(), mask, keepdim);
    bool has_zero = any(compare(static_cast<int>(Binary::Eq), x, Scalar(0.0)), std::nullopt, false).item_double() != 0;
    if (!has_zero) return {mul(gi, div(yi, x))};
    int64_t dim = -1;
    for (size_t d = 0; d < mask.size(); ++d)
      if (mask[d] && x.shape()[d] != 1) dim = dim == -1 ? static_cast<int64_t>(d) : -2;
    if (dim == -1) return {gi};  // every reduced dim has size 1: prod is x itself
    if (dim == -2) return {mul(gi, reshape(exclusive_products(reshape(x, {-1}), 0), x.shape()))};
    return {mul(gi, exclusive_products(x, dim))};
  }
  // prod_{j < i} x_j * prod_{j > i} x_j along dim.
  static Tensor exclusive_products(const Tensor& x, int64_t dim) {
    const int64_t n = x.shape()[dim];
    Shape ones_shape = x.shape();
    ones_shape[dim] = 1;
    Tensor ones = Tensor::full(ones_shape, 1, x.dtype());
    Tensor before = cumprod(cat({ones, narrow(x, dim, 0, n - 1)}, dim), dim);
    Tensor after = flip(cumprod(cat({ones, flip(narrow(x, dim, 1, n - 1), {dim})}, dim), dim), {dim});
    return mul(before, after);
  }
  void release_saved() override { self_.release(); result_.release(); }
  std::string name() const override { return node_name; }
};

static Tensor prod_impl(const Tensor& x, const std::vector<bool>& mask, bool keepdim, const char* name) {
  DType dt = sum_dtype(x, std::nullopt);
  Tensor out = reduce_data(Reduce::Prod, x, mask, keepdim, dt);
  if (is_floating(dt) && any_requires_grad({&x})) {
    auto node = make_grad_node<ProdBackward>({&x});
    node->mask = mask;
    node->keepdim = keepdim;
    node->node_name = name;
    node->self_ = SavedTensor(x, false);
    set_history(out, node);
    node->result_ = SavedTensor(out, true);
  }
  return out;
}

Tensor prod(const Tensor& x) { return prod_impl(x, std::vector<bool>(x.dim(), true), false, "ProdBackward0"); }
Tensor prod(const Tensor& x, int64_t dim, bool keepdim) {
  return prod_impl(x, dims_mask({dim}, x.dim()), keepdim, "ProdBackward1");
}

// ---- amax / amin / max / min -----------------------------------------------------------------
// Gradient goes to every element equal to the extreme, split evenly among ties (amax/amin and
// whole-tensor max/min); max/min over a dim with indices send it to the returned index.
struct AmaxBackward : Node {
  SavedTensor self_, result_;
  std::vector<bool> mask;
  bool keepdim = false;
  const char* node_name = "AmaxBackward0";
  TensorList apply(TensorList&& g) override {
    Tensor x = self_.unpack(*this), y = result_.unpack(*this);
    Tensor gi = unsqueeze_to(g[0], x.shape(), mask, keepdim);
    Tensor yi = unsqueeze_to(y, x.shape(), mask, keepdim);
    Tensor hit = to_dtype(compare(static_cast<int>(Binary::Eq), x, yi), x.dtype());
    Dims dims;
    for (size_t d = 0; d < mask.size(); ++d)
      if (mask[d]) dims.push_back(static_cast<int64_t>(d));
    Tensor count = dims.empty() ? hit : sum(hit, dims, true);
    return {div(mul(gi, hit), count)};
  }
  void release_saved() override { self_.release(); result_.release(); }
  std::string name() const override { return node_name; }
};

// `op` names the public function in errors; `dims_given` is false when every dim is reduced by
// default (PyTorch then asks for a dim on empty input instead of naming an empty one).
static Tensor amax_impl(const Tensor& x, const std::vector<bool>& mask, bool keepdim, bool is_max, const char* name,
                        const char* op, bool dims_given) {
  CG_CHECK(x.numel() > 0 || dims_given, op,
           "(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument.");
  for (int64_t d = 0; d < x.dim(); ++d)
    CG_CHECK_INDEX(!mask[d] || x.shape()[d] > 0, op, "(): Expected reduction dim ", d, " to have non-zero size.");
  // Bool max/min are any/all (PyTorch accepts bool here; bool never requires grad).
  Reduce r = x.dtype() == DType::Bool ? (is_max ? Reduce::Any : Reduce::All) : (is_max ? Reduce::Max : Reduce::Min);
  Tensor out = reduce_data(r, x, mask, keepdim, x.dtype());
  if (any_requires_grad({&x})) {
    auto node = make_grad_node<AmaxBackward>({&x});
    node->mask = mask;
    node->keepdim = keepdim;
    node->node_name = name;
    node->self_ = SavedTensor(x, false);
    set_history(out, node);
    node->result_ = SavedTensor(out, true);
  }
  return out;
}

Tensor amax(const Tensor& x, const Dims& dims, bool keepdim) {
  return amax_impl(x, dims.empty() ? std::vector<bool>(x.dim(), true) : dims_mask(dims, x.dim()), keepdim, true,
                   "AmaxBackward0", "amax", !dims.empty());
}
Tensor amin(const Tensor& x, const Dims& dims, bool keepdim) {
  return amax_impl(x, dims.empty() ? std::vector<bool>(x.dim(), true) : dims_mask(dims, x.dim()), keepdim, false,
                   "AminBackward0", "amin", !dims.empty());
}
Tensor max(const Tensor& x) {
  return amax_impl(x, std::vector<bool>(x.dim(), true), false, true, "MaxBackward1", "max", false);
}
Tensor min(const Tensor& x) {
  return amax_impl(x, std::vector<bool>(x.dim(), true), false, false, "MinBackward1", "min", false);
}

struct MaxDimBackward : Node {
  SavedTensor indices_;
  Shape input_shape;
  int64_t dim = 0;
  bool keepdim = false;
  const char* node_name = "MaxBackward0";
  TensorList apply(TensorList&& g) override {
    Tensor idx = indices_.unpack(*this);
    Tensor gi = g[0], ii = idx;
    if (!keepdim && !input_shape.empty()) {
      gi = unsqueeze(gi, dim);
      ii = unsqueeze(ii, dim);
    }
    Tensor zeros = Tensor::zeros(input_shape, g[0].dtype());
    return {scatter_add(zeros, dim, ii, gi)};
  }
  void release_saved() override { indices_.release(); }
  std::string name() const override { return node_name; }
};

static std::tuple<Tensor, Tensor> max_dim(const Tensor& x, int64_t dim, bool keepdim, bool is_max) {
  if (x.dtype() == DType::Bool) {  // through int64: the index kernel has no bool case; bool never requires grad
    auto [values, indices] = max_dim(cast_data(x, DType::Int64), dim, keepdim, is_max);
    return {cast_data(values, DType::Bool), indices};
  }
  int64_t d = wrap_dim(dim, x.dim());
  Shape ks = x.shape();
  if (x.dim()) ks[d] = 1;
  Tensor values = Tensor::empty(ks, x.dtype());
  Tensor indices = Tensor::empty(ks, DType::Int64);
  kernels::arg_reduce(is_max, x, d, values, indices);
  if (!keepdim && x.dim()) {
    Shape s = x.shape();
    s.erase(s.begin() + d);
    values = values.as_strided(s, contiguous_strides(s), 0);
    indices = indices.as_strided(s, contiguous_strides(s), 0);
  }
  if (any_requires_grad({&x})) {
    auto node = make_grad_node<MaxDimBackward>({&x});
    node->input_shape = x.shape();
    node->dim = d;
    node->keepdim = keepdim;
    node->node_name = is_max ? "MaxBackward0" : "MinBackward0";
    node->indices_ = SavedTensor(indices, false);
    set_history(values, node);
  }
  return {values, indices};
}

std::tuple<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) { return max_dim(x, dim, keepdim, true); }
std::tuple<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) { return max_dim(x, dim, keepdim, false); }

static Tensor arg_impl(const Tensor& x, std::optional<int64_t> dim, bool keepdim, bool is_max) {
  CG_CHECK(x.dtype() != DType::Bool, is_max ? "argmax" : "argmin", "(): does not support bool input");
  if (!dim) {
    Tensor flat = reshape(autograd::detach(x), {-1});
    CG_CHECK(flat.numel() > 0, is_max ? "argmax" : "argmin", "(): Expected reduction dim to be specified for input.numel() == 0.");
    Tensor idx = std::get<1>(max_dim(flat, 0, false, is_max));
    if (keepdim) return reshape(idx, Shape(x.dim(), 1));
    return idx;
  }
  return std::get<1>(max_dim(autograd::detach(x), *dim, keepdim, is_max));
}
Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim) { return arg_impl(x, dim, keepdim, true); }
Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim) { return arg_impl(x, dim, keepdim, false); }

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
struct VarBackward0 : Node {
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
  void release_saved() override { self_.release(); result_.release(); }
  std::string name() const override { return is_std ? "StdBackward0" : "VarBackward0"; }
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
    auto node = make_grad_node<VarBackward0>({&x});
    node->mask = mask;
    node->correction = correction;
    node->keepdim = keepdim;
    node->is_std = is_std;
    node->self_ = SavedTensor(x, false);
    set_history(out, node);
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
struct LinalgVectorNormBackward0 : Node {
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
  void release_saved() override { self_.release(); result_.release(); }
  std::string name() const override { return "LinalgVectorNormBackward0"; }
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
    auto node = make_grad_node<LinalgVectorNormBackward0>({&x});
    node->mask = mask;
    node->keepdim = keepdim;
    node->p = p;
    node->self_ = SavedTensor(x, false);
    set_history(out, node);
    node->result_ = SavedTensor(out, true);
  }
  return out;
}

// d logsumexp / dx = exp(x - result).
struct LogsumexpBackward0 : Node {
  SavedTensor self_, result_;
  std::vector<bool> mask;
  bool keepdim = false;
  TensorList apply(TensorList&& g) override {
    Tensor x = self_.unpack(*this);
    Tensor gi = unsqueeze_to(g[0], x.shape(), mask, keepdim);
    Tensor yi = unsqueeze_to(result_.unpack(*this), x.shape(), mask, keepdim);
    return {mul(gi, exp(sub(x, yi)))};
  }
  void release_saved() override { self_.release(); result_.release(); }
  std::string name() const override { return "LogsumexpBackward0"; }
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
    auto node = make_grad_node<LogsumexpBackward0>({&xf});
    node->mask = mask;
    node->keepdim = keepdim;
    node->self_ = SavedTensor(xf, false);
    set_history(out, node);
    node->result_ = SavedTensor(out, true);
  }
  return out;
}

// ---- cumsum / cumprod ------------------------------------------------------------------------
struct CumsumBackward0 : Node {
  int64_t dim = 0;
  TensorList apply(TensorList&& g) override { return {flip(cumsum(flip(g[0], {dim}), dim), {dim})}; }
  TensorList jvp(const TensorList& t) override { return {cumsum(t[0], dim)}; }
  std::string name() const override { return "CumsumBackward0"; }
};

Tensor cumsum(const Tensor& x, int64_t dim) {
  int64_t d = wrap_dim(dim, x.dim());
  DType dt = sum_dtype(x, std::nullopt);
  Tensor in = cast_data(x, dt);
  Tensor out = Tensor::empty(x.shape(), dt);
  kernels::scan(kernels::Scan::Sum, in, d, out);
  if (any_requires_grad({&x})) {
    auto node = make_grad_node<CumsumBackward0>({&x});
    node->dim = d;
    set_history(out, node);
  }
  return out;
}

// dx_k = sum_{j >= k} g_j prod_{i <= j, i != k} x_i. Without zeros that is
// revcumsum(g * y) / x; with zeros, the products are formed explicitly (an n x n pass).
struct CumprodBackward0 : Node {
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
  void release_saved() override { self_.release(); result_.release(); }
  std::string name() const override { return "CumprodBackward0"; }
};

Tensor cumprod(const Tensor& x, int64_t dim) {
  int64_t d = wrap_dim(dim, x.dim());
  DType dt = sum_dtype(x, std::nullopt);
  Tensor in = cast_data(x, dt);
  Tensor out = Tensor::empty(x.shape(), dt);
  kernels::scan(kernels::Scan::Prod, in, d, out);
  if (any_requires_grad({&x})) {
    auto node = make_grad_node<CumprodBackward0>({&x});
    node->dim = d;
    node->self_ = SavedTensor(x, false);
    set_history(out, node);
    node->result_ = SavedTensor(out, true);
  }
  return out;
}

// ---- softmax / log_softmax (fused kernels both ways) ------------------------------------------
struct SoftmaxBackward : Node {
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
  void release_saved() override { result_.release(); }
  std::vector<std::pair<std::string, Tensor>> saved_tensors_for_inspection() override {
    return {{"result", result_.unpack(*this)}};
  }
  std::string name() const override { return log ? "LogSoftmaxBackward0" : "SoftmaxBackward0"; }
};

static Tensor softmax_impl(const Tensor& x, int64_t dim, bool log) {
  int64_t d = x.dim() ? wrap_dim(dim, x.dim()) : (wrap_dim(dim, 1), 0);  // 0-d: dim in [-1, 0]
  if (!is_floating(x.dtype()))  // PyTorch: integer inputs need an explicit dtype= (cast before)
    throw_not_implemented(log ? "log_softmax_lastdim_kernel_impl" : "softmax_lastdim_kernel_impl", x.dtype());
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  if (x.numel() > 0) kernels::softmax(x, d, log, out);
  if (any_requires_grad({&x})) {
    auto node = make_grad_node<SoftmaxBackward>({&x});
    node->dim = d;
    node->log = log;
    set_history(out, node);
    node->result_ = SavedTensor(out, true);
  }
  return out;
}

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, true); }

// ---- any / all -------------------------------------------------------------------------------
Tensor any(const Tensor& x, const std::optional<Dims>& dims, bool keepdim) {
  std::vector<bool> mask = dims && !dims->empty() ? dims_mask(*dims, x.dim()) : std::vector<bool>(x.dim(), true);
  return reduce_data(Reduce::Any, autograd::detach(x), mask, keepdim, DType::Bool);
}
Tensor all(const Tensor& x, const std::optional<Dims>& dims, bool keepdim) {
  std::vector<bool> mask = dims && !dims->empty() ? dims_mask(*dims, x.dim()) : std::vector<bool>(x.dim(), true);
  return reduce_data(Reduce::All, autograd::detach(x), mask, keepdim, DType::Bool);
}

}  // namespace cg::ops
