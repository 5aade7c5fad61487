#include "kernels/index.h"

#include <vector>

#include "kernels/elementwise.h"
#include "kernels/loop.h"

namespace cg::kernels {

namespace {
// Visits every element of `shape` calling f(offset_in_a, offset_in_b, offset_in_c, index_vector).
template <typename F>
void for_each_index(const Shape& shape, const F& f) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  const int64_t n = numel_of(shape);
  Shape idx(nd, 0);
  for (int64_t i = 0; i < n; ++i) {
    f(idx);
    for (int64_t d = nd - 1; d >= 0; --d) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

inline int64_t offset_of(const Shape& idx, const Shape& strides) {
  int64_t o = 0;
  for (size_t d = 0; d < idx.size(); ++d) o += idx[d] * strides[d];
  return o;
}
}  // namespace

Tensor checked_index(const Tensor& index, int64_t size, int64_t dim) {
  Tensor out = Tensor::empty(index.shape(), DType::Int64);
  copy(out, index);
  int64_t* p = out.data<int64_t>();
  for (int64_t i = 0, n = out.numel(); i < n; ++i) {
    int64_t v = p[i];
    CG_CHECK_INDEX(v >= -size && v < size, "index ", v, " is out of bounds for dimension ", dim, " with size ", size);
    if (v < 0) p[i] = v + size;
  }
  return out;
}

void gather(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out) {
  if (any_storage_only({&x, &out})) {  // storage dtypes move through their compute dtype (kernels/convert.h)
    Tensor o = widened(out);
    gather(widened(x), dim, index, o);
    return narrow_into(out, o);
  }
  const int64_t size = x.dim() ? x.shape()[dim] : 1;
  CG_DISPATCH_ALL(x.dtype(), [&] {
    using T = scalar_t;
    const T* xb = x.data<T>();
    const int64_t* ib = index.data<int64_t>();
    T* ob = out.data<T>();
    for_each_index(index.shape(), [&](const Shape& idx) {
      int64_t j = ib[offset_of(idx, index.strides())];
      CG_CHECK(j >= -size && j < size, "index ", j, " is out of bounds for dimension ", dim, " with size ", size);
      if (j < 0) j += size;
      int64_t xo = 0;
      for (size_t d = 0; d < idx.size(); ++d) xo += (static_cast<int64_t>(d) == dim ? j : idx[d]) * x.strides()[d];
      ob[offset_of(idx, out.strides())] = xb[xo];
    });
  });
}

void scatter(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src, bool accumulate) {
  if (any_storage_only({&out, &src})) {
    Tensor o = widened(out);
    scatter(o, dim, index, widened(src), accumulate);
    return narrow_into(out, o);
  }
  const int64_t size = out.dim() ? out.shape()[dim] : 1;
  CG_DISPATCH_ALL(out.dtype(), [&] {
    using T = scalar_t;
    T* ob = out.data<T>();
    const int64_t* ib = index.data<int64_t>();
    const T* sb = src.data<T>();
    for_each_index(index.shape(), [&](const Shape& idx) {
      int64_t j = ib[offset_of(idx, index.strides())];
      CG_CHECK(j >= -size && j < size, "index ", j, " is out of bounds for dimension ", dim, " with size ", size);
      if (j < 0) j += size;
      int64_t oo = 0;
      for (size_t d = 0; d < idx.size(); ++d) oo += (static_cast<int64_t>(d) == dim ? j : idx[d]) * out.strides()[d];
      T v = sb[offset_of(idx, src.strides())];
      if constexpr (std::is_same_v<T, bool>) ob[oo] = accumulate ? (ob[oo] || v) : v;
      else ob[oo] = accumulate ? static_cast<T>(ob[oo] + v) : v;
    });
  });
}

void take_blocks(const Tensor& x_block, const Tensor& offsets, const Tensor& out) {
  const int64_t nb = offsets.numel();
  const int64_t* op = offsets.data<int64_t>();
  Shape oshape(out.shape().begin() + 1, out.shape().end());
  Shape ostr(out.strides().begin() + 1, out.strides().end());
  for (int64_t b = 0; b < nb; ++b) {
    Tensor src = x_block.as_strided(x_block.shape(), x_block.strides(), x_block.offset() + op[b]);
    Tensor dst = out.as_strided(oshape, ostr, out.offset() + b * out.strides()[0]);
    copy(dst, src);
  }
}

void put_blocks(const Tensor& dst_block, const Tensor& offsets, const Tensor& src, bool accumulate) {
  const int64_t nb = offsets.numel();
  const int64_t* op = offsets.data<int64_t>();
  Shape sshape(src.shape().begin() + 1, src.shape().end());
  Shape sstr(src.strides().begin() + 1, src.strides().end());
  for (int64_t b = 0; b < nb; ++b) {
    Tensor d = dst_block.as_strided(dst_block.shape(), dst_block.strides(), dst_block.offset() + op[b]);
    Tensor s = src.as_strided(sshape, sstr, src.offset() + b * src.strides()[0]);
    if (accumulate) add_scaled(d, s, 1.0, d);
    else copy(d, s);
  }
}

Tensor nonzero(const Tensor& x) {
  if (any_storage_only({&x})) return nonzero(widened(x));
  std::vector<int64_t> coords;
  const int64_t nd = x.dim();
  CG_DISPATCH_ALL(x.dtype(), [&] {
    const scalar_t* p = x.data<scalar_t>();
    for_each_index(x.shape(), [&](const Shape& idx) {
      if (p[offset_of(idx, x.strides())] != scalar_t(0)) coords.insert(coords.end(), idx.begin(), idx.end());
    });
  });
  const int64_t n = nd ? static_cast<int64_t>(coords.size()) / nd : (x.item_double() != 0 ? 1 : 0);
  Tensor out = Tensor::empty({n, nd}, DType::Int64);
  std::copy(coords.begin(), coords.end(), out.data<int64_t>());
  return out;
}

}  // namespace cg::kernels
