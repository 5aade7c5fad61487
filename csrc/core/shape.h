// Shapes, strides (in elements), broadcasting and dimension wrapping.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/errors.h"

namespace cg {

using Shape = std::vector<int64_t>;

// Product of the sizes; RuntimeError on int64 overflow (a view expanded to 2^40 x 2^40).
int64_t numel_of(const Shape& shape);
// Bytes a contiguous buffer of `shape` needs; RuntimeError on negative sizes or overflow.
size_t storage_nbytes(const Shape& shape, size_t itemsize);
Shape contiguous_strides(const Shape& shape);
std::string shape_str(const Shape& shape);  // "[2, 3]"
std::string size_str(const Shape& shape);   // "chaingrad.Size([2, 3])"

// PyTorch's broadcasting rule; the RuntimeError uses PyTorch's wording (both sizes and the
// failing dimension) followed by both full shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b);

// Wraps a possibly negative dim into [0, ndim); scalars accept -1 and 0 as PyTorch does.
int64_t wrap_dim(int64_t dim, int64_t ndim);

// Infers a single -1 in a requested shape; errors name the shape and the input size.
Shape infer_size(const Shape& requested, int64_t numel);

// Strides for viewing (shape, strides) as `new_shape` without a copy, or empty if impossible.
bool compute_view_strides(const Shape& shape, const Shape& strides, const Shape& new_shape,
                          Shape& new_strides);

}  // namespace cg
