// Indexing. Basic subscripts (ints, slices, None, ...) are views. Advanced ones (integer and
// bool tensors) reduce to one primitive pair on a 2-D layout: index_select of rows, whose VJP
// is index_add of rows, and back again, so every indexing gradient is differentiable.
#include "ops/indexing.h"

#include <limits>
#include <numeric>

#include "kernels/elementwise.h"
#include "kernels/index.h"
#include "ops/common.h"
#include "ops/inplace.h"
#include "ops/ops.h"

namespace cg::ops {

using autograd::any_requires_grad;
using autograd::make_grad_node;
using autograd::set_history;

namespace {

using kernels::Negative;

// out = copy of `x` with rows `idx` (along dim; checked, in range) added from / replaced by `src`
// (no autograd).
Tensor rows_op(const Tensor& x, int64_t dim, const Tensor& idx, const Tensor& src, bool accumulate) {
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  kernels::copy(out, x);
  Tensor offsets = Tensor::empty(idx.shape(), DType::Int64);
  const int64_t stride = x.dim() ? out.strides()[dim] : 0;
  for (int64_t i = 0; i < idx.numel(); ++i) offsets.data<int64_t>()[i] = idx.data<int64_t>()[i] * stride;
  Shape bshape = out.shape(), bstr = out.strides();
  if (x.dim()) {
    bshape.erase(bshape.begin() + dim);
    bstr.erase(bstr.begin() + dim);
  }
  Tensor srcp = cast_data(src, x.dtype());
  if (x.dim()) srcp = movedim_front(srcp, dim);
  kernels::put_blocks(out.as_strided(bshape, bstr, 0), offsets, srcp, accumulate);
  return out;
}

}  // namespace

// Moves `dim` to the front as a view (helper for row-wise kernels).
Tensor movedim_front(const Tensor& t, int64_t dim) {
  std::vector<int64_t> perm(t.dim());
  std::iota(perm.begin(), perm.end(), 0);
  perm.erase(perm.begin() + dim);
  perm.insert(perm.begin(), dim);
  Shape s(t.dim()), st(t.dim());
  for (int64_t i = 0; i < t.dim(); ++i) { s[i] = t.shape()[perm[i]]; st[i] = t.strides()[perm[i]]; }
  return t.as_strided(s, st, t.offset());
}

// ---- index_select / index_add / index_copy ---------------------------------------------------
struct IndexSelectBackward0 : Node {
  SavedTensor index_;
  Shape input_shape;
  int64_t dim = 0;
  TensorList apply(TensorList&& g) override {
    return {index_add(Tensor::zeros(input_shape, g[0].dtype()), dim, index_.unpack(*this), g[0])};
  }
  void release_saved() override { index_.release(); }
  std::string name() const override { return "IndexSelectBackward0"; }
};

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  CG_CHECK(index.dtype() == DType::Int64, "index_select(): Expected dtype int32 or int64 for index");
  CG_CHECK_INDEX(index.dim() <= 1, "index_select(): Index is supposed to be a vector");
  int64_t d = x.dim() ? wrap_dim(dim, x.dim()) : 0;
  const int64_t size = x.dim() ? x.shape()[d] : 1;
  CG_CHECK(x.dim() > 0 || index.numel() == 1, "index_select(): Index to scalar can have only 1 value, got ",
           index.numel(), " value(s)");
  CG_CHECK(size > 0 || index.numel() == 0, "index_select(): self indexing axis dim should be positive");
  // PyTorch's CPU kernels word this two ways: the dim-0 path and the strided one.
  Tensor idx = kernels::checked_index(index, size, Negative::Reject, [&](int64_t v) {
    if (d == 0) throw IndexError("index out of range in self");
    throw RuntimeError(msg("INDICES element is out of DATA bounds, id=", v, " axis_dim=", size));
  });
  Shape oshape = x.shape();
  if (x.dim()) oshape[d] = idx.numel();
  Tensor out = Tensor::empty(oshape, x.dtype());
  if (out.numel() > 0 || idx.numel() > 0) {
    Tensor offsets = Tensor::empty({idx.numel()}, DType::Int64);
    const int64_t stride = x.dim() ? x.strides()[d] : 0;
    for (int64_t i = 0; i < idx.numel(); ++i) offsets.data<int64_t>()[i] = idx.data<int64_t>()[i] * stride;
    Shape bshape = x.shape(), bstr = x.strides();
    if (x.dim()) { bshape.erase(bshape.begin() + d); bstr.erase(bstr.begin() + d); }
    Tensor outp = x.dim() ? movedim_front(out, d) : reshape(out, {1});
    kernels::take_blocks(x.as_strided(bshape, bstr, x.offset()), offsets, outp);
  }
  if (any_requires_grad({&x})) {
    auto node = make_grad_node<IndexSelectBackward0>({&x, nullptr});
    node->index_ = SavedTensor(idx, false);
    node->input_shape = x.shape();
    node->dim = d;
    set_history(out, node);
  }
  return out;
}

