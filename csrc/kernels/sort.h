// Sorting along the last dim of contiguous [rows, n] buffers. NaN sorts as the largest value
// (last ascending, first descending), as in PyTorch; equal elements keep their order.
#pragma once
#include "core/tensor.h"

namespace cg::kernels {

// values/indices: [rows, n] contiguous, indices int64.
void sort_rows(const Tensor& x, int64_t n, bool descending, const Tensor& values, const Tensor& indices);
// The k largest (or smallest) of each row, in sorted order; values/indices: [rows, k].
void topk_rows(const Tensor& x, int64_t n, int64_t k, bool largest, const Tensor& values, const Tensor& indices);

}  // namespace cg::kernels
