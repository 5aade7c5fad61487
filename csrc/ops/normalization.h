// Normalization layers and embedding lookup: fused forward kernels, one node each named like
// PyTorch's, whose VJP runs a fused kernel for first derivatives and a differentiable
// composition when a higher order is being recorded (create_graph=True).
#pragma once
#include <optional>

#include "core/tensor.h"

namespace cg::ops {

// Normalizes over the trailing dims given by normalized_shape (NativeLayerNormBackward0).
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const std::optional<Tensor>& weight,
                  const std::optional<Tensor>& bias, double eps);

// Per-channel (dim 1) normalization (NativeBatchNormBackward0). In training the batch statistics
// are used and running_mean/running_var (when given) are updated in place with `momentum`,
// the variance unbiased; otherwise the running statistics are used.
Tensor batch_norm(const Tensor& x, const std::optional<Tensor>& running_mean, const std::optional<Tensor>& running_var,
                  const std::optional<Tensor>& weight, const std::optional<Tensor>& bias, bool training,
                  double momentum, double eps);

// Rows of `weight` picked by int64 `indices` (EmbeddingBackward0). Rows equal to padding_idx get
// no gradient; scale_grad_by_freq divides each row's gradient by its count in `indices`.
Tensor embedding(const Tensor& weight, const Tensor& indices, std::optional<int64_t> padding_idx,
                 bool scale_grad_by_freq);

}  // namespace cg::ops
