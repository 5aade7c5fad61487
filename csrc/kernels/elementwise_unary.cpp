// The unary kernels, generated from the table (kernels/unary_ops.h): the rows that run on every
// dtype (Any, Round, Test) here, the floating-point ones in elementwise_unary_float.cpp.
#include "kernels/elementwise_unary.h"

namespace cg::kernels {

void unary(Unary op, const Tensor& x, const Tensor& out) {
  visit_unary(op, [&](auto row) {
    constexpr Unary o = decltype(row)::value;
    constexpr UnaryKind kind = UnaryFn<o>::kKind;
    if constexpr (kind == UnaryKind::Float) {
      unary_float(op, x, out);
    } else {
      CG_DISPATCH_ALL(x.dtype(), [&] {
        using T = scalar_t;
        if constexpr (kind == UnaryKind::Test) {
          run_unary<o, T>(x, out);
        } else if constexpr (std::is_same_v<T, bool>) {
          if (o == Unary::Neg)
            throw RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.");
          copy(out, x);  // every other op is the identity on bools (square: v && v)
        } else if constexpr (kind == UnaryKind::Round && !std::is_floating_point_v<T>) {
          copy(out, x);  // rounding an integer
        } else {
          run_unary<o, T>(x, out);
        }
      });
    }
  });
}

namespace {
template <typename T>
T value_of(Unary op, T v) {
  T result{};
  visit_unary(op, [&](auto row) {
    constexpr Unary o = decltype(row)::value;
    if constexpr (UnaryFn<o>::kKind == UnaryKind::Test) {
      throw std::logic_error("unary_value: a predicate");
    } else {
      char* p[2] = {reinterpret_cast<char*>(&result), reinterpret_cast<char*>(&v)};
      const UnaryRow<o, T> f;
      unary_row_fn<o, T>()(&f, p, 1);  // what run_map does for a 0-d tensor
    }
  });
  return result;
}
}  // namespace

float unary_value(Unary op, float v) { return value_of(op, v); }
double unary_value(Unary op, double v) { return value_of(op, v); }

}  // namespace cg::kernels
