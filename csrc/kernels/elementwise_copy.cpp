// Data movement: copy with dtype conversion (every dtype pair), fill and where.
#include "kernels/elementwise_impl.h"

namespace cg::kernels {

void copy(const Tensor& dst, const Tensor& src) {
  const std::array<const Tensor*, 1> in{&src};
  CG_DISPATCH_ALL(dst.dtype(), [&] {
    using D = scalar_t;
    CG_DISPATCH_ALL(src.dtype(), [&] {
      using S = scalar_t;
      if constexpr (std::is_same_v<D, bool>) map<D, S>(dst, in, [](S v) { return v != S(0); });
      else map<D, S>(dst, in, [](S v) { return static_cast<D>(v); });
    });
  });
}

void fill(const Tensor& dst, Scalar value) {
  CG_DISPATCH_ALL(dst.dtype(), [&] {
    const scalar_t v = value.to<scalar_t>();
    map<scalar_t>(dst, {}, [v]() { return v; });
  });
}

void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  const std::array<const Tensor*, 3> in{&cond, &a, &b};
  CG_DISPATCH_ALL(out.dtype(), [&] {
    using T = scalar_t;
    map<T, bool, T, T>(out, in, [](bool c, T x, T y) { return c ? x : y; });
  });
}

}  // namespace cg::kernels
