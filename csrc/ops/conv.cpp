// Convolution through im2col + BLAS. The forward runs on raw buffers in batch chunks (bounded
// column memory); the VJP is written with differentiable ops (im2col / col2im / bmm / sum), so
// double backward comes for free. 1-D convolution is 2-D convolution over a height of 1.
#include "ops/conv.h"

#include <algorithm>
#include <sstream>

#include "kernels/elementwise.h"
#include "kernels/linalg.h"
#include "ops/common.h"
#include "ops/ops.h"

namespace cg::ops {

using kernels::Window2d;

namespace {

std::string list_str(const std::vector<int64_t>& v) {
  std::ostringstream s;
  s << "[";
  for (size_t i = 0; i < v.size(); ++i) s << (i ? ", " : "") << v[i];
  s << "]";
  return s.str();
}

// A [N, C, L] tensor seen as [N, C, 1, L] (no copy, no autograd).
Tensor with_unit_height(const Tensor& t) {
  return t.as_strided({t.shape()[0], t.shape()[1], 1, t.shape()[2]},
                      {t.strides()[0], t.strides()[1], t.shape()[2] * t.strides()[2], t.strides()[2]}, t.offset());
}

int64_t out_size(int64_t in, int64_t pad_total, int64_t k, int64_t s, int64_t d) {
  return (in + pad_total - d * (k - 1) - 1) / s + 1;
}

}  // namespace

// ---- im2col / col2im: each the other's VJP

struct Im2ColBackward0 : BackwardNode<Im2ColBackward0> {
  Window2d win;
  TensorList apply(TensorList&& g) override { return {col2im(g[0], win)}; }
  TensorList jvp(const TensorList& t) override { return {im2col(t[0], win)}; }  // linear
  std::string name() const override { return "Im2ColBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("kernel_size", [](const Im2ColBackward0& n) { return SavedValue(Shape{n.win.kh, n.win.kw}); }),
                           saved("dilation", [](const Im2ColBackward0& n) { return SavedValue(Shape{n.win.dh, n.win.dw}); }),
                           saved("padding", [](const Im2ColBackward0& n) { return SavedValue(Shape{n.win.ph, n.win.pw}); }),
                           saved("stride", [](const Im2ColBackward0& n) { return SavedValue(Shape{n.win.sh, n.win.sw}); }));
  }
};

struct Col2ImBackward0 : BackwardNode<Col2ImBackward0> {
  Window2d win;
  TensorList apply(TensorList&& g) override { return {im2col(g[0], win)}; }
  TensorList jvp(const TensorList& t) override { return {col2im(t[0], win)}; }  // linear
  std::string name() const override { return "Col2ImBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("kernel_size", [](const Col2ImBackward0& n) { return SavedValue(Shape{n.win.kh, n.win.kw}); }),
                           saved("dilation", [](const Col2ImBackward0& n) { return SavedValue(Shape{n.win.dh, n.win.dw}); }),
                           saved("padding", [](const Col2ImBackward0& n) { return SavedValue(Shape{n.win.ph, n.win.pw}); }),
                           saved("stride", [](const Col2ImBackward0& n) { return SavedValue(Shape{n.win.sh, n.win.sw}); }));
  }
};

namespace {
// An unbatched tensor (one dim fewer than `batched_dim`) seen with a batch of 1, without copies.
Tensor with_batch(const Tensor& t, int64_t batched_dim) {
  if (t.dim() == batched_dim) return t;
  Shape shape{1}, strides{t.numel()};
  shape.insert(shape.end(), t.shape().begin(), t.shape().end());
  strides.insert(strides.end(), t.strides().begin(), t.strides().end());
  return t.as_strided(shape, strides, t.offset());
}
}  // namespace

