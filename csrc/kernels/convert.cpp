// The one kernel instantiated for every (destination, source) dtype pair.
#include "kernels/convert.h"

#include "kernels/loop.h"

namespace cg::kernels {

void convert(const Tensor& dst, const Tensor& src) {
  const std::array<const Tensor*, 1> in{&src};
  CG_DISPATCH_STORAGE(dst.dtype(), [&] {
    using D = scalar_t;
    CG_DISPATCH_STORAGE(src.dtype(), [&] {
      using S = scalar_t;
      map<D, S>(dst, in, [](S v) { return convert_value<D>(v); });
    });
  });
}

Tensor converted(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = Tensor::empty(t.shape(), dtype);
  convert(out, t);
  return out;
}

}  // namespace cg::kernels
