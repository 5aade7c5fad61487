#include "kernels/index.h"

#include <algorithm>
#include <vector>

#include "kernels/checks.h"
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

OutOfRange out_of_bounds(int64_t dim, int64_t size, bool runtime_error, const char* prefix) {
  return [=](int64_t v) {
    std::string m = msg(prefix, "index ", v, " is out of bounds for dimension ", dim, " with size ", size);
    if (runtime_error) throw RuntimeError(m);
    throw IndexError(m);
  };
}

Tensor checked_index(const Tensor& index, int64_t size, Negative neg, const OutOfRange& fail) {
  CG_CHECK(index.dtype() != DType::Bool && !is_floating(index.dtype()), "expected an integer index tensor");
  Tensor out = Tensor::empty(index.shape(), DType::Int64);
  copy(out, index);
  int64_t* p = out.data<int64_t>();
  for (int64_t i = 0, n = out.numel(); i < n; ++i) {
    if (!index_in_range(p[i], size, neg)) fail(p[i]);
    if (p[i] < 0) p[i] += size;
  }
  return out;
}

namespace {
// gather/scatter: `index` has `self`'s dims, fits in `self` apart from `dim` (and in `src` if
// given); buffers lie in their storages with the expected dtypes.
void check_dim_op(const char* op, const Tensor& self, int64_t dim, const Tensor& index, const Tensor* src,
                  const Tensor* out) {
  CG_CHECK(index.dtype() == DType::Int64, op, "(): Expected dtype int64 for index");
  CG_CHECK(index.dim() == self.dim() || (index.dim() <= 1 && self.dim() <= 1),
           "Index tensor must have the same number of dimensions as input tensor");
  CG_CHECK(self.dim() == 0 || (dim >= 0 && dim < self.dim()), op, "(): dim ", dim, " out of range");
  for (int64_t d = 0; d < index.dim(); ++d) {
    const int64_t limit = self.dim() ? self.shape()[d] : 1;
    CG_CHECK(d == dim || index.shape()[d] <= limit || index.numel() == 0, op, "(): index ",
             shape_str(index.shape()), " is larger than self ", shape_str(self.shape()), " apart from dimension ", dim);
    if (src) {
      const int64_t src_size = src->dim() ? src->shape()[d] : 1;
      CG_CHECK(index.dim() == src->dim() || src->dim() == 0, op, "(): src must have index's dims");
      CG_CHECK(index.shape()[d] <= src_size || index.numel() == 0, op, "(): index ", shape_str(index.shape()),
               " is larger than src ", shape_str(src->shape()));
    }
  }
  check_in_storage(self, op);
  check_in_storage(index, op);
  if (src) check_buffers(op, self.dtype(), {src}, false);
  if (out) {
    check_shapes(op, index.shape(), {out});
    check_buffers(op, self.dtype(), {out}, false);
  }
}
}  // namespace

void gather(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out) {
  check_dim_op("gather", x, dim, index, nullptr, &out);
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
      if (!index_in_range(j, size, Negative::Reject)) out_of_bounds(dim, size, true)(j);
      int64_t xo = 0;
      for (size_t d = 0; d < idx.size(); ++d) xo += (static_cast<int64_t>(d) == dim ? j : idx[d]) * x.strides()[d];
      ob[offset_of(idx, out.strides())] = xb[xo];
    });
  });
}

void scatter(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src, bool accumulate) {
  check_dim_op("scatter", out, dim, index, &src, nullptr);
  if (any_storage_only({&out, &src})) {
    Tensor o = widened(out);
    scatter(o, dim, index, widened(src), accumulate);
    return narrow_into(out, o);
  }
  const int64_t size = out.dim() ? out.shape()[dim] : 1;
  // Validate every index before the first write, so a failing scatter leaves `out` untouched.
  const int64_t* ib = index.data<int64_t>();
  for_each_index(index.shape(), [&](const Shape& idx) {
    const int64_t j = ib[offset_of(idx, index.strides())];
    if (!index_in_range(j, size, Negative::Reject)) out_of_bounds(dim, size, true)(j);
  });
  CG_DISPATCH_ALL(out.dtype(), [&] {
    using T = scalar_t;
    T* ob = out.data<T>();
    const T* sb = src.data<T>();
    for_each_index(index.shape(), [&](const Shape& idx) {
      const int64_t j = ib[offset_of(idx, index.strides())];
      int64_t oo = 0;
      for (size_t d = 0; d < idx.size(); ++d) oo += (static_cast<int64_t>(d) == dim ? j : idx[d]) * out.strides()[d];
      T v = sb[offset_of(idx, src.strides())];
      if constexpr (std::is_same_v<T, bool>) ob[oo] = accumulate ? (ob[oo] || v) : v;
      else ob[oo] = accumulate ? static_cast<T>(ob[oo] + v) : v;
    });
  });
}

namespace {
// Blocks at offsets: out/src is [nb] + block shape and every shifted block stays in its storage.
void check_blocks(const char* op, const Tensor& block, const Tensor& offsets, const Tensor& rows) {
  CG_CHECK(offsets.dtype() == DType::Int64 && offsets.is_contiguous(), op, ": offsets must be contiguous int64");
  Shape want = block.shape();
  want.insert(want.begin(), offsets.numel());
  check_shapes(op, want, {&rows});
  check_in_storage(rows, op);
  if (offsets.numel() == 0) return;
  const int64_t* p = offsets.data<int64_t>();
  const auto [lo, hi] = std::minmax_element(p, p + offsets.numel());
  for (int64_t shift : {*lo, *hi})
    check_in_storage(block.as_strided(block.shape(), block.strides(), block.offset() + shift), op);
}
}  // namespace

void take_blocks(const Tensor& x_block, const Tensor& offsets, const Tensor& out) {
  check_blocks("take_blocks", x_block, offsets, out);
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
  check_blocks("put_blocks", dst_block, offsets, src);
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
