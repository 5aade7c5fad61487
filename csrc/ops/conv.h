// Convolution (1-D and 2-D, through im2col and BLAS) and the im2col pair unfold / fold.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "kernels/conv.h"

namespace cg::ops {

// nn.functional.conv1d / conv2d arguments; each list has one entry or one per spatial dim.
// padding_mode "same" or "valid" replaces `padding` (as PyTorch's string padding does).
struct ConvArgs {
  std::vector<int64_t> stride{1}, padding{0}, dilation{1};
  std::string padding_mode;
  int64_t groups = 1;
};

// F.conv1d (spatial = 1) / F.conv2d (spatial = 2): batched or unbatched input, PyTorch's checks
// and messages. One ConvolutionBackward0 node whose VJP is itself made of differentiable ops.
Tensor conv(int spatial, const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const ConvArgs& args);
Tensor conv1d(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const ConvArgs& args);
Tensor conv2d(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const ConvArgs& args);

// im2col on [N, C, H, W] (Im2ColBackward0) and its adjoint col2im (Col2ImBackward0): each one's
// VJP is the other, so gradients of every order exist.
Tensor im2col(const Tensor& x, const kernels::Window2d& w);
Tensor col2im(const Tensor& cols, const kernels::Window2d& w);
// F.unfold / F.fold (kernel, dilation, padding, stride: two entries each).
Tensor unfold(const Tensor& x, const std::vector<int64_t>& kernel, const std::vector<int64_t>& dilation,
              const std::vector<int64_t>& padding, const std::vector<int64_t>& stride);
Tensor fold(const Tensor& cols, const std::vector<int64_t>& output_size, const std::vector<int64_t>& kernel,
            const std::vector<int64_t>& dilation, const std::vector<int64_t>& padding,
            const std::vector<int64_t>& stride);

}  // namespace cg::ops