struct IndexAddBackward0 : Node {
  SavedTensor index_;
  int64_t dim = 0;
  TensorList apply(TensorList&& g) override {
    TensorList r(3);
    if (should_compute_output(0)) r[0] = g[0];
    if (should_compute_output(2)) r[2] = index_select(g[0], dim, index_.unpack(*this));
    return r;
  }
  void release_saved() override { index_.release(); }
  std::string name() const override { return "IndexAddBackward0"; }
};

// Checks index_add/index_copy arguments; returns the checked index.
static Tensor check_index_rows(const Tensor& x, int64_t d, const Tensor& index, const Tensor& src, const char* op) {
  CG_CHECK_INDEX(index.dim() <= 1, op, "(): Index is supposed to be a vector, but got dim: ", index.dim(),
                 " with type: ", index.dtype() == DType::Int64 ? "Long" : "Float", " and size: ", shape_str(index.shape()));
  CG_CHECK(index.dtype() == DType::Int64, op, "(): Expected dtype int32/int64 for index");
  CG_CHECK(x.dim() == src.dim() || (x.dim() <= 1 && src.dim() <= 1),
           "source tensor shape must match self tensor shape, excluding the specified dimension. Got self.shape = ",
           shape_str(x.shape()), " source.shape = ", shape_str(src.shape()));
  const int64_t n_src = src.dim() ? src.shape()[d] : 1;
  CG_CHECK(index.numel() == n_src, op, "(): Number of indices (", index.numel(), ") should be equal to source.size(dim): (",
           n_src, "), for dim: ", d);
  for (int64_t k = 0; k < x.dim(); ++k)
    CG_CHECK(k == d || x.shape()[k] == src.shape()[k],
             "source tensor shape must match self tensor shape, excluding the specified dimension. Got self.shape = ",
             shape_str(x.shape()), " source.shape = ", shape_str(src.shape()));
  const int64_t size = x.dim() ? x.shape()[d] : 1;
  if (std::string(op) == "index_copy_") return kernels::checked_index(index, size, Negative::Reject,
                                                                      kernels::out_of_bounds(d, size, false, "index_copy_(): "));
  // index_add: PyTorch's scatter path (first and last dim of a >= 2-D self) says where; its
  // slice path (1-D self, middle dims) does not.
  const bool scatter_path = x.dim() > 1 && (d == 0 || d == x.dim() - 1);
  return kernels::checked_index(index, size, Negative::Reject, [&](int64_t v) {
    if (scatter_path) kernels::out_of_bounds(d, size, true)(v);
    throw IndexError("index out of range in self");
  });
}

Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  int64_t d = x.dim() ? wrap_dim(dim, x.dim()) : 0;
  Tensor idx = check_index_rows(x, d, index, src, "index_add_");
  Tensor out = rows_op(x, d, idx, src, true);
  if (any_requires_grad({&x, &src})) {
    auto node = make_grad_node<IndexAddBackward0>({&x, nullptr, &src});
    node->index_ = SavedTensor(index, false);
    node->dim = d;
    set_history(out, node);
  }
  return out;
}

