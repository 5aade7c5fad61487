// Sliding-window kernels over [N, C, H, W] planes: im2col / col2im (convolution through BLAS)
// and max / average pooling. Pure compute on strided buffers: no autograd.
#pragma once
#include "core/tensor.h"

namespace cg::kernels {

// A 2-D window: output (i, j) covers input rows i*sh - ph + a*dh (a < kh) and columns
// j*sw - pw + b*dw (b < kw); rows and columns outside [0, H) x [0, W) are padding.
// Padding at the end is implied by the output size (so asymmetric padding needs no copy).
struct Window2d {
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  int64_t H = 1, W = 1, oh = 1, ow = 1;
};

// cols[n, (c*kh + a)*kw + b, i*ow + j] = x[n, c, i*sh - ph + a*dh, j*sw - pw + b*dw], 0 in padding.
// x: [N, C, H, W], any strides; cols: contiguous [N, C*kh*kw, oh*ow].
void im2col(const Tensor& x, const Tensor& cols, const Window2d& w);
// The adjoint of im2col: x[n, c, h, w] = the sum of the cols entries that read it.
// cols: contiguous [N, C*kh*kw, oh*ow]; x: contiguous [N, C, H, W], overwritten.
void col2im(const Tensor& cols, const Tensor& x, const Window2d& w);

// out[n, c, l] += bias[c] for contiguous out [N, C, L] and 1-D bias (any stride).
void add_channel_bias(const Tensor& out, const Tensor& bias);

// out[n, c, i, j] = max over the window (NaN wins, as in PyTorch); indices = h*W + w of the
// maximum in its input plane. x: [N, C, H, W] any strides; out, indices: contiguous [N, C, oh, ow].
void max_pool2d(const Tensor& x, const Tensor& out, const Tensor& indices, const Window2d& w);

// Average pooling: the window sum over a divisor, which is `divisor` when > 0, else the window's
// size clipped to the padded input (count_include_pad) or its number of input elements.
struct AvgDivisor {
  bool count_include_pad = true;
  int64_t divisor = 0;
};
void avg_pool2d(const Tensor& x, const Tensor& out, const Window2d& w, const AvgDivisor& d);
// Its adjoint: gx (contiguous [N, C, H, W], overwritten) from g ([N, C, oh, ow], any strides).
void avg_pool2d_backward(const Tensor& g, const Tensor& gx, const Window2d& w, const AvgDivisor& d);

}  // namespace cg::kernels
