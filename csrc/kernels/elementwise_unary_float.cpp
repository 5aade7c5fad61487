// The unary kernels of the rows defined on floating dtypes only (kind Float in kernels/unary_ops.h):
// roots, exponentials, logarithms, trigonometry and the smooth activations. Their own file so that
// the two halves compile in parallel.
#include "kernels/elementwise_unary.h"

namespace cg::kernels {

void unary_float(Unary op, const Tensor& x, const Tensor& out) {
  visit_unary(op, [&](auto row) {
    constexpr Unary o = decltype(row)::value;
    if constexpr (UnaryFn<o>::kKind == UnaryKind::Float) {
      CG_DISPATCH_FLOAT(x.dtype(), unary_name(op), [&] { run_unary<o, scalar_t>(x, out); });
    } else {
      throw std::logic_error("unary_float: not a floating-point row");
    }
  });
}

}  // namespace cg::kernels
