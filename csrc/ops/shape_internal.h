// Helpers shared by the shape files (shape.cpp, shape_join.cpp).
#pragma once
#include "core/tensor.h"

namespace cg::ops {

// slice / select recording a node of the given name (cat's and unbind's VJPs reuse them).
Tensor slice_named(const Tensor& x, int64_t dim, int64_t start, int64_t stop, int64_t step, const char* name);
Tensor select_named(const Tensor& x, int64_t dim, int64_t index, const char* name);

}  // namespace cg::ops
