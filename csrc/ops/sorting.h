// Sorting and selection along a dim: sort, argsort, topk.
#pragma once
#include <tuple>

#include "core/tensor.h"

namespace cg::ops {

// (values, indices); `stable_overload` names the node SortBackward1 as PyTorch's stable= form does.
// `stable_overload`: called with stable= (names the node SortBackward1); `stable`: its value.
std::tuple<Tensor, Tensor> sort(const Tensor& x, int64_t dim, bool descending, bool stable_overload = false,
                                bool stable = false);
Tensor argsort(const Tensor& x, int64_t dim, bool descending, bool stable = false);
// The k largest (or smallest) along dim, in sorted order unless `sorted` is false: (values, indices).
std::tuple<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted = true);

}  // namespace cg::ops