struct IndexCopyBackward0 : Node {
  SavedTensor index_;
  int64_t dim = 0;
  TensorList apply(TensorList&& g) override {
    TensorList r(3);
    Tensor idx = index_.unpack(*this);
    if (should_compute_output(0)) {
      Tensor zeros = Tensor::zeros(idx.numel() ? index_select(autograd::detach(g[0]), dim, idx).shape() : Shape{0}, g[0].dtype());
      r[0] = index_copy(g[0], dim, idx, zeros);
    }
    if (should_compute_output(2)) r[2] = index_select(g[0], dim, idx);
    return r;
  }
  void release_saved() override { index_.release(); }
  std::string name() const override { return "IndexPutBackward0"; }
};

Tensor index_copy(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  int64_t d = x.dim() ? wrap_dim(dim, x.dim()) : 0;
  Tensor idx = check_index_rows(x, d, index, src, "index_copy_");
  Tensor out = rows_op(x, d, idx, src, false);
  if (any_requires_grad({&x, &src})) {
    auto node = make_grad_node<IndexCopyBackward0>({&x, nullptr, &src});
    node->index_ = SavedTensor(index, false);
    node->dim = d;
    set_history(out, node);
  }
  return out;
}

// ---- gather / scatter ------------------------------------------------------------------------
struct GatherBackward0 : Node {
  SavedTensor index_;
  Shape input_shape;
  int64_t dim = 0;
  TensorList apply(TensorList&& g) override {
    return {scatter_add(Tensor::zeros(input_shape, g[0].dtype()), dim, index_.unpack(*this), g[0])};
  }
  void release_saved() override { index_.release(); }
  std::string name() const override { return "GatherBackward0"; }
};

static void check_gather_shapes(const Tensor& x, int64_t dim, const Tensor& index, const char* op) {
  CG_CHECK(index.dtype() == DType::Int64, op, "(): Expected dtype int32/int64 for index");
  CG_CHECK(index.dim() == x.dim() || (index.dim() <= 1 && x.dim() <= 1),
           "Index tensor must have the same number of dimensions as input tensor");
  for (int64_t d = 0; d < index.dim() && x.dim() > 0 && index.numel() > 0; ++d)
    CG_CHECK(d == dim || index.shape()[d] <= x.shape()[d], "Size does not match at dimension ", d,
             " expected index ", shape_str(index.shape()), " to be no larger than self ", shape_str(x.shape()),
             " apart from dimension ", dim);
}

static void check_scatter_shapes(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  CG_CHECK(index.dtype() == DType::Int64, "scatter(): Expected dtype int32/int64 for index");
  CG_CHECK(x.dtype() == src.dtype(), "scatter(): Expected self.dtype to be equal to src.dtype");
  CG_CHECK(index.dim() == x.dim() || (index.dim() <= 1 && x.dim() <= 1),
           "Index tensor must have the same number of dimensions as self tensor");
  CG_CHECK(index.dim() == src.dim() || (index.dim() <= 1 && src.dim() <= 1),
           "Index tensor must have the same number of dimensions as src tensor");
  bool ok = true;
  for (int64_t d = 0; d < index.dim(); ++d) {
    const int64_t xs = x.dim() ? x.shape()[d] : 1, ss = src.dim() ? src.shape()[d] : 1;
    if ((d != dim && index.shape()[d] > xs) || index.shape()[d] > ss) ok = false;
  }
  CG_CHECK(ok, "Expected index ", shape_str(index.shape()), " to be no larger than self ", shape_str(x.shape()),
           " apart from dimension ", dim, " and to be no larger size than src ", shape_str(src.shape()));
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  int64_t d = x.dim() ? wrap_dim(dim, x.dim()) : 0;
  check_gather_shapes(x, d, index, "gather");
  Tensor out = Tensor::empty(index.shape(), x.dtype());
  kernels::gather(x, d, index, out);
  if (any_requires_grad({&x})) {
    auto node = make_grad_node<GatherBackward0>({&x, nullptr});
    node->index_ = SavedTensor(index, false);
    node->input_shape = x.shape();
    node->dim = d;
    set_history(out, node);
  }
  return out;
}

