// The one kernel instantiated for every (destination, source) dtype pair. Only the innermost row
// loop is instantiated per pair (a small function, vectorized when both rows are dense); the
// strided iteration and the parallel split around it are shared by all 100 pairs, which keeps
// this file's compile time to seconds.
#include "kernels/convert.h"

#include "kernels/loop.h"

namespace cg::kernels {

namespace {

using RowFn = void (*)(char* dst, const char* src, int64_t n, int64_t dst_step, int64_t src_step);

template <typename D, typename S>
void convert_row(char* dst, const char* src, int64_t n, int64_t dst_step, int64_t src_step) {
  if (dst_step == sizeof(D) && src_step == sizeof(S)) {
    D* __restrict d = reinterpret_cast<D*>(dst);
    const S* __restrict s = reinterpret_cast<const S*>(src);
    for (int64_t i = 0; i < n; ++i) d[i] = convert_value<D>(s[i]);
  } else {
    for (int64_t i = 0; i < n; ++i)
      *reinterpret_cast<D*>(dst + i * dst_step) = convert_value<D>(*reinterpret_cast<const S*>(src + i * src_step));
  }
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
  const RowFn fn = row_fn(dst.dtype(), src.dtype());
  const int64_t n = dst.numel();
  const bool src_dense = src.is_contiguous() && src.shape() == dst.shape();
  if (dst.is_contiguous() && (src_dense || src.numel() == 1)) {
    // The common case (casts, clones, fills from one value) skips the loop planner.
    char* d = dst.data_bytes();
    const char* s = src.data_bytes();
    const auto dsz = static_cast<int64_t>(dst.itemsize()), ssz = src_dense ? static_cast<int64_t>(src.itemsize()) : 0;
    parallel_for(n, kGrainSize, [&](int64_t b, int64_t e) { fn(d + b * dsz, s + b * ssz, e - b, dsz, ssz); });
    return;
  }
  const std::array<const Tensor*, 2> ops{&dst, &src};
  auto plan = plan_loop<2>(dst.shape(), ops);
  run_loop<2>(plan, [fn](const std::array<char*, 2>& p, const std::array<int64_t, 2>& s, int64_t n) {
    fn(p[0], p[1], n, s[0], s[1]);
  });
}

Tensor converted(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = Tensor::empty(t.shape(), dtype);
  convert(out, t);
  return out;
}

}  // namespace cg::kernels
