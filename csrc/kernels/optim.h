// Fused optimizer updates: one pass over a parameter per step (PyTorch's algorithms).
#pragma once
#include "core/tensor.h"

namespace cg::kernels {

struct SgdOptions {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, maximize, first_step;
};
// param -= lr * d, where g = grad (+ wd * param) (negated if maximize); with momentum
// buf = first_step ? g : momentum * buf + (1 - dampening) * g, d = nesterov ? g + momentum * buf : buf.
void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buf, const SgdOptions& o);

struct AdamOptions {
  double lr, beta1, beta2, eps, weight_decay;
  int64_t step;
  bool amsgrad, decoupled_weight_decay, maximize;
};
// Adam / AdamW with bias correction; `max_exp_avg_sq` is used when amsgrad.
void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
               const Tensor& max_exp_avg_sq, const AdamOptions& o);

}  // namespace cg::kernels
