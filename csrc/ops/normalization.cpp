// Layer norm, batch norm and embedding. Forward values come from fused kernels; each VJP uses a
// fused kernel for plain backward and, when the backward itself is recorded, the same formula in
// differentiable ops with the statistics recomputed from the input (so every order is exact).
#include "ops/normalization.h"

#include <cmath>

#include "kernels/elementwise.h"
#include "kernels/norm.h"
#include "ops/common.h"
#include "ops/ops.h"

namespace cg::ops {

using kernels::Binary;

namespace {
const Tensor& or_undefined(const std::optional<Tensor>& t) {
  static const Tensor none;
  return t ? *t : none;
}

Tensor floating_input(const Tensor& x, const char* kernel) {
  if (!is_floating(x.dtype()))
    throw_not_implemented(kernel, x.dtype());
  return contiguous(autograd::detach(x));
}

Tensor param_data(const Tensor& p, DType dtype) {
  // PyTorch's two wordings: a wider input than its parameters, or parameters of another type.
  CG_CHECK(p.dtype() == dtype || dtype != DType::Float64, "mixed dtype (CPU): all inputs must share same datatype.");
  CG_CHECK(p.dtype() == dtype, "mixed dtype (CPU): expect parameter to have scalar type of ", scalar_type_name(dtype));
  return contiguous(autograd::detach(p));
}

// PyTorch's CPU layer_norm dtype rule, in its order. Parameters of another dtype than the input
// (the first defined one decides) are "mixed", checked before the shapes: every parameter must be
// float32 and the input float16 or bfloat16. Otherwise, after the shapes, the input must be
// floating and each parameter of its dtype.
bool check_mixed_layer_norm(const Tensor& x, const std::optional<Tensor>& w, const std::optional<Tensor>& b) {
  const std::optional<Tensor>& first = w ? w : b;
  if (!first || first->dtype() == x.dtype()) return false;
  for (const auto* p : {&w, &b})
    CG_CHECK(!*p || (*p)->dtype() == DType::Float32, "mixed dtype (CPU): expect parameter to have scalar type of Float");
  CG_CHECK(x.dtype() == DType::Float16 || x.dtype() == DType::BFloat16,
           "mixed dtype (CPU): all inputs must share same datatype.");
  return true;
}

void check_same_layer_norm(const Tensor& x, const std::optional<Tensor>& w, const std::optional<Tensor>& b) {
  if (!is_floating(x.dtype())) throw_not_implemented("LayerNormKernelImpl", x.dtype());
  for (const auto* p : {&w, &b})
    CG_CHECK(!*p || (*p)->dtype() == x.dtype(), "expected scalar type ", scalar_type_name(x.dtype()), " but found ",
             scalar_type_name((*p)->dtype()));
}

// dx of a normalization with batch statistics over `dims`, in differentiable ops:
// rstd * (gw - mean(gw) - xhat * mean(gw * xhat)).
Tensor normalized_grad(const Tensor& gw, const Tensor& xhat, const Tensor& rstd, const Dims& dims) {
  Tensor centred = sub(sub(gw, mean(gw, dims, true)), mul(xhat, mean(mul(gw, xhat), dims, true)));
  return mul(rstd, centred);
}
}  // namespace

// ---- layer_norm -------------------------------------------------------------------------------
struct NativeLayerNormBackward0 : BackwardNode<NativeLayerNormBackward0> {
  SavedTensor input_, weight_, mean_, rstd_;
  Shape weight_shape, bias_shape;  // empty when absent
  bool has_weight = false, has_bias = false;
  int64_t n = 1, k = 1;  // normalized elements per row, normalized dims
  double eps = 1e-5;
  TensorList apply(TensorList&& grads) override {
    Tensor x = input_.unpack(*this), g = grads[0];
    Tensor w = has_weight ? weight_.unpack(*this) : Tensor();
    TensorList r(3);
    if (autograd::any_requires_grad({&g, &x, &w})) {
      Dims dims;
      for (int64_t d = x.dim() - k; d < x.dim(); ++d) dims.push_back(d);
      Tensor mu = mean(x, dims, true);
      Tensor rstd = unary(kernels::Unary::Rsqrt, add(var(x, dims, 0, true), eps));
      Tensor xhat = mul(sub(x, mu), rstd);
      if (should_compute_output(0)) r[0] = normalized_grad(w.defined() ? mul(g, w) : g, xhat, rstd, dims);
      if (should_compute_output(1) && has_weight) r[1] = sum_to(mul(g, xhat), weight_shape, x.dtype());
      if (should_compute_output(2) && has_bias) r[2] = sum_to(g, bias_shape, x.dtype());
      link_fused_grads(r, *this, 0, x.shape(), x.dtype(), "NativeLayerNormBackwardBackward0");
      if (w.defined()) link_fused_grads(r, *this, 1, w.shape(), w.dtype(), "NativeLayerNormBackwardBackward0");
      return r;
    }
    Tensor gc = contiguous(g), xc = contiguous(x);
    if (should_compute_output(0)) r[0] = Tensor::empty(x.shape(), x.dtype());
    if (should_compute_output(1) && has_weight) r[1] = Tensor::empty(weight_shape, x.dtype());
    if (should_compute_output(2) && has_bias) r[2] = Tensor::empty(bias_shape, x.dtype());
    kernels::layer_norm_backward(gc, xc, mean_.unpack(*this), rstd_.unpack(*this), w.defined() ? contiguous(w) : w,
                                 n, r[0], r[1], r[2]);
    return r;
  }
  // xhat's JVP, rstd (t - mean(t) - xhat mean(t xhat)), is normalized_grad's formula (self-adjoint):
  // t_y = that * w + xhat t_w + t_b. Statistics recomputed differentiably when x requires grad.
  TensorList jvp(const TensorList& t) override {
    Tensor x = input_.unpack(*this);
    Dims dims;
    for (int64_t d = x.dim() - k; d < x.dim(); ++d) dims.push_back(d);
    const bool recorded = autograd::GradMode::is_enabled() && autograd::requires_grad(x);
    Tensor mu = recorded ? mean(x, dims, true) : mean_.unpack(*this);
    Tensor rstd = recorded ? unary(kernels::Unary::Rsqrt, add(var(x, dims, 0, true), eps)) : rstd_.unpack(*this);
    Tensor xhat = mul(sub(x, mu), rstd);
    Tensor out;
    if (t[0].defined()) {
      out = normalized_grad(t[0], xhat, rstd, dims);
      if (has_weight) out = mul(out, weight_.unpack(*this));
    }
    if (t[1].defined()) out = tangent_sum(out, mul(xhat, t[1]));
    return {tangent_sum(out, t[2])};
  }
  std::string name() const override { return "NativeLayerNormBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("input", &NativeLayerNormBackward0::input_),
                           saved("weight", &NativeLayerNormBackward0::weight_),
                           saved("result1", &NativeLayerNormBackward0::mean_),
                           saved("result2", &NativeLayerNormBackward0::rstd_));
  }
};

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const std::optional<Tensor>& weight,
                  const std::optional<Tensor>& bias, double eps) {
  const bool mixed = check_mixed_layer_norm(x, weight, bias);
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  CG_CHECK(k >= 1, "Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one element, "
           "but got normalized_shape = ", shape_str(normalized_shape));
  CG_CHECK(!weight || weight->shape() == normalized_shape, "Expected weight to be of same shape as normalized_shape, "
           "but got weight of shape ", shape_str(weight ? weight->shape() : Shape{}), " and normalized_shape = ",
           shape_str(normalized_shape));
  CG_CHECK(!bias || bias->shape() == normalized_shape, "Expected bias to be of same shape as normalized_shape, "
           "but got bias of shape ", shape_str(bias ? bias->shape() : Shape{}), " and normalized_shape = ",
           shape_str(normalized_shape));
  bool fits = x.dim() >= k;
  for (int64_t d = 0; fits && d < k; ++d) fits = x.shape()[x.dim() - k + d] == normalized_shape[d];
  CG_CHECK(fits, "Given normalized_shape=", shape_str(normalized_shape), ", expected input with shape [*",
           [&] { std::string s; for (int64_t v : normalized_shape) s += ", " + std::to_string(v); return s; }(),
           "], but got input of size", shape_str(x.shape()));
  if (!mixed) check_same_layer_norm(x, weight, bias);
  if (is_storage_only(x.dtype())) {  // float16 / bfloat16: computed in float32, differentiably
    auto f32 = [](const std::optional<Tensor>& t) {
      return t ? std::optional<Tensor>(to_dtype(*t, DType::Float32)) : std::nullopt;
    };
    return to_dtype(layer_norm(to_dtype(x, DType::Float32), normalized_shape, f32(weight), f32(bias), eps), x.dtype());
  }
  Tensor xc = floating_input(x, "LayerNormKernelImpl");
  Tensor w = weight ? param_data(*weight, x.dtype()) : Tensor();
  Tensor b = bias ? param_data(*bias, x.dtype()) : Tensor();
  const int64_t n = numel_of(normalized_shape);
  Shape stat_shape(x.shape().begin(), x.shape().end() - k);
  stat_shape.resize(x.dim(), 1);  // PyTorch's [*, 1, ..., 1] layout for the saved statistics
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  Tensor mean_t = Tensor::empty(stat_shape, x.dtype()), rstd_t = Tensor::empty(stat_shape, x.dtype());
  kernels::layer_norm(xc, w, b, eps, n, out, mean_t, rstd_t);
  if (autograd::any_requires_grad({&x, &or_undefined(weight), &or_undefined(bias)})) {
    auto node = NativeLayerNormBackward0::make({&x, &or_undefined(weight), &or_undefined(bias)});
    node->input_ = SavedTensor(x, false);
    if (weight) node->weight_ = SavedTensor(*weight, false);
    node->mean_ = SavedTensor(mean_t, false);
    node->rstd_ = SavedTensor(rstd_t, false);
    node->has_weight = weight.has_value();
    node->has_bias = bias.has_value();
    node->weight_shape = normalized_shape;
    node->bias_shape = normalized_shape;
    node->n = n;
    node->k = k;
    node->eps = eps;
    record(node, out);
  }
  return out;
}