// x: [N, C, H, W] or [C, H, W]; cols: [N, C*kh*kw, L] or [C*kh*kw, L].
Tensor im2col(const Tensor& x, const Window2d& w) {
  Shape shape{x.shape()[x.dim() - 3] * w.kh * w.kw, w.oh * w.ow};
  if (x.dim() == 4) shape.insert(shape.begin(), x.shape()[0]);
  Tensor cols = Tensor::empty(shape, x.dtype());
  kernels::im2col(with_batch(x, 4), with_batch(cols, 3), w);
  if (autograd::any_requires_grad({&x})) {
    auto node = Im2ColBackward0::make({&x});
    node->win = w;
    record(node, cols);
  }
  return cols;
}

Tensor col2im(const Tensor& cols, const Window2d& w) {
  Tensor packed = contiguous(autograd::detach(cols));
  Shape shape{cols.shape()[cols.dim() - 2] / (w.kh * w.kw), w.H, w.W};
  if (cols.dim() == 3) shape.insert(shape.begin(), cols.shape()[0]);
  Tensor x = Tensor::empty(shape, cols.dtype());
  kernels::col2im(with_batch(packed, 3), with_batch(x, 4), w);
  if (autograd::any_requires_grad({&cols})) {
    auto node = Col2ImBackward0::make({&cols});
    node->win = w;
    record(node, x);
  }
  return x;
}

namespace {

// Columns of at most this many elements per batch chunk (forward, and backward without create_graph).
constexpr int64_t kColumnBudget = 1 << 23;

// The same VJP on raw buffers, in batch chunks (bounded column memory), when no graph of the
// backward is recorded. g: contiguous [N, Cout, oh, ow].
TensorList conv_backward_data(const Tensor& g, const Tensor& x, const Tensor& w_in, const Shape& w_shape,
                              const Window2d& win, int64_t groups, bool need_x, bool need_w) {
  const int64_t N = g.shape()[0], Cout = g.shape()[1], L = win.oh * win.ow, K = win.kh * win.kw;
  const int64_t Cog = Cout / groups, Kg = w_shape[1] * K, CK = groups * Kg, C = CK / K;
  const int64_t chunk = std::clamp<int64_t>(kColumnBudget / std::max<int64_t>(1, CK * L), 1, std::max<int64_t>(N, 1));
  Tensor cols = Tensor::empty({chunk, CK, L}, g.dtype());
  TensorList r(2);
  Tensor w = need_x ? contiguous(w_in) : Tensor();
  if (need_x) r[0] = Tensor::empty({N, C, win.H, win.W}, g.dtype());
  if (need_w) r[1] = Tensor::zeros({Cout, Kg}, g.dtype());
  for (int64_t n0 = 0; n0 < N; n0 += chunk) {
    const int64_t nb = std::min(chunk, N - n0);
    Tensor cv = cols.as_strided({nb, CK, L}, {CK * L, L, 1}, cols.offset());
    if (need_x) {
      for (int64_t gi = 0; gi < groups; ++gi) {
        Tensor a = w.as_strided({nb, Kg, Cog}, {0, 1, Kg}, w.offset() + gi * Cog * Kg);
        Tensor b = g.as_strided({nb, Cog, L}, {Cout * L, L, 1}, g.offset() + n0 * Cout * L + gi * Cog * L);
        kernels::batched_gemm(a, b, cv.as_strided({nb, Kg, L}, {CK * L, L, 1}, cv.offset() + gi * Kg * L));
      }
      const Tensor& gx = r[0];
      kernels::col2im(cv, gx.as_strided({nb, C, win.H, win.W}, gx.strides(), gx.offset() + n0 * gx.strides()[0]), win);
    }
    if (need_w) {
      kernels::im2col(x.as_strided({nb, C, win.H, win.W}, x.strides(), x.offset() + n0 * x.strides()[0]), cv, win);
      for (int64_t n = 0; n < nb; ++n)
        for (int64_t gi = 0; gi < groups; ++gi) {
          Tensor a = g.as_strided({Cog, L}, {L, 1}, g.offset() + (n0 + n) * Cout * L + gi * Cog * L);
          Tensor bt = cv.as_strided({L, Kg}, {1, L}, cv.offset() + n * CK * L + gi * Kg * L);
          kernels::gemm(a, bt, r[1].as_strided({Cog, Kg}, {Kg, 1}, gi * Cog * Kg), 1.0);
        }
    }
  }
  if (need_w) r[1] = r[1].as_strided(w_shape, contiguous_strides(w_shape), 0);
  return r;
}

// The VJP of convolution on 4-D tensors, in differentiable ops. g: [N, Cout, oh, ow].
// w_shape: the weight's 4-D shape (x or w is undefined when its partner's gradient is not needed).
TensorList conv_backward(const Tensor& g, const Tensor& x, const Tensor& w, const Shape& w_shape, const Window2d& win,
                         int64_t groups, bool need_x, bool need_w) {
  const int64_t N = g.shape()[0], Cout = g.shape()[1], L = win.oh * win.ow;
  const int64_t Cog = Cout / groups, Kg = w_shape[1] * win.kh * win.kw;
  Tensor g3 = reshape(g, {N * groups, Cog, L});
  TensorList r(2);
  if (need_x) {
    Tensor wt = transpose(reshape(w, {groups, Cog, Kg}), 1, 2);  // [G, Kg, Cog]
    Tensor a = reshape(expand(unsqueeze(wt, 0), {N, groups, Kg, Cog}), {N * groups, Kg, Cog});
    r[0] = col2im(reshape(bmm(a, g3), {N, groups * Kg, L}), win);
  }
  if (need_w) {
    Tensor cols = reshape(im2col(x, win), {N * groups, Kg, L});
    Tensor gw = sum(reshape(bmm(g3, transpose(cols, 1, 2)), {N, Cout, Kg}), {0}, false);
    r[1] = reshape(gw, w_shape);
  }
  return r;
}

}  // namespace

