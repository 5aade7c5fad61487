// Sorting along the last dim of contiguous [rows, n] buffers. NaN sorts as the largest value
// (last ascending, first descending), as in PyTorch; equal elements come in the order PyTorch's
// CPU kernels give them (in position order for a stable sort).
#pragma once
#include "core/tensor.h"

namespace cg::kernels {

// values/indices: [rows, n] contiguous, indices int64.
void sort_rows(const Tensor& x, int64_t n, bool descending, const Tensor& values, const Tensor& indices,
               bool stable = false);
// The k largest (or smallest) of each row, in sorted order unless `sorted` is false;
// values/indices: [rows, k].
void topk_rows(const Tensor& x, int64_t n, int64_t k, bool largest, const Tensor& values, const Tensor& indices,
               bool sorted = true);

}  // namespace cg::kernels