// ---- batch_norm -------------------------------------------------------------------------------
struct NativeBatchNormBackward0 : BackwardNode<NativeBatchNormBackward0> {
  SavedTensor input_, weight_, mean_, invstd_;  // mean/invstd: [C], the batch's or the running ones
  bool has_weight = false, has_bias = false, training = true;
  int64_t channels = 1;
  double eps = 1e-5;
  TensorList apply(TensorList&& grads) override {
    Tensor x = input_.unpack(*this), g = grads[0];
    Tensor w = has_weight ? weight_.unpack(*this) : Tensor();
    TensorList r(3);
    if (autograd::any_requires_grad({&g, &x, &w})) {
      Dims dims{0};
      Shape cshape(x.dim(), 1);
      cshape[1] = channels;
      for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
      Tensor mu, rstd;
      if (training) {
        mu = mean(x, dims, true);
        rstd = unary(kernels::Unary::Rsqrt, add(var(x, dims, 0, true), eps));
      } else {
        mu = reshape(mean_.unpack(*this), cshape);
        rstd = reshape(invstd_.unpack(*this), cshape);
      }
      Tensor xhat = mul(sub(x, mu), rstd);
      Tensor gw = w.defined() ? mul(g, reshape(w, cshape)) : g;
      if (should_compute_output(0)) r[0] = training ? normalized_grad(gw, xhat, rstd, dims) : mul(gw, rstd);
      if (should_compute_output(1) && has_weight) r[1] = sum(mul(g, xhat), dims, false);
      if (should_compute_output(2) && has_bias) r[2] = sum(g, dims, false);
      link_fused_grads(r, *this, 0, x.shape(), x.dtype(), "NativeBatchNormBackwardBackward0");
      if (w.defined()) link_fused_grads(r, *this, 1, w.shape(), w.dtype(), "NativeBatchNormBackwardBackward0");
      return r;
    }
    if (should_compute_output(0)) r[0] = Tensor::empty(x.shape(), x.dtype());
    if (should_compute_output(1) && has_weight) r[1] = Tensor::empty({channels}, x.dtype());
    if (should_compute_output(2) && has_bias) r[2] = Tensor::empty({channels}, x.dtype());
    kernels::batch_norm_backward(contiguous(g), contiguous(x), channels, mean_.unpack(*this), invstd_.unpack(*this),
                                 w.defined() ? contiguous(w) : w, training, r[0], r[1], r[2]);
    return r;
  }
  // As layer_norm's over the batch and spatial dims (training), or an affine map (evaluation).
  TensorList jvp(const TensorList& t) override {
    Tensor x = input_.unpack(*this);
    Dims dims{0};
    Shape cshape(x.dim(), 1);
    cshape[1] = channels;
    for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
    const bool recorded = training && autograd::GradMode::is_enabled() && autograd::requires_grad(x);
    Tensor mu = recorded ? mean(x, dims, true) : reshape(mean_.unpack(*this), cshape);
    Tensor rstd = recorded ? unary(kernels::Unary::Rsqrt, add(var(x, dims, 0, true), eps)) : reshape(invstd_.unpack(*this), cshape);
    Tensor xhat = mul(sub(x, mu), rstd);
    Tensor out;
    if (t[0].defined()) {
      out = training ? normalized_grad(t[0], xhat, rstd, dims) : mul(t[0], rstd);
      if (has_weight) out = mul(out, reshape(weight_.unpack(*this), cshape));
    }
    if (t[1].defined()) out = tangent_sum(out, mul(xhat, reshape(t[1], cshape)));
    if (t[2].defined()) out = tangent_sum(out, reshape(t[2], cshape));
    return {out};
  }
  std::string name() const override { return "NativeBatchNormBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("input", &NativeBatchNormBackward0::input_),
                           saved("weight", &NativeBatchNormBackward0::weight_),
                           saved("result1", &NativeBatchNormBackward0::mean_),
                           saved("result2", &NativeBatchNormBackward0::invstd_),
                           saved("training", &NativeBatchNormBackward0::training),
                           saved("eps", &NativeBatchNormBackward0::eps));
  }
};

