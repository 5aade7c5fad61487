// Sorting and selection along a dim: sort, argsort, topk.
#pragma once
#include <tuple>

#include "core/tensor.h"

namespace cg::ops {

// (values, indices); `stable_overload` names the node SortBackward1 as PyTorch's stable= form does.
std::tuple<Tensor, Tensor> sort(const Tensor& x, int64_t dim, bool descending, bool stable_overload = false);
Tensor argsort(const Tensor& x, int64_t dim, bool descending);
// The k largest (or smallest) along dim, in sorted order: (values, indices).
std::tuple<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest);

}  // namespace cg::ops
