// Subscripts: x[items] (basic items are views; advanced integer/bool tensors go through the 2-D
// rows layout of index_select / index_add) and x[items] = value (index_put_).
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

using autograd::any_requires_grad;

using kernels::Negative;

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
      if (t.dtype() == DType::Bool || t.dtype() == DType::UInt8) {  // uint8: PyTorch's legacy byte mask
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
        CG_CHECK_INDEX(t.dtype() == DType::Int64 || t.dtype() == DType::Int32,
                       "tensors used as indices must be long, int, byte or bool tensors");
        p.adv.emplace_back(d, cast_data(t, DType::Int64));  // int32 indices index like int64
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
struct IndexPutBackward0 : BackwardNode<IndexPutBackward0> {
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
  // Linear in (x, value): the same write, of the value's tangent into x's (zeros where undefined).
  TensorList jvp(const TensorList& t) override {
    const DType dt = t[0].defined() ? t[0].dtype() : t[1].dtype();
    Tensor base = t[0].defined() ? t[0] : Tensor::zeros(self_shape, dt);
    Tensor rows = as_rows(base, L);
    Tensor vr = t[1].defined() ? value_rows(t[1].dtype() == dt ? t[1] : to_dtype(t[1], dt), L)
                               : Tensor::zeros({L.rows.numel(), rows.shape()[1]}, dt);
    Tensor updated = index_copy(rows, 0, L.rows, vr);
    return {permute(reshape(updated, permuted_shape(base, L)), inverse_perm(L))};
  }
  // `value` (broadcastable to x[items], whose index dims sit at L.insert_at) as index_put_'s [n, cols] rows.
  static Tensor value_rows(const Tensor& value, const AdvLayout& L) {
    const int64_t ni = static_cast<int64_t>(L.index_shape.size());
    Shape natural(L.rest_shape.begin(), L.rest_shape.begin() + L.insert_at);
    natural.insert(natural.end(), L.index_shape.begin(), L.index_shape.end());
    natural.insert(natural.end(), L.rest_shape.begin() + L.insert_at, L.rest_shape.end());
    std::vector<int64_t> perm;
    for (int64_t i = 0; i < ni; ++i) perm.push_back(L.insert_at + i);
    for (int64_t i = 0; i < L.insert_at; ++i) perm.push_back(i);
    for (int64_t i = L.insert_at + ni; i < static_cast<int64_t>(natural.size()); ++i) perm.push_back(i);
    return reshape(permute(expand(value, natural), perm), {L.rows.numel(), numel_of(L.rest_shape)});
  }
  std::string name() const override { return "IndexPutBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("accumulate", [](const IndexPutBackward0& n) { return SavedValue(false); }));
  }
};

// Gradient of advanced indexing: the rows picked by the index get the gradient added back
// (index_add, whose own VJP is index_select, so higher orders follow).
struct IndexBackward0 : BackwardNode<IndexBackward0> {
  AdvLayout L;
  Shape view_shape;
  static auto saved_fields() { return std::make_tuple(saved("self_sym_sizes", &IndexBackward0::view_shape)); }
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
  TensorList jvp(const TensorList& t) override { return {advanced_index(t[0], L)}; }  // the same rows of the tangent
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
    auto node = IndexBackward0::make({&p.view});
    node->L = L;
    node->view_shape = p.view.shape();
    record(node, out);
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
  // Advanced-index assignment does not cast a tensor value (basic indexing's copy_ does).
  CG_CHECK(value.dtype() == x.dtype(), "Index put requires the source and destination dtypes match, got ",
           scalar_type_name(x.dtype()), " for the destination and ", scalar_type_name(value.dtype()), " for the source.");
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
  auto node = IndexPutBackward0::make({&target, &value});
  node->L = L;
  node->self_shape = target.shape();
  node->value_shape = value.shape();
  node->value_dtype = value.dtype();
  record(node, result);
  commit_inplace(target, result);
}

}  // namespace cg::ops
