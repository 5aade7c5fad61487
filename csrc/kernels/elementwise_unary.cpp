// Unary ops that are exact on every dtype (sign, rounding, predicates); the float-only ones
// (transcendentals) are in elementwise_unary_float.cpp.
#include "kernels/elementwise_impl.h"

namespace cg::kernels {

namespace {
template <typename T>
T sign_of(T x) {
  if constexpr (std::is_same_v<T, bool>) return x;
  else return static_cast<T>((T(0) < x) - (x < T(0)));
}
}  // namespace

void unary(Unary op, const Tensor& x, const Tensor& out) {
  const std::array<const Tensor*, 1> in{&x};
  if (op == Unary::IsNan || op == Unary::IsInf || op == Unary::LogicalNot) {
    CG_DISPATCH_ALL(x.dtype(), [&] {
      if (op == Unary::LogicalNot) map<bool, scalar_t>(out, in, [](scalar_t v) { return v == scalar_t(0); });
      else if constexpr (std::is_floating_point_v<scalar_t>) {
        if (op == Unary::IsNan) map<bool, scalar_t>(out, in, [](scalar_t v) { return v != v; });
        else map<bool, scalar_t>(out, in, [](scalar_t v) { return std::isinf(v); });
      } else {
        fill(out, false);
      }
    });
    return;
  }
  // Ops that are exact on integers run on every numeric dtype; the rest need floats.
  switch (op) {
    case Unary::Neg: case Unary::Abs: case Unary::Sign: case Unary::Square: case Unary::Relu:
    case Unary::Floor: case Unary::Ceil: case Unary::Round: case Unary::Trunc:
      break;
    default:
      return unary_float(op, x, out);
  }
  CG_DISPATCH_ALL(x.dtype(), [&] {
    using T = scalar_t;
    if constexpr (std::is_same_v<T, bool>) {
      if (op == Unary::Neg) throw RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.");
      // Every remaining op is the identity on bools (square: v && v).
      return copy(out, x);
    } else {
      switch (op) {
        case Unary::Neg: return map<T, T>(out, in, [](T v) -> T { return -v; });
        case Unary::Abs: return map<T, T>(out, in, [](T v) -> T { return v < 0 ? -v : v; });
        case Unary::Sign: return map<T, T>(out, in, [](T v) -> T { return sign_of(v); });
        case Unary::Square: return map<T, T>(out, in, [](T v) -> T { return v * v; });
        case Unary::Relu: return map<T, T>(out, in, [](T v) -> T { return v > T(0) ? v : (v != v ? v : T(0)); });
        default: break;
      }
      if constexpr (std::is_floating_point_v<T>) {
        switch (op) {
          case Unary::Floor: return map<T, T>(out, in, [](T v) -> T { return std::floor(v); });
          case Unary::Ceil: return map<T, T>(out, in, [](T v) -> T { return std::ceil(v); });
          case Unary::Round: return map<T, T>(out, in, [](T v) -> T { return std::nearbyint(v); });
          case Unary::Trunc: return map<T, T>(out, in, [](T v) -> T { return std::trunc(v); });
          default: break;
        }
      } else {
        return copy(out, x);  // rounding an integer
      }
    }
  });
}

}  // namespace cg::kernels