namespace {
void check_channels(const std::optional<Tensor>& t, const char* what, int64_t channels) {
  CG_CHECK(!t || t->numel() == channels, what, " should contain ", channels, " elements not ", t->numel());
}
// 1 / sqrt(v + eps) elementwise (no autograd).
Tensor inv_sqrt(const Tensor& v, double eps) {
  autograd::GradModeGuard no_grad(false);
  return contiguous(unary(kernels::Unary::Rsqrt, add(v, eps)));
}
// running = (1 - momentum) running + momentum value, in place (a buffer: no history). Written
// element by element like PyTorch's kernel, which does not refuse a self-overlapping buffer.
void update_running(const Tensor& running, const Tensor& value, double momentum) {
  autograd::GradModeGuard no_grad(false);
  Tensor r = running;
  Tensor v = reshape(value, running.shape());
  kernels::copy(r, add(mul(autograd::detach(running), 1 - momentum), mul(cast_data(v, running.dtype()), momentum)));
  r.bump_version();
}
}  // namespace

Tensor batch_norm(const Tensor& x, const std::optional<Tensor>& running_mean, const std::optional<Tensor>& running_var,
                  const std::optional<Tensor>& weight, const std::optional<Tensor>& bias, bool training,
                  double momentum, double eps) {
  if (x.numel() == 0) {  // PyTorch: no statistics, a fresh tensor that keeps the graph to x, w and b
    Tensor out = clone(x);
    if (weight) out = mul(out, select(*weight, 0, 0));
    if (bias) out = add(out, select(*bias, 0, 0));
    return out;
  }
  if (is_storage_only(x.dtype())) {  // float16 / bfloat16: computed in float32, differentiably
    for (const auto* p : {&running_mean, &running_var, &weight, &bias})  // PyTorch's mixed-dtype rule
      CG_CHECK(!*p || (*p)->dtype() == x.dtype() || (*p)->dtype() == DType::Float32,
               "mixed dtype (CPU): expect parameter to have scalar type of Float");
    auto f32 = [](const std::optional<Tensor>& t, bool tracked) {
      if (!t) return std::optional<Tensor>();
      return std::optional<Tensor>(tracked ? to_dtype(*t, DType::Float32) : cast_data(*t, DType::Float32));
    };
    std::optional<Tensor> rm = f32(running_mean, false), rv = f32(running_var, false);
    Tensor out = batch_norm(to_dtype(x, DType::Float32), rm, rv, f32(weight, true), f32(bias, true), training,
                            momentum, eps);
    for (auto [stat, computed] : {std::pair{&running_mean, &rm}, std::pair{&running_var, &rv}})
      if (*stat && training && !(*stat)->is_same(**computed)) {  // the updated statistics, back in their dtype
        Tensor s = **stat;
        kernels::copy(s, **computed);
        s.bump_version();
      }
    return to_dtype(out, x.dtype());
  }
  const int64_t channels = x.size(1);
  check_channels(running_mean, "running_mean", channels);
  check_channels(running_var, "running_var", channels);
  check_channels(weight, "weight", channels);
  check_channels(bias, "bias", channels);
  CG_CHECK(training || (running_mean && running_var), "running_", running_mean ? "var" : "mean",
           " must be defined in evaluation mode");
  Tensor xc = floating_input(x, "batch_norm");
  for (const auto* stat : {&running_mean, &running_var})
    if (*stat) param_data(**stat, x.dtype());  // same dtype rule as the parameters
  Tensor w = weight ? reshape(param_data(*weight, x.dtype()), {channels}) : Tensor();
  Tensor b = bias ? reshape(param_data(*bias, x.dtype()), {channels}) : Tensor();
  Tensor mean_t, invstd_t;
  if (training) {
    mean_t = Tensor::empty({channels}, x.dtype());
    Tensor var_t = Tensor::empty({channels}, x.dtype());
    kernels::batch_norm_stats(xc, channels, mean_t, var_t);
    invstd_t = inv_sqrt(var_t, eps);
    const int64_t count = x.numel() / channels;
    if (running_mean) update_running(*running_mean, mean_t, momentum);
    if (running_var) {
      // The running variance is unbiased (PyTorch's convention), the normalization's is not.
      autograd::GradModeGuard no_grad(false);
      Tensor unbiased = mul(var_t, static_cast<double>(count) / static_cast<double>(std::max<int64_t>(count - 1, 0)));
      update_running(*running_var, unbiased, momentum);
    }
  } else {
    mean_t = contiguous(reshape(cast_data(autograd::detach(*running_mean), x.dtype()), {channels}));
    invstd_t = inv_sqrt(reshape(cast_data(autograd::detach(*running_var), x.dtype()), {channels}), eps);
  }
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  kernels::batch_norm_apply(xc, channels, mean_t, invstd_t, w, b, out);
  if (autograd::any_requires_grad({&x, &or_undefined(weight), &or_undefined(bias)})) {
    auto node = NativeBatchNormBackward0::make({&x, &or_undefined(weight), &or_undefined(bias)});
    node->input_ = SavedTensor(x, false);
    if (weight) node->weight_ = SavedTensor(*weight, false);
    node->mean_ = SavedTensor(mean_t, false);
    node->invstd_ = SavedTensor(invstd_t, false);
    node->has_weight = weight.has_value();
    node->has_bias = bias.has_value();
    node->training = training;
    node->channels = channels;
    node->eps = eps;
    record(node, out);
  }
  return out;
}

