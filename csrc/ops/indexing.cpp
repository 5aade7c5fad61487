// Indexing. Basic subscripts (ints, slices, None, ...) are views. Advanced ones (integer and
// bool tensors) reduce to one primitive pair on a 2-D layout: index_select of rows, whose VJP
// is index_add of rows, and back again, so every indexing gradient is differentiable.
#include "ops/indexing.h"

#include <limits>
#include <numeric>

#include "kernels/elementwise.h"
#include "kernels/index.h"
#include "ops/common.h"
#include "ops/indexing_internal.h"
#include "ops/inplace.h"
#include "ops/ops.h"

namespace cg::ops {

// PyTorch's dim ops (index_select, index_add, gather, scatter, embedding) take int32 indices as
// well as int64: they are widened here so every check and kernel below sees int64.
static Tensor int64_index(const Tensor& index) {
  return index.dtype() == DType::Int32 ? cast_data(index, DType::Int64) : index;
}

using autograd::any_requires_grad;

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
struct IndexSelectBackward0 : BackwardNode<IndexSelectBackward0> {
  SavedTensor index_;
  Shape input_shape;
  int64_t dim = 0;
  TensorList apply(TensorList&& g) override {
    return {index_add(Tensor::zeros(input_shape, g[0].dtype()), dim, index_.unpack(*this), g[0])};
  }
  TensorList jvp(const TensorList& t) override { return {index_select(t[0], dim, index_.unpack(*this))}; }
  std::string name() const override { return "IndexSelectBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("dim", &IndexSelectBackward0::dim),
                           saved("index", &IndexSelectBackward0::index_),
                           saved("self_sym_sizes", &IndexSelectBackward0::input_shape));
  }
};

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index_in) {
  const Tensor index = int64_index(index_in);
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
    auto node = IndexSelectBackward0::make({&x, nullptr});
    node->index_ = SavedTensor(idx, false);
    node->input_shape = x.shape();
    node->dim = d;
    record(node, out);
  }
  return out;
}

struct IndexAddBackward0 : BackwardNode<IndexAddBackward0> {
  SavedTensor index_;
  int64_t dim = 0;
  TensorList apply(TensorList&& g) override {
    TensorList r(3);
    if (should_compute_output(0)) r[0] = g[0];
    if (should_compute_output(2)) r[2] = index_select(g[0], dim, index_.unpack(*this));
    return r;
  }
  TensorList jvp(const TensorList& t) override {  // linear in (x, src): the same op on the tangents
    if (!t[2].defined()) return {t[0]};
    const autograd::OutputMeta& om = output_meta[0];
    return {index_add(t[0].defined() ? t[0] : Tensor::zeros(om.shape, t[2].dtype()), dim, index_.unpack(*this), t[2])};
  }
  std::string name() const override { return "IndexAddBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("dim", &IndexAddBackward0::dim),
                           saved("index", &IndexAddBackward0::index_));
  }
};

// Checks index_add/index_copy arguments; returns the checked index.
static Tensor check_index_rows(const Tensor& x, int64_t d, const Tensor& index, const Tensor& src, const char* op) {
  CG_CHECK_INDEX(index.dim() <= 1, op, "(): Index is supposed to be a vector, but got dim: ", index.dim(),
                 " with type: ", index.dtype() == DType::Int64 ? "Long" : "Float", " and size: ", shape_str(index.shape()));
  CG_CHECK(index.dtype() == DType::Int64 || (index.dtype() == DType::Int32 && std::string(op) != "index_copy_"), op,
           std::string(op) == "index_copy_" ? "(): Expected a long tensor for index, but got "
                                            : "(): Expected dtype int32/int64 for index but got: ",
           scalar_type_name(index.dtype()));
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
    auto node = IndexAddBackward0::make({&x, nullptr, &src});
    node->index_ = SavedTensor(index, false);
    node->dim = d;
    record(node, out);
  }
  return out;
}

struct IndexCopyBackward0 : BackwardNode<IndexCopyBackward0> {
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
  TensorList jvp(const TensorList& t) override {  // linear in (x, src): the same op on the tangents
    Tensor idx = index_.unpack(*this);
    const autograd::OutputMeta& om = output_meta[0];
    const DType dt = t[0].defined() ? t[0].dtype() : t[2].dtype();
    Shape src_shape = om.shape;
    if (!src_shape.empty()) src_shape[dim] = idx.numel();
    return {index_copy(t[0].defined() ? t[0] : Tensor::zeros(om.shape, dt), dim, idx,
                       t[2].defined() ? t[2] : Tensor::zeros(src_shape, dt))};
  }
  std::string name() const override { return "IndexPutBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("index", &IndexCopyBackward0::index_));
  }
};

Tensor index_copy(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  int64_t d = x.dim() ? wrap_dim(dim, x.dim()) : 0;
  Tensor idx = check_index_rows(x, d, index, src, "index_copy_");
  Tensor out = rows_op(x, d, idx, src, false);
  if (any_requires_grad({&x, &src})) {
    auto node = IndexCopyBackward0::make({&x, nullptr, &src});
    node->index_ = SavedTensor(index, false);
    node->dim = d;
    record(node, out);
  }
  return out;
}

