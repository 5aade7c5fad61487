// Indexing: Python-style subscripts (get and set), gather/scatter, masks.
#pragma once
#include <optional>
#include <variant>
#include <vector>

#include "core/tensor.h"

namespace cg::ops {

// One element of a subscript: x[1], x[1:5:2], x[None], x[...], x[mask], x[idx_tensor].
struct Slice {
  std::optional<int64_t> start, stop, step;
};
struct NoneIndex {};
struct EllipsisIndex {};
using IndexItem = std::variant<int64_t, Slice, NoneIndex, EllipsisIndex, Tensor>;

Tensor index(const Tensor& x, const std::vector<IndexItem>& items);
// x[items] = value (in place; records CopySlices-style history when needed).
void index_put_(Tensor& x, const std::vector<IndexItem>& items, const Tensor& value);

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);   // out of place
Tensor index_copy(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);  // out of place
Tensor movedim_front(const Tensor& t, int64_t dim);  // a view with `dim` first (no autograd)
Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value);  // value: 0-d
Tensor masked_select(const Tensor& x, const Tensor& mask);
Tensor nonzero(const Tensor& x);

}  // namespace cg::ops