struct ScatterBackward : Node {
  SavedTensor index_;
  Shape src_shape;
  int64_t dim = 0;
  bool accumulate = true;
  TensorList apply(TensorList&& g) override {
    TensorList r(3);
    Tensor idx = index_.unpack(*this);
    if (should_compute_output(0))
      r[0] = accumulate ? g[0] : scatter(g[0], dim, idx, Tensor::zeros(idx.shape(), g[0].dtype()));
    if (should_compute_output(2)) {
      Tensor gs = gather(g[0], dim, idx);
      for (int64_t d = 0; d < gs.dim(); ++d) {  // src may be larger than index: zeros beyond it
        if (gs.shape()[d] == src_shape[d]) continue;
        Shape pad = gs.shape();
        pad[d] = src_shape[d] - gs.shape()[d];
        gs = cat({gs, Tensor::zeros(pad, gs.dtype())}, d);
      }
      r[2] = gs;
    }
    return r;
  }
  void release_saved() override { index_.release(); }
  std::string name() const override { return accumulate ? "ScatterAddBackward0" : "ScatterBackward0"; }
};

static Tensor scatter_impl(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, bool accumulate) {
  int64_t d = x.dim() ? wrap_dim(dim, x.dim()) : 0;
  check_scatter_shapes(x, d, index, src);
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  kernels::copy(out, x);
  kernels::scatter(out, d, index, src, accumulate);
  if (any_requires_grad({&x, &src})) {
    auto node = make_grad_node<ScatterBackward>({&x, nullptr, &src});
    node->index_ = SavedTensor(index, false);
    node->src_shape = src.shape();
    node->dim = d;
    node->accumulate = accumulate;
    set_history(out, node);
  }
  return out;
}

Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  return scatter_impl(x, dim, index, src, true);
}
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  return scatter_impl(x, dim, index, src, false);
}

// ---- masks -----------------------------------------------------------------------------------
// PyTorch names the Scalar overload ...0 and the Tensor one ...1; the bindings pass numbers as
// untracked 0-d tensors, so a value that requires grad is taken as the Tensor form.
struct MaskedFillBackward0 : Node {
  SavedTensor mask_;
  Shape self_shape;
  DType value_dtype = DType::Float32;
  bool tensor_value = false;
  TensorList apply(TensorList&& g) override {
    Tensor mask = mask_.unpack(*this);
    Tensor zero = Tensor::zeros({}, g[0].dtype());
    TensorList r(3);
    if (should_compute_output(0)) r[0] = sum_to(where(mask, zero, g[0]), self_shape, g[0].dtype());
    if (should_compute_output(2)) r[2] = sum_to(where(mask, g[0], zero), Shape{}, value_dtype);
    return r;
  }
  void release_saved() override { mask_.release(); }
  std::string name() const override { return tensor_value ? "MaskedFillBackward1" : "MaskedFillBackward0"; }
};

Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value) {
  CG_CHECK(mask.dtype() == DType::Bool, "masked_fill_ only supports boolean masks, but got mask with dtype ",
           mask.dtype() == DType::Int64 ? "long int" : mask.dtype() == DType::Float32 ? "float" : "double");
  CG_CHECK(value.dim() == 0, "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with ",
           value.dim(), " dimension(s).");
  Tensor out = Tensor::empty(broadcast_shapes(mask.shape(), x.shape()), x.dtype());
  kernels::where(mask, cast_data(value, x.dtype()), x, out);
  if (any_requires_grad({&x, &value})) {
    auto node = make_grad_node<MaskedFillBackward0>({&x, &mask, &value});
    node->mask_ = SavedTensor(mask, false);
    node->self_shape = x.shape();
    node->value_dtype = value.dtype();
    node->tensor_value = needs(value);
    set_history(out, node);
  }
  return out;
}

