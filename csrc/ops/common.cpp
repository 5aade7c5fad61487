#include "ops/common.h"

#include "kernels/elementwise.h"
#include "ops/ops.h"

namespace cg::ops {

DType result_type(const Tensor& a, const Tensor& b) {
  const bool a0 = a.dim() == 0, b0 = b.dim() == 0;
  if (a0 == b0) return promote_types(a.dtype(), b.dtype());
  const Tensor& dimmed = a0 ? b : a;
  const Tensor& zero = a0 ? a : b;
  if (dtype_category(zero.dtype()) > dtype_category(dimmed.dtype())) return promote_types(dimmed.dtype(), zero.dtype());
  return dimmed.dtype();
}

DType result_type(const Tensor& a, const Scalar& s) { return promote_with_scalar(a.dtype(), s.kind()); }

Tensor tangent_sum(const Tensor& a, const Tensor& b) {
  if (!a.defined()) return b;
  if (!b.defined()) return a;
  return add(a, b, 1);
}

Tensor cast_data(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = Tensor::empty(t.shape(), dtype);
  kernels::copy(out, t);
  return out;
}

Tensor sum_to(const Tensor& grad, const Shape& shape, DType dtype) {
  Tensor g = grad;
  if (g.shape() != shape) {
    const int64_t lead = g.dim() - static_cast<int64_t>(shape.size());
    Dims dims;
    for (int64_t d = 0; d < g.dim(); ++d)
      if (d < lead || (shape[d - lead] == 1 && g.shape()[d] != 1)) dims.push_back(d);
    if (!dims.empty()) g = sum(g, dims, true);
    if (g.shape() != shape) g = reshape(g, shape);
  }
  if (g.dtype() != dtype && is_floating(dtype)) g = to_dtype(g, dtype);
  return g;
}

bool nonempty_but_batch(const Tensor& t, int64_t batched_dim) {
  if (t.dim() != batched_dim && t.dim() != batched_dim - 1) return false;
  for (int64_t d = t.dim() == batched_dim ? 1 : 0; d < t.dim(); ++d)
    if (t.shape()[d] == 0) return false;
  return true;
}

void check_implemented_for_floating(const char* kernel, DType t, std::initializer_list<DType> also) {
  if (is_floating(t)) return;
  for (DType a : also)
    if (a == t) return;
  throw_not_implemented(kernel, t);
}

std::vector<bool> dims_mask(const std::vector<int64_t>& dims, int64_t ndim) {
  std::vector<bool> mask(ndim, false);
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, ndim);
    if (ndim == 0) continue;
    CG_CHECK(!mask[w], "dim ", w, " appears multiple times in the list of dims");
    mask[w] = true;
  }
  return mask;
}

}  // namespace cg::ops