struct ConvolutionBackward0 : BackwardNode<ConvolutionBackward0> {
  SavedTensor input_, weight_;
  Window2d win;
  Shape weight_shape;  // 4-D
  int64_t groups = 1;
  bool one_d = false;
  TensorList apply(TensorList&& g) override {
    TensorList r(3);
    const bool need_x = should_compute_output(0), need_w = should_compute_output(1);
    if (need_x || need_w) {
      Tensor x = need_w ? input_.unpack(*this) : Tensor(), w = need_x ? weight_.unpack(*this) : Tensor();
      auto lift = [&](const Tensor& t) { return one_d && t.defined() ? unsqueeze(t, 2) : t; };
      // Recording the backward (create_graph) needs differentiable ops; otherwise raw chunked kernels.
      TensorList xw = autograd::GradMode::is_enabled()
          ? conv_backward(lift(g[0]), lift(x), lift(w), weight_shape, win, groups, need_x, need_w)
          : conv_backward_data(contiguous(lift(g[0])), lift(x), lift(w), weight_shape, win, groups, need_x, need_w);
      for (int i = 0; i < 2; ++i) r[i] = one_d && xw[i].defined() ? squeeze(xw[i], {2}) : xw[i];
    }
    if (should_compute_output(2)) {
      Dims dims{0};
      for (int64_t d = 2; d < g[0].dim(); ++d) dims.push_back(d);
      r[2] = sum(g[0], dims, false);
    }
    if (autograd::GradMode::is_enabled()) {  // convolution_backward reads input and weight
      for (size_t slot : {0, 1}) {
        if (!next_edges[slot].valid()) continue;  // only the inputs that require grad are linked
        const Tensor t = (slot == 0 ? input_ : weight_).unpack(*this);
        if (t.defined()) link_fused_grads(r, *this, slot, t.shape(), t.dtype(), "ConvolutionBackwardBackward0");
      }
    }
    return r;
  }
  // Bilinear in (x, w): conv(t_x, w) + conv(x, t_w) + t_b, each convolution as im2col and one batched
  // matmul per group (differentiable ops, so a recorded JVP has gradients too).
  TensorList jvp(const TensorList& t) override {
    Tensor out;
    if (t[0].defined()) out = convolve(t[0], weight_.unpack(*this));
    if (t[1].defined()) out = tangent_sum(out, convolve(input_.unpack(*this), t[1]));
    if (t[2].defined()) {
      Shape bshape(output_meta[0].shape.size() - 1, 1);
      bshape[0] = weight_shape[0];
      out = tangent_sum(out, reshape(t[2], bshape));
    }
    return {out};
  }
  Tensor convolve(const Tensor& x, const Tensor& w) const {
    Tensor cols = im2col(one_d ? unsqueeze(x, 2) : x, win);  // [N, C*K, L]
    const int64_t N = cols.shape()[0], Cout = weight_shape[0], Kg = cols.shape()[1] / groups;
    Tensor prod = matmul(reshape(w, {groups, Cout / groups, Kg}), reshape(cols, {N, groups, Kg, win.oh * win.ow}));
    return reshape(prod, one_d ? Shape{N, Cout, win.ow} : Shape{N, Cout, win.oh, win.ow});
  }
  std::string name() const override { return "ConvolutionBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("input", &ConvolutionBackward0::input_),
                           saved("weight", &ConvolutionBackward0::weight_),
                           saved("groups", &ConvolutionBackward0::groups));
  }
};