Tensor nonzero(const Tensor& x) { return kernels::nonzero(x); }

Tensor masked_select(const Tensor& x, const Tensor& mask) {
  Shape s = broadcast_shapes(x.shape(), mask.shape());
  return index(expand(x, s), {IndexItem(expand(mask, s))});
}

// ---- subscripts ------------------------------------------------------------------------------
namespace {

struct Parsed {
  Tensor view;                                  // after basic indexing
  std::vector<std::pair<int64_t, Tensor>> adv;  // (dim in view, int64 index)
};

Parsed parse(const Tensor& x, const std::vector<IndexItem>& items) {
  int64_t consumed = 0;
  bool has_ellipsis = false;
  for (const auto& it : items) {
    if (std::holds_alternative<EllipsisIndex>(it)) {
      CG_CHECK_INDEX(!has_ellipsis, "an index can only have a single ellipsis ('...')");
      has_ellipsis = true;
    } else if (std::holds_alternative<NoneIndex>(it)) {
    } else if (auto* t = std::get_if<Tensor>(&it)) {
      consumed += t->dtype() == DType::Bool ? t->dim() : 1;  // a 0-d bool adds a dim, like None
    } else {
      consumed += 1;
    }
  }
  if (x.dim() == 0)
    for (const auto& it : items)
      CG_CHECK_INDEX(!std::holds_alternative<int64_t>(it),
                     "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` in C++ to "
                     "convert a 0-dim tensor to a number");
  CG_CHECK_INDEX(consumed <= x.dim(), "too many indices for tensor of dimension ", x.dim());
  Parsed p;
  Tensor v = x;
  int64_t d = 0;
  int64_t selected = 0;  // ints so far: errors count dims as if selects kept theirs, as PyTorch does
  for (const auto& it : items) {
    if (auto* i = std::get_if<int64_t>(&it)) {
      const int64_t n = v.shape()[d];
      CG_CHECK_INDEX(*i >= -n && *i < n, "index ", *i, " is out of bounds for dimension ", d + selected, " with size ", n);
      v = select(v, d, *i);
      ++selected;
    } else if (auto* s = std::get_if<Slice>(&it)) {
      int64_t step = s->step.value_or(1);
      CG_CHECK_VALUE(step > 0, "step must be greater than zero");
      v = slice(v, d, s->start.value_or(0), s->stop.value_or(std::numeric_limits<int64_t>::max()), step);
      ++d;
    } else if (std::holds_alternative<NoneIndex>(it)) {
      v = unsqueeze(v, d);
      for (auto& a : p.adv)
        if (a.first >= d) ++a.first;
      ++d;
    } else if (std::holds_alternative<EllipsisIndex>(it)) {
      d += x.dim() - consumed;
    } else {
      const Tensor& t = std::get<Tensor>(it);
      if (t.dtype() == DType::Bool) {
        if (t.dim() == 0) {
          // x[True] adds a dim of size 1, x[False] one of size 0; advanced indexing (a copy).
          v = unsqueeze(v, d);
          for (auto& a : p.adv)
            if (a.first >= d) ++a.first;
          p.adv.emplace_back(d, t.item_double() != 0 ? Tensor::zeros({1}, DType::Int64) : Tensor::zeros({0}, DType::Int64));
          ++d;
          continue;
        }
        for (int64_t k = 0; k < t.dim(); ++k)
          CG_CHECK_INDEX(t.shape()[k] == v.shape()[d + k], "The shape of the mask ", shape_str(t.shape()),
                         " at index ", k, " does not match the shape of the indexed tensor ", shape_str(v.shape()),
                         " at index ", d + k);
        Tensor nz = kernels::nonzero(t);
        for (int64_t k = 0; k < t.dim(); ++k) {
          Tensor col = nz.as_strided({nz.shape()[0]}, {nz.strides()[0]}, nz.offset() + k);
          p.adv.emplace_back(d + k, contiguous(col));
        }
        d += t.dim();
      } else {
        CG_CHECK_INDEX(is_integral(t.dtype()) && t.dtype() != DType::UInt8,
                       "tensors used as indices must be long, int, byte or bool tensors");
        p.adv.emplace_back(d, cast_data(t, DType::Int64));  // int32/int16/int8 indices index like int64
        ++d;
      }
    }
  }
  p.view = v;
  return p;
}

// The 2-D layout advanced indexing works on: adv dims first (flattened to rows), rest as columns.
struct AdvLayout {
  std::vector<int64_t> perm;  // view dims: adv first, then the rest
  Shape index_shape;          // broadcast shape of the index tensors
  Shape rest_shape;
  Tensor rows;                // int64 [numel(index_shape)]: row numbers into the flattened adv dims
  int64_t insert_at = 0;      // where the index dims go in the result
};

AdvLayout layout(const Tensor& v, const std::vector<std::pair<int64_t, Tensor>>& adv) {
  AdvLayout L;
  Shape ishape;
  for (auto& a : adv) ishape = broadcast_shapes(ishape, a.second.shape());
  L.index_shape = ishape;
  std::vector<bool> is_adv(v.dim(), false);
  bool adjacent = true;
  for (size_t i = 0; i < adv.size(); ++i) {
    is_adv[adv[i].first] = true;
    L.perm.push_back(adv[i].first);
    if (i && adv[i].first != adv[i - 1].first + 1) adjacent = false;
  }
  for (int64_t d = 0; d < v.dim(); ++d)
    if (!is_adv[d]) { L.perm.push_back(d); L.rest_shape.push_back(v.shape()[d]); }
  L.insert_at = adjacent ? adv[0].first : 0;
  // rows = sum_j idx_j * prod(sizes of later adv dims)
  const int64_t n = numel_of(ishape);
  L.rows = Tensor::zeros({n}, DType::Int64);
  int64_t* rp = L.rows.data<int64_t>();
  int64_t mult = 1;
  for (size_t j = adv.size(); j-- > 0;) {
    const int64_t dim = adv[j].first, size = v.shape()[dim];
    Tensor idx = kernels::checked_index(expand(adv[j].second, ishape), size, Negative::Wrap,
                                        kernels::out_of_bounds(static_cast<int64_t>(j), size));
    const int64_t* ip = idx.data<int64_t>();
    for (int64_t i = 0; i < n; ++i) rp[i] += ip[i] * mult;
    mult *= size;
  }
  return L;
}

// v viewed as [rows, cols] with the advanced dims first (a copy when not viewable).
Tensor as_rows(const Tensor& v, const AdvLayout& L) {
  const int64_t cols = numel_of(L.rest_shape);
  int64_t rows = 1;
  for (size_t i = 0; i + L.rest_shape.size() < L.perm.size(); ++i) rows *= v.shape()[L.perm[i]];
  return reshape(permute(v, L.perm), {rows, cols});  // explicit sizes: -1 is ambiguous when cols == 0
}

}  // namespace

