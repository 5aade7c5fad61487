// Indexing kernels: gather/scatter along a dim, and block copies at precomputed offsets
// (the primitive behind advanced indexing, index_select and their gradients).
#pragma once
#include "core/tensor.h"

namespace cg::kernels {

// out[i][j][k] = x[i][index[i][j][k]][k] (for dim = 1); index is int64, out has index's shape.
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

// Checks every index is within [-size, size) and wraps negatives; errors in PyTorch's words.
Tensor checked_index(const Tensor& index, int64_t size, int64_t dim);

}  // namespace cg::kernels