namespace {

// out[n, g*Cog + o, l] = sum_k w[g*Cog + o, k] cols[n, g*Kg + k, l] (+ bias), on 4-D data.
Tensor conv_forward(const Tensor& x, const Tensor& w_in, const std::optional<Tensor>& b, const Window2d& win,
                    int64_t groups) {
  const int64_t N = x.shape()[0], C = x.shape()[1], Cout = w_in.shape()[0];
  const int64_t K = win.kh * win.kw, L = win.oh * win.ow, Cog = Cout / groups, Kg = (C / groups) * K;
  Tensor w = contiguous(autograd::detach(w_in));
  Tensor out = Tensor::empty({N, Cout, win.oh, win.ow}, x.dtype());
  if (out.numel() == 0) return out;
  const int64_t chunk = std::clamp<int64_t>(kColumnBudget / std::max<int64_t>(1, C * K * L), 1, N);
  Tensor cols = Tensor::empty({chunk, C * K, L}, x.dtype());
  for (int64_t n0 = 0; n0 < N; n0 += chunk) {
    const int64_t nb = std::min(chunk, N - n0);
    Tensor xs = x.as_strided({nb, C, win.H, win.W}, x.strides(), x.offset() + n0 * x.strides()[0]);
    kernels::im2col(xs, cols, win);
    for (int64_t g = 0; g < groups; ++g) {
      Tensor a = w.as_strided({nb, Cog, Kg}, {0, Kg, 1}, w.offset() + g * Cog * Kg);
      Tensor bm = cols.as_strided({nb, Kg, L}, {C * K * L, L, 1}, cols.offset() + g * Kg * L);
      Tensor c = out.as_strided({nb, Cog, L}, {Cout * L, L, 1}, out.offset() + n0 * Cout * L + g * Cog * L);
      kernels::batched_gemm(a, bm, c);
    }
  }
  if (b) kernels::add_channel_bias(out, *b);
  return out;
}

void check_args(const char* what, const std::vector<int64_t>& v, int64_t n) {
  CG_CHECK(v.size() == 1 || static_cast<int64_t>(v.size()) == n, "expected ", what,
           " to be a single integer value or a list of ", n, " values to match the convolution dimensions, but got ",
           what, "=", list_str(v));
}

int64_t at(const std::vector<int64_t>& v, int64_t i) { return v.size() == 1 ? v[0] : v[i]; }

}  // namespace