static Tensor advanced_index(const Tensor& v, const AdvLayout& L);

static Shape permuted_shape(const Tensor& v, const AdvLayout& L) {
  Shape s;
  for (int64_t d : L.perm) s.push_back(v.shape()[d]);
  return s;
}
static std::vector<int64_t> inverse_perm(const AdvLayout& L) {
  std::vector<int64_t> inv(L.perm.size());
  for (size_t i = 0; i < L.perm.size(); ++i) inv[L.perm[i]] = static_cast<int64_t>(i);
  return inv;
}

// x[adv] = value: the overwritten elements of x get no gradient; value gets g[adv] (summed
// over its broadcast dims). Both are written with differentiable ops.
struct IndexPutBackward0 : Node {
  AdvLayout L;
  Shape self_shape, value_shape;
  DType value_dtype = DType::Float32;
  TensorList apply(TensorList&& g) override {
    TensorList r(2);
    if (should_compute_output(0)) {
      Tensor rows = as_rows(g[0], L);
      Tensor cleared = index_copy(rows, 0, L.rows, Tensor::zeros({L.rows.numel(), rows.shape()[1]}, g[0].dtype()));
      r[0] = permute(reshape(cleared, permuted_shape(g[0], L)), inverse_perm(L));
    }
    if (should_compute_output(1)) r[1] = sum_to(advanced_index(g[0], L), value_shape, value_dtype);
    return r;
  }
  std::string name() const override { return "IndexPutBackward0"; }
};

