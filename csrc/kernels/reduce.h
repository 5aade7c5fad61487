// Reductions over any set of dims, dim-wise scans and the fused softmax family.
#pragma once
#include <vector>

#include "core/tensor.h"

namespace cg::kernels {

enum class Reduce { Sum, Prod, Max, Min, Any, All };

// `out` has x's shape with every reduced dim set to 1 (keepdim layout); `reduced[d]` marks dims.
void reduce(Reduce op, const Tensor& x, const std::vector<bool>& reduced, const Tensor& out);

// Max or min along `dim` with the index of the first extreme (NaN counts as the extreme).
// `values`/`indices` have x's shape with dim set to 1.
void arg_reduce(bool is_max, const Tensor& x, int64_t dim, const Tensor& values, const Tensor& indices);

enum class Scan { Sum, Prod };
void scan(Scan op, const Tensor& x, int64_t dim, const Tensor& out);

// Numerically stable softmax / log_softmax along dim, and their fused VJPs:
//   softmax:     gx = y * (g - sum(g * y))       log_softmax: gx = g - exp(y) * sum(g)
void softmax(const Tensor& x, int64_t dim, bool log, const Tensor& out);
void softmax_backward(const Tensor& grad, const Tensor& y, int64_t dim, bool log, const Tensor& out);

// Calls f(x_row_ptr_bytes, out_row_offset, n, stride_bytes) for each 1-D lane along `dim`.
// Helper used by the lane-wise kernels above; exposed for fused kernels elsewhere.
struct Lanes {
  Shape outer_shape;           // x's shape without dim
  Shape outer_strides;         // x's strides without dim (elements)
  int64_t length;              // size along dim
  int64_t stride;              // x's stride along dim (elements)
};
Lanes lanes_of(const Tensor& t, int64_t dim);

}  // namespace cg::kernels