// ---- embedding --------------------------------------------------------------------------------
struct EmbeddingBackward0 : BackwardNode<EmbeddingBackward0> {
  SavedTensor indices_;  // flat int64
  Shape indices_shape;    // as given (PyTorch shows them so)
  int64_t num_weights = 0, dim = 0;
  std::optional<int64_t> padding_idx;
  bool scale_grad_by_freq = false;
  TensorList apply(TensorList&& grads) override {
    Tensor idx = indices_.unpack(*this);
    Tensor rows = reshape(grads[0], {idx.numel(), dim});
    if (padding_idx || scale_grad_by_freq) {
      // Per-row weight: 0 for padding rows, 1 / count for scale_grad_by_freq (a constant; the
      // product stays differentiable in the gradient: double backward, forward mode).
      Tensor scale = Tensor::full({idx.numel()}, 1.0, rows.dtype());
      {
        autograd::GradModeGuard no_grad(false);
        if (scale_grad_by_freq) {
          Tensor counts = index_add(Tensor::zeros({num_weights}, rows.dtype()), 0, idx, scale);
          scale = rdiv(index_select(counts, 0, idx), 1.0);
        }
        if (padding_idx)
          scale = mul(scale, to_dtype(compare(static_cast<int>(Binary::Ne), idx, Scalar(*padding_idx)), rows.dtype()));
      }
      rows = mul(rows, unsqueeze(scale, 1));
    }
    return {index_add(Tensor::zeros({num_weights, dim}, rows.dtype()), 0, idx, rows)};
  }
  // The rows of the weight's tangent (padding rows too: the forward reads them, PyTorch's rule).
  TensorList jvp(const TensorList& t) override {
    return {reshape(index_select(t[0], 0, indices_.unpack(*this)), output_meta[0].shape)};
  }
  std::string name() const override { return "EmbeddingBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("indices", [](const EmbeddingBackward0& n) {
                             Tensor flat = n.indices_.unpack(n);
                             return SavedValue(flat.defined() ? flat.as_strided(n.indices_shape, contiguous_strides(n.indices_shape), flat.offset()) : flat);
                           }),
                           saved("padding_idx", [](const EmbeddingBackward0& n) { return SavedValue(n.padding_idx ? *n.padding_idx : int64_t{-1}); }),
                           saved("scale_grad_by_freq", &EmbeddingBackward0::scale_grad_by_freq),
                           saved("sparse", [](const EmbeddingBackward0& n) { return SavedValue(false); }));
  }
};

