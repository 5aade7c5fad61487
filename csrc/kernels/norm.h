// Normalization kernels (layer norm, batch norm) over contiguous buffers. The ops layer passes
// contiguous inputs in one floating dtype and allocates every output; these functions only compute.
// Statistics accumulate in double for float32 inputs.
#pragma once
#include "core/tensor.h"

namespace cg::kernels {

// x viewed as [rows, n] (normalized over the last n elements of each row); w and b are [n] or
// undefined. Writes out (x's shape), mean and rstd ([rows]) with rstd = 1 / sqrt(var + eps), var biased.
void layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, double eps, int64_t n, const Tensor& out,
                const Tensor& mean, const Tensor& rstd);
// First-order VJP of layer_norm; dx, dw, db may each be undefined (not wanted).
void layer_norm_backward(const Tensor& g, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& w, int64_t n, const Tensor& dx, const Tensor& dw, const Tensor& db);

// x viewed as [N, C, S] (channel dim 1, everything after it flattened into S).
// Per-channel mean and biased variance.
void batch_norm_stats(const Tensor& x, int64_t channels, const Tensor& mean, const Tensor& var);
// out = (x - mean[c]) * invstd[c] * w[c] + b[c]; w and b may be undefined.
void batch_norm_apply(const Tensor& x, int64_t channels, const Tensor& mean, const Tensor& invstd, const Tensor& w,
                      const Tensor& b, const Tensor& out);
// First-order VJP. With `batch_stats` the statistics depend on x (training); otherwise they are
// constants (running statistics in eval mode). dx, dw, db may each be undefined.
void batch_norm_backward(const Tensor& g, const Tensor& x, int64_t channels, const Tensor& mean,
                         const Tensor& invstd, const Tensor& w, bool batch_stats, const Tensor& dx,
                         const Tensor& dw, const Tensor& db);

}  // namespace cg::kernels