Tensor conv(int spatial, const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const ConvArgs& args) {
  const char* name = spatial == 1 ? "conv1d" : "conv2d";
  CG_CHECK(x.dim() == spatial + 1 || x.dim() == spatial + 2, "Expected ", spatial + 1, "D (unbatched) or ",
           spatial + 2, "D (batched) input to ", name, ", but got input of size: ", shape_str(x.shape()));
  if (x.dim() == spatial + 1) return squeeze_named(conv(spatial, unsqueeze(x, 0), w, b, args), {0}, "SqueezeBackward1");
  const bool same = args.padding_mode == "same";
  if (!args.padding_mode.empty()) {
    CG_CHECK(same || args.padding_mode == "valid", "Invalid padding string: '", args.padding_mode, "'");
    if (same)
      for (int64_t s : args.stride) CG_CHECK(s == 1, "padding='same' is not supported for strided convolutions");
  }
  const int64_t k = w.dim() - 2;
  std::vector<int64_t> padding = args.padding_mode.empty() ? args.padding : std::vector<int64_t>{0};
  check_args("stride", args.stride, k);
  check_args("padding", padding, k);
  check_args("dilation", args.dilation, k);
  for (int64_t s : args.stride) CG_CHECK(s > 0, "non-positive stride is not supported");
  for (int64_t p : padding) CG_CHECK(p >= 0, "negative padding is not supported");
  for (int64_t d : args.dilation) CG_CHECK(d > 0, "non-positive dilation is not supported");
  CG_CHECK(args.groups > 0, "non-positive groups is not supported");
  CG_CHECK(w.dim() == x.dim(), "Expected ", w.dim(), "-dimensional input for ", w.dim(), "-dimensional weight ",
           shape_str(w.shape()), ", but got ", x.dim(), "-dimensional input of size ", shape_str(x.shape()),
           " instead");
  const int64_t G = args.groups, Cout = w.shape()[0];
  CG_CHECK(Cout >= G, "Given groups=", G, ", expected weight to be at least ", G,
           " at dimension 0, but got weight of size ", shape_str(w.shape()), " instead");
  CG_CHECK(Cout % G == 0, "Given groups=", G, ", expected weight to be divisible by ", G,
           " at dimension 0, but got weight of size [", shape_str(w.shape()), "] instead");  // PyTorch's [[..]]
  CG_CHECK(x.shape()[1] == w.shape()[1] * G, "Given groups=", G, ", weight of size ", shape_str(w.shape()),
           ", expected input", shape_str(x.shape()), " to have ", w.shape()[1] * G, " channels, but got ",
           x.shape()[1], " channels instead");
  if (b)
    CG_CHECK(b->dim() == 1 && b->shape()[0] == Cout, "Given weight of size ", shape_str(w.shape()),
             ", expected bias to be 1-dimensional with ", Cout, " elements, but got bias of size ",
             shape_str(b->shape()), " instead");
  // Per spatial dim (height first; a 1-D convolution has a height of 1).
  int64_t kernel[2] = {1, 1}, in[2] = {1, 1}, stride[2] = {1, 1}, dil[2] = {1, 1}, pad0[2] = {0, 0}, pad1[2] = {0, 0};
  for (int64_t i = 0; i < k; ++i) {
    const int64_t d = 2 - k + i;
    kernel[d] = w.shape()[2 + i];
    in[d] = x.shape()[2 + i];
    stride[d] = at(args.stride, i);
    dil[d] = at(args.dilation, i);
    const int64_t total = same ? dil[d] * (kernel[d] - 1) : 2 * at(padding, i);
    pad0[d] = total / 2;
    pad1[d] = total - pad0[d];
  }
  std::ostringstream padded, ks;
  bool too_big = false;
  for (int64_t i = 0; i < k; ++i) {
    const int64_t d = 2 - k + i, eff = dil[d] * (kernel[d] - 1) + 1;
    padded << (i ? " x " : "") << in[d] + pad0[d] + pad1[d];
    ks << (i ? " x " : "") << eff;
    too_big = too_big || in[d] + pad0[d] + pad1[d] < eff;
  }
  CG_CHECK(!too_big, "Calculated padded input size per channel: (", padded.str(), "). Kernel size: (", ks.str(),
           "). Kernel size can't be greater than actual input size");
  // PyTorch's order: no kernel for bool input, then the float/float mismatch names the tensor
  // types, any other mismatch the scalar types.
  CG_CHECK_IMPLEMENTED(x.dtype() != DType::Bool, "\"slow_conv2d_cpu\" not implemented for 'Bool'");
  CG_CHECK(x.dtype() == w.dtype() || (is_floating(x.dtype()) && is_floating(w.dtype())), "expected scalar type ",
           scalar_type_name(x.dtype()), " but found ", scalar_type_name(w.dtype()));
  CG_CHECK(x.dtype() == w.dtype(), "Input type (", legacy_type_name(x.dtype()), ") and weight type (",
           legacy_type_name(w.dtype()), ") should be the same or input should be a MKLDNN tensor and weight is a dense tensor");
  if (b)
    CG_CHECK(b->dtype() == x.dtype(), "Input type (", cpp_type_name(x.dtype()), ") and bias type (",
             cpp_type_name(b->dtype()), ") should be the same");
  Window2d win;
  win.kh = kernel[0], win.kw = kernel[1], win.sh = stride[0], win.sw = stride[1];
  win.ph = pad0[0], win.pw = pad0[1], win.dh = dil[0], win.dw = dil[1], win.H = in[0], win.W = in[1];
  win.oh = out_size(in[0], pad0[0] + pad1[0], kernel[0], stride[0], dil[0]);
  win.ow = out_size(in[1], pad0[1] + pad1[1], kernel[1], stride[1], dil[1]);
  const bool one_d = spatial == 1;
  Tensor x4 = one_d ? with_unit_height(x) : x;
  Tensor w4 = one_d ? with_unit_height(w) : w;
  Tensor out = conv_forward(x4, w4, b, win, G);
  if (one_d) out = out.as_strided({out.shape()[0], out.shape()[1], out.shape()[3]}, {out.strides()[0], out.strides()[1], 1}, out.offset());
  if (autograd::any_requires_grad({&x, &w, b ? &*b : nullptr})) {
    auto node = ConvolutionBackward0::make({&x, &w, b ? &*b : nullptr});
    node->input_ = save_if(needs(w), x);
    node->weight_ = save_if(needs(x), w);
    node->win = win;
    node->weight_shape = w4.shape();
    node->groups = G;
    node->one_d = one_d;
    record(node, out);
  }
  return out;
}

