// Fused losses of nn.functional.
#pragma once
#include <optional>
#include <string>

#include "core/tensor.h"

namespace cg::ops {

enum class Reduction { None, Mean, Sum };
Reduction reduction_from(const std::string& name);

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction r);
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction r);
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const std::optional<Tensor>& weight, Reduction r,
                int64_t ignore_index);
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const std::optional<Tensor>& weight, Reduction r,
                     int64_t ignore_index, double label_smoothing);
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const std::optional<Tensor>& weight,
                            Reduction r);
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const std::optional<Tensor>& weight,
                                        const std::optional<Tensor>& pos_weight, Reduction r);
Tensor dropout(const Tensor& x, double p, bool training);
// smooth_l1 (beta = 0 is plain L1, as in PyTorch) and huber (delta > 0).
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction r, double beta);
Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction r, double delta);

}  // namespace cg::ops