// Gradient of advanced indexing: the rows picked by the index get the gradient added back
// (index_add, whose own VJP is index_select, so higher orders follow).
struct IndexBackward0 : Node {
  AdvLayout L;
  Shape view_shape;
  TensorList apply(TensorList&& g) override {
    Tensor gi = g[0];
    const int64_t ni = static_cast<int64_t>(L.index_shape.size());
    if (L.insert_at > 0) {  // [before, index dims, after] -> [index dims, before, after]
      std::vector<int64_t> perm;
      for (int64_t i = 0; i < ni; ++i) perm.push_back(L.insert_at + i);
      for (int64_t i = 0; i < L.insert_at; ++i) perm.push_back(i);
      for (int64_t i = L.insert_at + ni; i < gi.dim(); ++i) perm.push_back(i);
      gi = permute(gi, perm);
    }
    const int64_t cols = numel_of(L.rest_shape);
    Shape pshape;
    for (int64_t d : L.perm) pshape.push_back(view_shape[d]);
    int64_t n_rows = 1;
    for (size_t i = 0; i + L.rest_shape.size() < pshape.size(); ++i) n_rows *= pshape[i];
    Tensor rows = index_add(Tensor::zeros({n_rows, cols}, gi.dtype()), 0, L.rows, reshape(gi, {L.rows.numel(), cols}));
    return {permute(reshape(rows, pshape), inverse_perm(L))};
  }
  std::string name() const override { return "IndexBackward0"; }
};

Tensor index(const Tensor& x, const std::vector<IndexItem>& items) {
  Parsed p = parse(x, items);
  if (p.adv.empty()) return p.view.is_same(x) ? alias(x) : p.view;
  AdvLayout L = layout(p.view, p.adv);
  Tensor out;
  {
    autograd::GradModeGuard no_grad(false);  // a plain result: no history, not a view
    out = advanced_index(p.view, L);
  }
  if (any_requires_grad({&p.view})) {
    auto node = make_grad_node<IndexBackward0>({&p.view});
    node->L = L;
    node->view_shape = p.view.shape();
    set_history(out, node);
  }
  return out;
}

// x[adv] on the rows layout (callers turn grad mode off).
static Tensor advanced_index(const Tensor& v, const AdvLayout& L) {
  Tensor picked = index_select(as_rows(v, L), 0, L.rows);  // [n, cols]
  Shape out_shape = L.index_shape;
  out_shape.insert(out_shape.end(), L.rest_shape.begin(), L.rest_shape.end());
  Tensor out = reshape(picked, out_shape);
  if (L.insert_at > 0) {
    // [index dims, before, after] -> [before, index dims, after]
    const int64_t ni = static_cast<int64_t>(L.index_shape.size());
    std::vector<int64_t> perm;
    for (int64_t i = 0; i < L.insert_at; ++i) perm.push_back(ni + i);
    for (int64_t i = 0; i < ni; ++i) perm.push_back(i);
    for (int64_t i = ni + L.insert_at; i < out.dim(); ++i) perm.push_back(i);
    out = permute(out, perm);
  }
  return out;
}