Tensor conv1d(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const ConvArgs& args) {
  return conv(1, x, w, b, args);
}

Tensor conv2d(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const ConvArgs& args) {
  return conv(2, x, w, b, args);
}

// ---- F.unfold / F.fold

namespace {
Window2d unfold_window(int64_t H, int64_t W, const std::vector<int64_t>& kernel, const std::vector<int64_t>& dilation,
                       const std::vector<int64_t>& padding, const std::vector<int64_t>& stride) {
  CG_CHECK(kernel.size() == 2 && dilation.size() == 2 && padding.size() == 2 && stride.size() == 2,
           "It is expected kernel_size, dilation, padding and stride to be 2-dimensional");
  for (int i = 0; i < 2; ++i) {
    CG_CHECK(kernel[i] > 0, "kernel size should be greater than zero, but got kernel_height: ", kernel[0],
             " kernel_width: ", kernel[1]);
    CG_CHECK(stride[i] > 0, "stride should be greater than zero, but got stride_height: ", stride[0],
             " stride_width: ", stride[1]);
    CG_CHECK(dilation[i] > 0, "dilation should be greater than zero, but got dilation_height: ", dilation[0],
             " dilation_width: ", dilation[1]);
    CG_CHECK(padding[i] >= 0, "padding should be non-negative, but got pad_height: ", padding[0],
             " pad_width: ", padding[1]);
  }
  Window2d w;
  w.kh = kernel[0], w.kw = kernel[1], w.dh = dilation[0], w.dw = dilation[1];
  w.ph = padding[0], w.pw = padding[1], w.sh = stride[0], w.sw = stride[1], w.H = H, w.W = W;
  w.oh = out_size(H, 2 * w.ph, w.kh, w.sh, w.dh);
  w.ow = out_size(W, 2 * w.pw, w.kw, w.sw, w.dw);
  return w;
}
}  // namespace

