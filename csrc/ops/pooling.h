// 2-D max and average pooling over [N, C, H, W] or [C, H, W] inputs (1-D pooling is composed
// over a height of 1 in Python, as PyTorch does).
#pragma once
#include <optional>
#include <tuple>
#include <vector>

#include "core/tensor.h"

namespace cg::ops {

// kernel, stride, padding, dilation: two entries each (stride empty = kernel).
struct PoolArgs {
  std::vector<int64_t> kernel, stride, padding{0, 0}, dilation{1, 1};
  bool ceil_mode = false;
};

// (values, int64 indices into each input plane): MaxPool2DWithIndicesBackward0.
std::tuple<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, const PoolArgs& args);
// AvgPool2DBackward0; its VJP is a differentiable op too (AvgPool2DBackwardBackward0).
Tensor avg_pool2d(const Tensor& x, const PoolArgs& args, bool count_include_pad,
                  std::optional<int64_t> divisor_override);

}  // namespace cg::ops
