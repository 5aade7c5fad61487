// Comparisons and logical ops (bool results), tensor-tensor and tensor-scalar.
#include "kernels/elementwise_impl.h"

namespace cg::kernels {

void compare(Binary op, const Tensor& a, const Tensor& b, const Tensor& out) {
  const std::array<const Tensor*, 2> in{&a, &b};
  CG_DISPATCH_ALL(a.dtype(), [&] {
    compare_dispatch<scalar_t>(op, [&](auto f) { map<bool, scalar_t, scalar_t>(out, in, f); });
  });
}

void compare_scalar(Binary op, const Tensor& a, Scalar s, const Tensor& out, bool scalar_first) {
  const std::array<const Tensor*, 1> in{&a};
  CG_DISPATCH_ALL(a.dtype(), [&] {
    using T = scalar_t;
    const T c = s.to<T>();
    compare_dispatch<T>(op, [&](auto f) {
      if (scalar_first) map<bool, T>(out, in, [f, c](T v) { return f(c, v); });
      else map<bool, T>(out, in, [f, c](T v) { return f(v, c); });
    });
  });
}

}  // namespace cg::kernels