Tensor embedding(const Tensor& weight, const Tensor& indices, std::optional<int64_t> padding_idx,
                 bool scale_grad_by_freq) {
  CG_CHECK(weight.dim() == 2, "'weight' must be 2-D");
  CG_CHECK(indices.dtype() == DType::Int64 || indices.dtype() == DType::Int32, "Expected tensor for argument #1 "
           "'indices' to have one of the following scalar types: Long, Int; but got ",
           // PyTorch names the types without a legacy tensor class its own way
           indices.dtype() == DType::Bool || indices.dtype() == DType::BFloat16
               ? std::string("CPU") + scalar_type_name(indices.dtype()) + "Type" : legacy_type_name(indices.dtype()),
           " instead (while checking arguments for embedding)");
  const int64_t num = weight.shape()[0], dim = weight.shape()[1];
  // PyTorch looks the rows up with index_select, whose first check is this one.
  CG_CHECK(num > 0 || indices.numel() == 0, "index_select(): self indexing axis dim should be positive");
  Tensor flat = contiguous(cast_data(reshape(autograd::detach(indices), {-1}), DType::Int64));
  const int64_t* ip = flat.data<int64_t>();
  for (int64_t i = 0; i < flat.numel(); ++i) CG_CHECK_INDEX(ip[i] >= 0 && ip[i] < num, "index out of range in self");
  Tensor out;
  {
    autograd::GradModeGuard no_grad(false);
    Shape shape = indices.shape();
    shape.push_back(dim);
    out = reshape(index_select(autograd::detach(weight), 0, flat), shape);
  }
  if (autograd::any_requires_grad({&weight})) {
    auto node = EmbeddingBackward0::make({&weight, nullptr});
    node->indices_ = SavedTensor(flat, false);
    node->indices_shape = indices.shape();
    node->num_weights = num;
    node->dim = dim;
    node->padding_idx = padding_idx;
    node->scale_grad_by_freq = scale_grad_by_freq;
    record(node, out);
  }
  return out;
}

}  // namespace cg::ops
