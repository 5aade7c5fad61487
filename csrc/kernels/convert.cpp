// The one kernel instantiated for every (destination, source) dtype pair. Only the contiguous row
// loop is instantiated per pair (a small function the compiler vectorizes); planning, strided
// iteration and the parallel split are the shared loop engine's (loop.cpp), which keeps this
// file's compile time to seconds.
#include "kernels/convert.h"

#include "kernels/loop.h"

namespace cg::kernels {

namespace {

// One contiguous row of n elements (the shared loop engine gathers strided rows into buffers).
template <typename D, typename S>
void convert_row(const void*, char* const* p, int64_t n) {
  D* __restrict d = reinterpret_cast<D*>(p[0]);
  const S* __restrict s = reinterpret_cast<const S*>(p[1]);
  for (int64_t i = 0; i < n; ++i) d[i] = convert_value<D>(s[i]);
}

RowFn row_fn(DType dst, DType src) {
  return CG_DISPATCH_STORAGE(dst, [&]() -> RowFn {
    using D = scalar_t;
    return CG_DISPATCH_STORAGE(src, [&]() -> RowFn { return &convert_row<D, scalar_t>; });
  });
}

}  // namespace

void convert(const Tensor& dst, const Tensor& src) {
  if (dst.numel() == 0) return;
  const Tensor* ops[2] = {&dst, &src};
  run_elementwise(ops, 2, row_fn(dst.dtype(), src.dtype()), nullptr, 1);
}

Tensor converted(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = Tensor::empty(t.shape(), dtype);
  convert(out, t);
  return out;
}

}  // namespace cg::kernels
