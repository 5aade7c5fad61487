// Reductions with their VJPs. A reduction's gradient is the incoming gradient broadcast back
// over the reduced dims (unsqueezed when keepdim was false), times the op's local derivative.
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

// ---- sum / mean ------------------------------------------------------------------------------
struct SumBackward : BackwardNode<SumBackward> {
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
  static auto saved_fields() {
    return std::make_tuple(saved("self_sym_sizes", &SumBackward::input_shape));
  }
};

static Tensor sum_impl(const Tensor& x, const std::vector<bool>& mask, bool keepdim, DType dt, double scale,
                       const char* name) {
  Tensor out = reduce_data(Reduce::Sum, x, mask, keepdim, dt);
  if (scale != 1.0) kernels::binary_scalar(Binary::Mul, out, scale, out);
  if (is_floating(dt) && any_requires_grad({&x})) {
    auto node = SumBackward::make({&x});
    node->input_shape = x.shape();
    node->input_dtype = x.dtype();
    node->mask = mask;
    node->keepdim = keepdim;
    node->scale = scale;
    node->node_name = name;
    record(node, out);
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
struct ProdBackward : BackwardNode<ProdBackward> {
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
  TensorList jvp(const TensorList& t) override { return {local_jvp(*this, t[0], mask, keepdim)}; }
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
  static auto saved_fields() {
    return std::make_tuple(saved("self", &ProdBackward::self_),
                           saved("result", &ProdBackward::result_));
  }
};

static Tensor prod_impl(const Tensor& x, const std::vector<bool>& mask, bool keepdim, const char* name) {
  DType dt = sum_dtype(x, std::nullopt);
  Tensor out = reduce_data(Reduce::Prod, x, mask, keepdim, dt);
  if (is_floating(dt) && any_requires_grad({&x})) {
    auto node = ProdBackward::make({&x});
    node->mask = mask;
    node->keepdim = keepdim;
    node->node_name = name;
    node->self_ = SavedTensor(x, false);
    record(node, out);
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
struct AmaxBackward : BackwardNode<AmaxBackward> {
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
  // The tangents of the extremes, averaged over ties (PyTorch's amax/amin JVP).
  TensorList jvp(const TensorList& t) override { return {local_jvp(*this, t[0], mask, keepdim)}; }
  static auto saved_fields() {
    return std::make_tuple(saved("self", &AmaxBackward::self_),
                           saved("result", &AmaxBackward::result_),
                           saved("keepdim", &AmaxBackward::keepdim));
  }
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
    auto node = AmaxBackward::make({&x});
    node->mask = mask;
    node->keepdim = keepdim;
    node->node_name = name;
    node->self_ = SavedTensor(x, false);
    record(node, out);
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

struct MaxDimBackward : BackwardNode<MaxDimBackward> {
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
  TensorList jvp(const TensorList& t) override {  // the tangent at the returned indices
    if (input_shape.empty()) return {t[0]};
    Tensor idx = indices_.unpack(*this);
    Tensor picked = gather(t[0], dim, keepdim ? idx : unsqueeze(idx, dim));
    return {keepdim ? picked : squeeze(picked, {dim})};
  }
  static auto saved_fields() {
    return std::make_tuple(saved("indices", &MaxDimBackward::indices_),
                           saved("self_sym_sizes", &MaxDimBackward::input_shape),
                           saved("dim", &MaxDimBackward::dim),
                           saved("keepdim", &MaxDimBackward::keepdim));
  }
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
    auto node = MaxDimBackward::make({&x});
    node->input_shape = x.shape();
    node->dim = d;
    node->keepdim = keepdim;
    node->node_name = is_max ? "MaxBackward0" : "MinBackward0";
    node->indices_ = SavedTensor(indices, false);
    record(node, values);
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
