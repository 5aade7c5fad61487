// sort / argsort / topk: the kernels work on rows of a contiguous copy with `dim` last; the VJP
// scatters the gradient back to the positions the indices name (differentiable, so every order).
#include "ops/sorting.h"

#include "kernels/sort.h"
#include "ops/common.h"
#include "ops/ops.h"

namespace cg::ops {

struct SelectBackward : BackwardNode<SelectBackward> {  // SortBackward0/1 and TopkBackward0
  SavedTensor indices_;
  Shape input_shape;
  int64_t dim = 0;
  const char* node_name = "SortBackward0";
  TensorList apply(TensorList&& g) override {
    Tensor idx = indices_.unpack(*this);
    if (input_shape.empty()) return {reshape(g[0], input_shape)};
    return {scatter_add(Tensor::zeros(input_shape, g[0].dtype()), dim, idx, g[0])};
  }
  TensorList jvp(const TensorList& t) override {  // the tangent at the selected positions
    if (input_shape.empty()) return {t[0]};
    return {gather(t[0], dim, indices_.unpack(*this))};
  }
  static auto saved_fields() {
    return std::make_tuple(saved("indices", &SelectBackward::indices_),
                           saved("self_sym_sizes", &SelectBackward::input_shape),
                           saved("dim", &SelectBackward::dim));
  }
};

namespace {
// Runs `kernel(rows_view, n, values, indices)` with `dim` moved last, and moves it back.
template <typename K>
std::tuple<Tensor, Tensor> along_dim(const Tensor& x, int64_t d, int64_t out_len, const K& kernel) {
  Tensor moved = contiguous(transpose(autograd::detach(x), d, -1));
  const int64_t n = x.shape()[d];
  Shape out_shape = moved.shape();
  out_shape.back() = out_len;
  Tensor values = Tensor::empty(out_shape, x.dtype()), indices = Tensor::empty(out_shape, DType::Int64);
  if (numel_of(out_shape) > 0) kernel(moved, n, values, indices);
  return {contiguous(transpose(values, d, -1)), contiguous(transpose(indices, d, -1))};
}

void record_selection(const Tensor& x, const Tensor& values, const Tensor& indices, int64_t d, const char* name) {
  if (!autograd::any_requires_grad({&x})) return;
  auto node = SelectBackward::make({&x});
  node->indices_ = SavedTensor(indices, false);
  node->input_shape = x.shape();
  node->dim = d;
  node->node_name = name;
  record(node, values);
}
}  // namespace

std::tuple<Tensor, Tensor> sort(const Tensor& x, int64_t dim, bool descending, bool stable_overload, bool stable) {
  const char* name = stable_overload ? "SortBackward1" : "SortBackward0";
  if (x.dim() == 0) {
    wrap_dim(dim, 1);
    Tensor values = clone(autograd::detach(x)), indices = Tensor::zeros({}, DType::Int64);
    record_selection(x, values, indices, 0, name);
    return {values, indices};
  }
  const int64_t d = wrap_dim(dim, x.dim());
  auto [values, indices] = along_dim(x, d, x.shape()[d], [&](const Tensor& m, int64_t n, const Tensor& v, const Tensor& i) {
    kernels::sort_rows(m, n, descending, v, i, stable);
  });
  record_selection(x, values, indices, d, name);
  return {values, indices};
}

Tensor argsort(const Tensor& x, int64_t dim, bool descending, bool stable) {
  return std::get<1>(sort(autograd::detach(x), dim, descending, false, stable));
}

std::tuple<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
  const int64_t d = wrap_dim(dim, std::max<int64_t>(x.dim(), 1));
  const int64_t size = x.dim() ? x.shape()[d] : 1;
  CG_CHECK(k >= 0 && k <= size, "selected index k out of range");
  CG_CHECK(x.dtype() != DType::Bool, "topk does not support bool dtypes on CPU");
  if (x.dim() == 0) {
    // PyTorch returns the element itself for k = 0 as well.
    Tensor values = clone(autograd::detach(x)), indices = Tensor::zeros({}, DType::Int64);
    record_selection(x, values, indices, 0, "TopkBackward0");
    return {values, indices};
  }
  auto [values, indices] = along_dim(x, d, k, [&](const Tensor& m, int64_t n, const Tensor& v, const Tensor& i) {
    kernels::topk_rows(m, n, k, largest, v, i, sorted);
  });
  record_selection(x, values, indices, d, "TopkBackward0");
  return {values, indices};
}

}  // namespace cg::ops