void index_put_(Tensor& x, const std::vector<IndexItem>& items, const Tensor& value) {
  Parsed p = parse(x, items);
  Tensor target = p.view;
  if (p.adv.empty()) {
    copy_(target, value.shape() == target.shape() ? value : expand(value, target.shape()));
    return;
  }
  AdvLayout L = layout(target, p.adv);
  // The value, broadcast to the indexed result's shape, laid out as [n, cols].
  Shape res_shape = L.index_shape;
  res_shape.insert(res_shape.end(), L.rest_shape.begin(), L.rest_shape.end());
  Tensor val = value;
  Shape natural = res_shape;  // the shape x[items] has: [before, index dims, after]
  if (L.insert_at > 0) {
    natural.clear();
    natural.insert(natural.end(), L.rest_shape.begin(), L.rest_shape.begin() + L.insert_at);
    natural.insert(natural.end(), L.index_shape.begin(), L.index_shape.end());
    natural.insert(natural.end(), L.rest_shape.begin() + L.insert_at, L.rest_shape.end());
  }
  bool fits = value.dim() <= static_cast<int64_t>(natural.size());
  for (int64_t k = 0; fits && k < value.dim(); ++k) {
    const int64_t have = value.shape()[value.dim() - 1 - k], want = natural[natural.size() - 1 - k];
    fits = have == want || have == 1;
  }
  CG_CHECK(fits, "shape mismatch: value tensor of shape ", shape_str(value.shape()),
           " cannot be broadcast to indexing result of shape ", shape_str(natural));
  if (L.insert_at > 0) {
    val = expand(val, natural);
    const int64_t ni = static_cast<int64_t>(L.index_shape.size());
    std::vector<int64_t> perm;
    for (int64_t i = 0; i < ni; ++i) perm.push_back(L.insert_at + i);
    for (int64_t i = 0; i < L.insert_at; ++i) perm.push_back(i);
    for (int64_t i = L.insert_at + ni; i < static_cast<int64_t>(natural.size()); ++i) perm.push_back(i);
    val = permute(val, perm);
  } else {
    val = expand(val, res_shape);
  }
  Tensor val_rows = reshape(val, {L.rows.numel(), numel_of(L.rest_shape)});
  if (!inplace_records(target, {&value}, true)) {
    // Write straight into x's memory when the rows layout is a view of it.
    Tensor rows_view = as_rows(target, L);
    Tensor vr = cast_data(contiguous(autograd::detach(val_rows)), x.dtype());
    if (rows_view.storage() == target.storage()) {
      Tensor offs = clone(L.rows);
      for (int64_t i = 0; i < offs.numel(); ++i) offs.data<int64_t>()[i] *= rows_view.strides()[0];
      kernels::put_blocks(rows_view.as_strided({rows_view.shape()[1]}, {rows_view.strides()[1]}, rows_view.offset()),
                          offs, vr, false);
      target.bump_version();
    } else {
      Tensor updated = rows_op(rows_view, 0, L.rows, vr, false);
      kernels::copy(target, permute(reshape(updated, permuted_shape(target, L)), inverse_perm(L)));
      target.bump_version();
    }
    return;
  }
  Tensor result;
  {
    autograd::GradModeGuard no_grad(false);
    Tensor updated = index_copy(as_rows(target, L), 0, L.rows, cast_data(val_rows, x.dtype()));
    result = contiguous(permute(reshape(updated, permuted_shape(target, L)), inverse_perm(L)));
  }
  auto node = make_grad_node<IndexPutBackward0>({&target, &value});
  node->L = L;
  node->self_shape = target.shape();
  node->value_shape = value.shape();
  node->value_dtype = value.dtype();
  set_history(result, node);
  commit_inplace(target, result);
}

}  // namespace cg::ops
