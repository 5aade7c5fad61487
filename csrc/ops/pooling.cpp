// Pooling: each op is one node named like PyTorch's. Max pooling's VJP scatters the gradient to
// the saved argmax indices (scatter_add, differentiable: its own VJP is a gather); average
// pooling and its adjoint are a pair of ops that are each other's VJP.
#include "ops/pooling.h"

#include "kernels/conv.h"
#include "ops/common.h"
#include "ops/ops.h"

namespace cg::ops {

using kernels::AvgDivisor;
using kernels::Window2d;

namespace {

// PyTorch's pooling output size (ceil_mode windows must start inside the input or left padding).
int64_t pooled_size(int64_t in, int64_t k, int64_t pad, int64_t stride, int64_t dilation, bool ceil_mode) {
  const int64_t span = in + 2 * pad - dilation * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  int64_t out = (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

// A [C, H, W] tensor seen as [1, C, H, W] (no copy, no autograd).
Tensor batched_view(const Tensor& t) {
  if (t.dim() == 4) return t;
  return t.as_strided({1, t.shape()[0], t.shape()[1], t.shape()[2]},
                      {t.numel(), t.strides()[0], t.strides()[1], t.strides()[2]}, t.offset());
}

Shape pooled_shape(const Tensor& x, const Window2d& w) {
  Shape s(x.shape().begin(), x.shape().end() - 2);
  s.push_back(w.oh);
  s.push_back(w.ow);
  return s;
}

Window2d pool_window(const char* name, const Tensor& x, const PoolArgs& a, bool use_dilation) {
  CG_CHECK(a.kernel.size() == 2, name, ": kernel_size must either be a single int, or a tuple of two ints");
  CG_CHECK(a.stride.empty() || a.stride.size() == 2, name,
           ": stride must either be omitted, a single int, or a tuple of two ints");
  CG_CHECK(a.padding.size() == 2, name, ": padding must either be a single int, or a tuple of two ints");
  CG_CHECK(a.dilation.size() == 2, name, ": dilation must be either a single int, or a tuple of two ints");
  const std::vector<int64_t>& stride = a.stride.empty() ? a.kernel : a.stride;
  CG_CHECK(a.kernel[0] > 0 && a.kernel[1] > 0, "kernel size should be greater than zero, but got kH: ", a.kernel[0],
           " kW: ", a.kernel[1]);
  CG_CHECK(stride[0] != 0 && stride[1] != 0, "stride should not be zero");
  CG_CHECK(a.dilation[0] > 0 && a.dilation[1] > 0, "dilation should be greater than zero, but got dilationH: ",
           a.dilation[0], " dilationW: ", a.dilation[1]);
  // PyTorch's rule: the batch dim of a 4-D input may be empty, no other dim may. Its messages for
  // another number of dims differ between the two poolings.
  const bool avg = std::string(name) == "avg_pool2d";
  CG_CHECK(avg || x.dim() == 3 || x.dim() == 4, "non-empty 3D or 4D (batch mode) tensor expected for input");
  CG_CHECK_INDEX(!avg || x.dim() >= 3, "Dimension out of range (expected to be in range of [", -std::max<int64_t>(x.dim(), 1),
                 ", ", std::max<int64_t>(x.dim(), 1) - 1, "], but got -3)");
  CG_CHECK(nonempty_but_batch(x, 4), "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:",
           shape_str(x.shape()));
  Window2d w;
  w.kh = a.kernel[0], w.kw = a.kernel[1], w.sh = stride[0], w.sw = stride[1];
  w.ph = a.padding[0], w.pw = a.padding[1];
  w.dh = use_dilation ? a.dilation[0] : 1, w.dw = use_dilation ? a.dilation[1] : 1;
  for (int i = 0; i < 2; ++i) {
    const int64_t k = a.kernel[i], p = a.padding[i], d = use_dilation ? a.dilation[i] : 1;
    CG_CHECK(p >= 0 && p <= ((k - 1) * d + 1) / 2, "pad should be at most half of effective kernel size, but got pad=",
             p, ", kernel_size=", k, " and dilation=", d);
  }
  w.H = x.shape()[x.dim() - 2], w.W = x.shape()[x.dim() - 1];
  w.oh = pooled_size(w.H, w.kh, w.ph, w.sh, w.dh, a.ceil_mode);
  w.ow = pooled_size(w.W, w.kw, w.pw, w.sw, w.dw, a.ceil_mode);
  const int64_t C = x.shape()[x.dim() - 3];
  CG_CHECK(w.oh >= 1 && w.ow >= 1, "Given input size: (", C, "x", w.H, "x", w.W, "). Calculated output size: (", C,
           "x", w.oh, "x", w.ow, "). Output size is too small");
  return w;
}

}  // namespace

// ---- max pooling

struct MaxPool2DWithIndicesBackward0 : BackwardNode<MaxPool2DWithIndicesBackward0> {
  SavedTensor self_, result1_;  // the input (for inspection, as PyTorch saves it) and the indices
  Shape self_shape;
  int64_t planes = 1, plane_size = 1;
  TensorList apply(TensorList&& g) override {
    Tensor idx = result1_.unpack(*this);
    const int64_t out_plane = g[0].dim() >= 2 ? g[0].shape()[g[0].dim() - 2] * g[0].shape()[g[0].dim() - 1] : 1;
    Tensor src = reshape(g[0], {planes, out_plane});  // explicit sizes: the batch may be empty
    Tensor gx = scatter_add(Tensor::zeros({planes, plane_size}, g[0].dtype()), 1, reshape(idx, {planes, out_plane}), src);
    TensorList r{reshape(gx, self_shape)};
    link_fused_grads(r, *this, 0, self_shape, g[0].dtype(), "MaxPool2DWithIndicesBackwardBackward0");
    return r;
  }
  TensorList jvp(const TensorList& t) override {  // the tangent at each window's argmax
    Tensor idx = result1_.unpack(*this);
    const Shape& out_shape = output_meta[0].shape;
    const int64_t out_plane = out_shape[out_shape.size() - 2] * out_shape[out_shape.size() - 1];
    Tensor picked = gather(reshape(t[0], {planes, plane_size}), 1, reshape(idx, {planes, out_plane}));
    return {reshape(picked, out_shape)};
  }
  std::string name() const override { return "MaxPool2DWithIndicesBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("self", &MaxPool2DWithIndicesBackward0::self_),
                           saved("result1", &MaxPool2DWithIndicesBackward0::result1_));
  }
};

std::tuple<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, const PoolArgs& args) {
  CG_CHECK_IMPLEMENTED(x.dtype() != DType::Bool, "\"max_pool2d\" not implemented for 'Bool'");
  const Window2d w = pool_window("max_pool2d", x, args, true);
  const Shape shape = pooled_shape(x, w);
  Tensor out = Tensor::empty(shape, x.dtype()), indices = Tensor::empty(shape, DType::Int64);
  kernels::max_pool2d(batched_view(x), batched_view(out), batched_view(indices), w);
  if (autograd::any_requires_grad({&x})) {
    auto node = MaxPool2DWithIndicesBackward0::make({&x});
    node->self_ = SavedTensor(x, false);
    node->result1_ = SavedTensor(indices, false);
    node->self_shape = x.shape();
    node->plane_size = w.H * w.W;
    node->planes = x.numel() / node->plane_size;
    record(node, out);
  }
  return {out, indices};
}

// ---- average pooling: the op and its adjoint, each the other's VJP

namespace {
Tensor avg_pool(const Tensor& x, const Window2d& w, const AvgDivisor& d);
Tensor avg_pool_adjoint(const Tensor& g, const Shape& input_shape, const Window2d& w, const AvgDivisor& d);
}  // namespace

struct AvgPool2DBackward0 : BackwardNode<AvgPool2DBackward0> {
  Shape self_shape;
  Window2d win;
  AvgDivisor div;
  TensorList apply(TensorList&& g) override {
    TensorList r{avg_pool_adjoint(g[0], self_shape, win, div)};
    link_fused_grads(r, *this, 0, self_shape, g[0].dtype(), "AvgPool2DBackwardBackward0");
    return r;
  }
  TensorList jvp(const TensorList& t) override { return {avg_pool(t[0], win, div)}; }  // linear: the tangent pooled
  std::string name() const override { return "AvgPool2DBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("kernel_size", [](const AvgPool2DBackward0& n) { return SavedValue(Shape{n.win.kh, n.win.kw}); }),
                           saved("padding", [](const AvgPool2DBackward0& n) { return SavedValue(Shape{n.win.ph, n.win.pw}); }),
                           saved("count_include_pad", [](const AvgPool2DBackward0& n) { return SavedValue(n.div.count_include_pad); }));
  }
};

