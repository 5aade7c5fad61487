// Padding. Constant padding's VJP is constant padding by the negated amounts (a crop); the
// index-based modes gather each padded dim through an index vector, so their VJP is index_add
// (differentiable: its own VJP is index_select).
#include "ops/padding.h"

#include "graph/grad_mode.h"
#include "kernels/elementwise.h"
#include "ops/common.h"
#include "ops/ops.h"

namespace cg::ops {

struct ConstantPadNdBackward0 : BackwardNode<ConstantPadNdBackward0> {
  std::vector<int64_t> pads;
  TensorList apply(TensorList&& g) override {
    std::vector<int64_t> neg(pads.size());
    for (size_t i = 0; i < pads.size(); ++i) neg[i] = -pads[i];
    return {constant_pad_nd(g[0], neg, 0)};
  }
  TensorList jvp(const TensorList& t) override { return {constant_pad_nd(t[0], pads, 0)}; }  // linear: the tangent padded with zeros
  std::string name() const override { return "ConstantPadNdBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("pad", &ConstantPadNdBackward0::pads));
  }
};

namespace {
void check_pad_length(const Tensor& x, const std::vector<int64_t>& pads) {
  CG_CHECK(pads.size() % 2 == 0, "Padding length must be divisible by 2");
  CG_CHECK(static_cast<int64_t>(pads.size()) <= 2 * x.dim(),
           "Padding length should be less than or equal to two times the input dimension but got padding length ",
           pads.size(), " and input of dimension ", x.dim());
}
}  // namespace

Tensor constant_pad_nd(const Tensor& x, const std::vector<int64_t>& pads, Scalar value) {
  check_pad_length(x, pads);
  Shape shape = x.shape();
  // The copied block: its offset in the output and in the input along each padded dim.
  Shape out_start(x.dim(), 0), in_start(x.dim(), 0), length = x.shape();
  for (size_t i = 0; i < pads.size() / 2; ++i) {
    const int64_t d = x.dim() - 1 - static_cast<int64_t>(i), lo = pads[2 * i], hi = pads[2 * i + 1];
    shape[d] = x.shape()[d] + lo + hi;
    CG_CHECK(shape[d] >= 0, "The input size ", x.shape()[d], ", plus negative padding ", lo, " and ", hi,
             " resulted in a negative output size, which is invalid. Check dimension ", d, " of your input.");
    out_start[d] = std::max<int64_t>(lo, 0);
    in_start[d] = std::max<int64_t>(-lo, 0);
    length[d] = std::max<int64_t>(x.shape()[d] + std::min<int64_t>(lo, 0) + std::min<int64_t>(hi, 0), 0);
  }
  Tensor out = Tensor::full(shape, value, x.dtype());
  if (numel_of(length) > 0) {
    int64_t out_off = out.offset(), in_off = x.offset();
    const Shape out_strides = contiguous_strides(shape);
    for (int64_t d = 0; d < x.dim(); ++d) {
      out_off += out_start[d] * out_strides[d];
      in_off += in_start[d] * x.strides()[d];
    }
    kernels::copy(out.as_strided(length, out_strides, out_off), x.as_strided(length, x.strides(), in_off));
  }
  if (autograd::any_requires_grad({&x})) {
    auto node = ConstantPadNdBackward0::make({&x});
    node->pads = pads;
    record(node, out);
  }
  return out;
}

namespace {
// Source positions of each output position along one dim of size n padded by (lo, hi).
Tensor pad_indices(int64_t n, int64_t lo, int64_t hi, const std::string& mode) {
  const int64_t m = n + lo + hi;
  Tensor idx = Tensor::empty({m}, DType::Int64);
  int64_t* p = idx.data<int64_t>();
  for (int64_t i = 0; i < m; ++i) {
    int64_t j = i - lo;
    if (mode == "reflect") j = j < 0 ? -j : (j >= n ? 2 * (n - 1) - j : j);
    else if (mode == "replicate") j = std::clamp<int64_t>(j, 0, n - 1);
    else j = ((j % n) + n) % n;  // circular
    p[i] = j;
  }
  return idx;
}
}  // namespace

struct IndexPadBackward : BackwardNode<IndexPadBackward> {
  std::vector<Tensor> indices;  // per padded dim (last dim first)
  Shape self_shape;
  std::string node_name;
  TensorList apply(TensorList&& g) override {
    Tensor gx = g[0];
    for (size_t i = 0; i < indices.size(); ++i) {
      const int64_t d = static_cast<int64_t>(self_shape.size()) - 1 - static_cast<int64_t>(i);
      Shape s = gx.shape();
      s[d] = self_shape[d];
      gx = index_add(Tensor::zeros(s, gx.dtype()), d, indices[i], gx);
    }
    return {gx};
  }
  TensorList jvp(const TensorList& t) override {  // the forward's gathers, on the tangent
    Tensor out = t[0];
    for (size_t i = 0; i < indices.size(); ++i)
      out = index_select(out, static_cast<int64_t>(self_shape.size()) - 1 - static_cast<int64_t>(i), indices[i]);
    return {out};
  }
};

Tensor index_pad(const Tensor& x, const std::vector<int64_t>& pads, const std::string& mode) {
  check_pad_length(x, pads);
  const size_t k = pads.size() / 2;
  CG_CHECK(k >= 1 && k <= 3, mode, " padding of ", k, " dims is not supported");
  if (mode != "circular") {  // PyTorch's reflection/replication kernels: shape rule, then dtype
    CG_CHECK(nonempty_but_batch(x, static_cast<int64_t>(k) + 2), "Expected ", k + 1, "D or ", k + 2,
             "D (batch mode) tensor with possibly 0 batch size and other non-zero dimensions for input, but got: ",
             shape_str(x.shape()));
    const std::string kernel = (mode == "reflect" ? "reflection_pad" : "replication_pad") + std::to_string(k) + "d";
    CG_CHECK_IMPLEMENTED(x.dtype() != DType::Bool, "\"", kernel, "\" not implemented for 'Bool'");
  }
  std::vector<Tensor> indices;
  for (size_t i = 0; i < k; ++i) {
    const int64_t d = x.dim() - 1 - static_cast<int64_t>(i), n = x.shape()[d], lo = pads[2 * i], hi = pads[2 * i + 1];
    if (mode == "reflect")
      CG_CHECK(lo < n && hi < n, "Argument #4: Padding size should be less than the corresponding input dimension, "
               "but got: padding (", lo, ", ", hi, ") at dimension ", d, " of input ", shape_str(x.shape()));
    CG_CHECK(n + lo + hi > 0, "input tensor with shape ", shape_str(x.shape()), " and padding ", lo, ", ", hi,
             " gives a non-positive output size at dimension ", d);
    CG_CHECK(mode != "circular" || (lo <= n && hi <= n),
             "Padding value causes wrapping around more than once.");
    indices.push_back(pad_indices(n, lo, hi, mode));
  }
  Tensor out = autograd::detach(x);
  {
    autograd::GradModeGuard no_grad(false);
    for (size_t i = 0; i < k; ++i) out = index_select(out, x.dim() - 1 - static_cast<int64_t>(i), indices[i]);
  }
  if (autograd::any_requires_grad({&x})) {
    auto node = IndexPadBackward::make({&x});
    node->indices = indices;
    node->self_shape = x.shape();
    const std::string dims = std::to_string(k) + "D";
    node->node_name = mode == "reflect" ? "ReflectionPad" + dims + "Backward0"
                      : mode == "replicate" ? "ReplicationPad" + dims + "Backward0" : "CircularPadBackward0";
    record(node, out);
  }
  return out;
}

}  // namespace cg::ops
