// Data movement: copy (dtype conversion lives in convert.cpp), fill and where.
#include "kernels/elementwise_impl.h"

namespace cg::kernels {

void copy(const Tensor& dst, const Tensor& src) { convert(dst, src); }  // every dtype pair: kernels/convert.cpp

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