Tensor unfold(const Tensor& x, const std::vector<int64_t>& kernel, const std::vector<int64_t>& dilation,
              const std::vector<int64_t>& padding, const std::vector<int64_t>& stride) {
  CG_CHECK(x.dim() == 3 || x.dim() == 4, "Input Error: Only 3D or 4D input Tensors are supported (got ", x.dim(), "D)");
  const int64_t H = x.shape()[x.dim() - 2], W = x.shape()[x.dim() - 1];
  Window2d w = unfold_window(H, W, kernel, dilation, padding, stride);
  CG_CHECK(nonempty_but_batch(x, 4), "Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other "
           "non-zero dimensions for input, but got: ", shape_str(x.shape()));
  CG_CHECK(w.oh >= 1 && w.ow >= 1, "Given input with spatial size (", H, ", ", W,
           "), kernel_size=(", w.kh, ", ", w.kw, "), dilation=(", w.dh, ", ", w.dw, "), padding=(", w.ph, ", ", w.pw,
           "), calculated shape of the array of sliding blocks as (", w.oh, ", ", w.ow,
           "), but its components must be at least one.");
  check_implemented_for_floating("im2col_out_cpu", x.dtype(), {DType::Bool});
  return im2col(x, w);
}

Tensor fold(const Tensor& cols, const std::vector<int64_t>& output_size, const std::vector<int64_t>& kernel,
            const std::vector<int64_t>& dilation, const std::vector<int64_t>& padding,
            const std::vector<int64_t>& stride) {
  CG_CHECK(cols.dim() == 2 || cols.dim() == 3,
           "Input Error: Only unbatched (2D) or batched (3D) input Tensors are supported (got ", cols.dim(), "D)");
  CG_CHECK(output_size.size() == 2, "It is expected output_size equals to 2, but got size ", output_size.size());
  Window2d w = unfold_window(output_size[0], output_size[1], kernel, dilation, padding, stride);
  CG_CHECK(nonempty_but_batch(cols, 3), "Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size "
           "and non-zero dimensions for input, but got: ", shape_str(cols.shape()));
  const int64_t K = w.kh * w.kw;
  const int64_t rows = cols.shape()[cols.dim() - 2], blocks = cols.shape()[cols.dim() - 1];
  CG_CHECK(rows % K == 0, "Expected size of input's dimension 1 to be divisible by the product of "
           "kernel_size, but got input.size(1)=", rows, " and kernel_size=(", w.kh, ", ", w.kw, ")");
  CG_CHECK(blocks == w.oh * w.ow, "Given output_size=(", w.H, ", ", w.W, "), kernel_size=(", w.kh, ", ",
           w.kw, "), dilation=(", w.dh, ", ", w.dw, "), padding=(", w.ph, ", ", w.pw, "), stride=(", w.sh, ", ", w.sw,
           "), expected size of input's dimension 2 to match the calculated number of sliding blocks ", w.oh, " * ",
           w.ow, " = ", w.oh * w.ow, ", but got input.size(2)=", blocks, ".");
  check_implemented_for_floating("col2im_out_cpu", cols.dtype(), {DType::Bool});
  return col2im(cols, w);
}

}  // namespace cg::ops