// ---- gather / scatter ------------------------------------------------------------------------
struct GatherBackward0 : BackwardNode<GatherBackward0> {
  SavedTensor index_;
  Shape input_shape;
  int64_t dim = 0;
  TensorList apply(TensorList&& g) override {
    return {scatter_add(Tensor::zeros(input_shape, g[0].dtype()), dim, index_.unpack(*this), g[0])};
  }
  TensorList jvp(const TensorList& t) override { return {gather(t[0], dim, index_.unpack(*this))}; }
  std::string name() const override { return "GatherBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("dim", &GatherBackward0::dim),
                           saved("index", &GatherBackward0::index_),
                           saved("sparse_grad", [](const GatherBackward0& n) { return SavedValue(false); }));
  }
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

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index_in) {
  const Tensor index = int64_index(index_in);
  int64_t d = x.dim() ? wrap_dim(dim, x.dim()) : 0;
  check_gather_shapes(x, d, index, "gather");
  Tensor out = Tensor::empty(index.shape(), x.dtype());
  kernels::gather(x, d, index, out);
  if (any_requires_grad({&x})) {
    auto node = GatherBackward0::make({&x, nullptr});
    node->index_ = SavedTensor(index, false);
    node->input_shape = x.shape();
    node->dim = d;
    record(node, out);
  }
  return out;
}

struct ScatterBackward : BackwardNode<ScatterBackward> {
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
  TensorList jvp(const TensorList& t) override {  // linear in (x, src): the same op on the tangents
    const autograd::OutputMeta& om = output_meta[0];
    const DType dt = t[0].defined() ? t[0].dtype() : t[2].dtype();
    Tensor tx = t[0].defined() ? t[0] : Tensor::zeros(om.shape, dt);
    Tensor ts = t[2].defined() ? (t[2].dtype() == dt ? t[2] : to_dtype(t[2], dt)) : Tensor::zeros(src_shape, dt);
    Tensor idx = index_.unpack(*this);
    return {accumulate ? scatter_add(tx, dim, idx, ts) : scatter(tx, dim, idx, ts)};
  }
  std::string name() const override { return accumulate ? "ScatterAddBackward0" : "ScatterBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("dim", &ScatterBackward::dim),
                           saved("index", &ScatterBackward::index_));
  }
};

static Tensor scatter_impl(const Tensor& x, int64_t dim, const Tensor& index_in, const Tensor& src, bool accumulate) {
  const Tensor index = int64_index(index_in);
  int64_t d = x.dim() ? wrap_dim(dim, x.dim()) : 0;
  check_scatter_shapes(x, d, index, src);
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  kernels::copy(out, x);
  kernels::scatter(out, d, index, src, accumulate);
  if (any_requires_grad({&x, &src})) {
    auto node = ScatterBackward::make({&x, nullptr, &src});
    node->index_ = SavedTensor(index, false);
    node->src_shape = src.shape();
    node->dim = d;
    node->accumulate = accumulate;
    record(node, out);
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
struct MaskedFillBackward0 : BackwardNode<MaskedFillBackward0> {
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
  TensorList jvp(const TensorList& t) override {  // the value's tangent where masked, x's elsewhere
    const DType dt = t[0].defined() ? t[0].dtype() : t[2].dtype();
    Tensor zero = Tensor::zeros({}, dt);
    return {where(mask_.unpack(*this), t[2].defined() ? t[2] : zero, t[0].defined() ? t[0] : zero)};
  }
  std::string name() const override { return tensor_value ? "MaskedFillBackward1" : "MaskedFillBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("mask", &MaskedFillBackward0::mask_));
  }
};

Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value) {
  CG_CHECK(mask.dtype() == DType::Bool, "masked_fill_ only supports boolean masks, but got mask with dtype ",
           cpp_type_name(mask.dtype()));
  CG_CHECK(value.dim() == 0, "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with ",
           value.dim(), " dimension(s).");
  // A value that requires grad written into an integer tensor: PyTorch's autograd refuses the dtype.
  CG_CHECK(is_floating(x.dtype()) || !autograd::requires_grad(value) || !autograd::GradMode::is_enabled(),
           "Autograd not support dtype: ", scalar_type_name(x.dtype()));
  Tensor out = Tensor::empty(broadcast_shapes(mask.shape(), x.shape()), x.dtype());
  kernels::where(mask, cast_data(value, x.dtype()), x, out);
  if (any_requires_grad({&x, &value})) {
    auto node = MaskedFillBackward0::make({&x, &mask, &value});
    node->mask_ = SavedTensor(mask, false);
    node->self_shape = x.shape();
    node->value_dtype = value.dtype();
    node->tensor_value = needs(value);
    record(node, out);
  }
  return out;
}

Tensor nonzero(const Tensor& x) { return kernels::nonzero(x); }

Tensor masked_select(const Tensor& x, const Tensor& mask) {
  Shape s = broadcast_shapes(x.shape(), mask.shape());
  return index(expand(x, s), {IndexItem(expand(mask, s))});
}

}  // namespace cg::ops
