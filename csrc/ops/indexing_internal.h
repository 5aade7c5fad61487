// Helpers shared by the indexing files (indexing.cpp, subscript.cpp).
#pragma once
#include "core/tensor.h"

namespace cg::ops {

// out = copy of `x` with rows `idx` (along dim; checked, in range) added from / replaced by `src`
// (no autograd).
Tensor rows_op(const Tensor& x, int64_t dim, const Tensor& idx, const Tensor& src, bool accumulate);

}  // namespace cg::ops
