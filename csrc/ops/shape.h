// Views (share memory; gradients flow back through the view) and shape-changing copies.
#pragma once
#include <vector>

#include "core/tensor.h"

namespace cg::ops {

Tensor view(const Tensor& x, const Shape& shape);     // errors when the layout forbids a view
Tensor reshape(const Tensor& x, const Shape& shape);  // a view when possible, else a copy
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor transpose(const Tensor& x, int64_t d0, int64_t d1);
Tensor t(const Tensor& x);                            // 2-D transpose (<= 2-D)
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor squeeze(const Tensor& x);
Tensor squeeze(const Tensor& x, const std::vector<int64_t>& dims);
Tensor squeeze_named(const Tensor& x, const std::vector<int64_t>& dims, const char* node_name);
Tensor alias(const Tensor& x);                            // the same view (AliasBackward0), as x[...] gives
Tensor unsafe_view(const Tensor& x, const Shape& shape);  // reshape of a fresh result, not a view (UnsafeViewBackward0)
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor expand(const Tensor& x, const Shape& shape);   // -1 keeps a size
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
Tensor select(const Tensor& x, int64_t dim, int64_t index);
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t stop, int64_t step);  // start/stop clamped
Tensor as_strided(const Tensor& x, const Shape& shape, const Shape& strides, int64_t offset);
Tensor diagonal(const Tensor& x, int64_t offset = 0, int64_t d0 = 0, int64_t d1 = 1);

Tensor cat(const std::vector<Tensor>& xs, int64_t dim);
Tensor stack(const std::vector<Tensor>& xs, int64_t dim);
std::vector<Tensor> split(const Tensor& x, int64_t size, int64_t dim);
std::vector<Tensor> split_sizes(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim);
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim);
std::vector<Tensor> unbind(const Tensor& x, int64_t dim);
Tensor repeat(const Tensor& x, const Shape& repeats);
Tensor flip(const Tensor& x, const std::vector<int64_t>& dims);

}  // namespace cg::ops
