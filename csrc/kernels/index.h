// Indexing kernels: gather/scatter along a dim, and block copies at precomputed offsets
// (the primitive behind advanced indexing, index_select and their gradients).
#pragma once
#include <functional>

#include "core/tensor.h"

namespace cg::kernels {

// out[i][j][k] = x[i][index[i][j][k]][k] (for dim = 1); index is int64, out has index's shape.
// Both check their buffers' shapes and dtypes and every index (negatives are out of range).
void gather(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out);
// out[i][index[i][j][k]][k] (+)= src[i][j][k]; accumulate=false overwrites.
void scatter(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src, bool accumulate);

// For each b, copies the block `x_block` (a view whose offset is the base) shifted by offsets[b]
// elements into out[b, ...]: out shape = [nb] + block shape.
void take_blocks(const Tensor& x_block, const Tensor& offsets, const Tensor& out);
// The reverse: dst_block shifted by offsets[b] (+)= src[b, ...].
void put_blocks(const Tensor& dst_block, const Tensor& offsets, const Tensor& src, bool accumulate);

// Coordinates of the nonzero elements: (n, ndim) int64.
Tensor nonzero(const Tensor& x);

// The one index validation of every indexing op. Subscripts (x[idx], index_fill, take) accept
// [-size, size) and wrap negatives; the dim ops (gather, scatter, index_select, index_add,
// index_copy) accept [0, size) only, as PyTorch does.
enum class Negative { Wrap, Reject };
inline bool index_in_range(int64_t v, int64_t size, Negative neg) {
  return v < size && v >= (neg == Negative::Wrap ? -size : 0);
}
// Called with the first bad index; throws the op's own error (PyTorch words them differently).
using OutOfRange = std::function<void(int64_t value)>;
// "index v is out of bounds for dimension d with size n" as an IndexError (or RuntimeError).
OutOfRange out_of_bounds(int64_t dim, int64_t size, bool runtime_error = false, const char* prefix = "");
// An int64 contiguous copy of `index` (int64 or int32) with every value checked, negatives wrapped.
Tensor checked_index(const Tensor& index, int64_t size, Negative neg, const OutOfRange& fail);

}  // namespace cg::kernels