struct AvgPool2DBackwardBackward0 : BackwardNode<AvgPool2DBackwardBackward0> {
  Window2d win;
  AvgDivisor div;
  TensorList apply(TensorList&& g) override { return {avg_pool(g[0], win, div)}; }
  std::string name() const override { return "AvgPool2DBackwardBackward0"; }
  TensorList jvp(const TensorList& t) override {  // linear: the adjoint of the tangent
    return {avg_pool_adjoint(t[0], output_meta[0].shape, win, div)};
  }
};

namespace {
Tensor avg_pool(const Tensor& x, const Window2d& w, const AvgDivisor& d) {
  Tensor out = Tensor::empty(pooled_shape(x, w), x.dtype());
  kernels::avg_pool2d(batched_view(x), batched_view(out), w, d);
  if (autograd::any_requires_grad({&x})) {
    auto node = AvgPool2DBackward0::make({&x});
    node->self_shape = x.shape();
    node->win = w;
    node->div = d;
    record(node, out);
  }
  return out;
}

Tensor avg_pool_adjoint(const Tensor& g, const Shape& input_shape, const Window2d& w, const AvgDivisor& d) {
  Tensor gx = Tensor::empty(input_shape, g.dtype());
  kernels::avg_pool2d_backward(batched_view(g), batched_view(gx), w, d);
  if (autograd::any_requires_grad({&g})) {
    auto node = AvgPool2DBackwardBackward0::make({&g});
    node->win = w;
    node->div = d;
    record(node, gx);
  }
  return gx;
}
}  // namespace

Tensor avg_pool2d(const Tensor& x, const PoolArgs& args, bool count_include_pad,
                  std::optional<int64_t> divisor_override) {
  check_implemented_for_floating("avg_pool2d", x.dtype(), {DType::Int64});
  CG_CHECK(!divisor_override || *divisor_override != 0, "divisor must be not zero");
  PoolArgs a = args;
  a.dilation = {1, 1};
  const Window2d w = pool_window("avg_pool2d", x, a, false);
  return avg_pool(x, w, AvgDivisor{count_include_pad, divisor_override.value_or(0)});
}

}  // namespace cg::ops
