// Internal to the elementwise kernels (elementwise_*.cpp, split by family so they compile in
// parallel): the scalar functions of the binary ops and the dispatch helpers they share.
#pragma once
#include <cmath>
#include <type_traits>

#include "kernels/elementwise.h"
#include "kernels/loop.h"
#include "kernels/vecmath.h"

namespace cg::kernels {

template <typename T>
inline constexpr bool kIsInteger = std::is_integral_v<T> && !std::is_same_v<T, bool>;

// Ops that divide: on integers a zero divisor raises ZeroDivisionError (checked before any loop
// runs, never inside one) and a / -1 must not trap for the most negative a.
bool is_division(Binary op);
// Throws ZeroDivisionError if an integer `divisor` holds a zero (any other dtype: no-op).
void check_integer_divisor(const Tensor& divisor);
void check_integer_divisor(Scalar divisor, DType dtype);

// The integer division helpers. The divisor is never 0 here (see check_integer_divisor). Division
// by -1 is negation, done wrapping: INT64_MIN / -1 overflows (SIGFPE); PyTorch returns INT64_MIN.
template <typename T>
T wrapping_neg(T a) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(U(0) - static_cast<U>(a));
}
template <typename T>
T int_trunc_div(T a, T b) {
  if constexpr (std::is_signed_v<T>)
    if (b == T(-1)) return wrapping_neg(a);
  return static_cast<T>(a / b);
}
template <typename T>
T int_fmod(T a, T b) {
  if constexpr (std::is_signed_v<T>)
    if (b == T(-1)) return T(0);
  return static_cast<T>(a % b);
}

// Python's % and //: the remainder takes the divisor's sign, the quotient rounds to -inf.
template <typename T>
T py_remainder(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    T r = std::fmod(a, b);
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
  } else if constexpr (std::is_signed_v<T>) {
    T r = int_fmod(a, b);
    return (r != 0 && ((r < 0) != (b < 0))) ? static_cast<T>(r + b) : r;
  } else {
    return int_fmod(a, b);
  }
}
template <typename T>
T py_floordiv(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::floor(a / b);
  } else if constexpr (std::is_signed_v<T>) {
    T q = int_trunc_div(a, b);
    T r = int_fmod(a, b);
    return (r != 0 && ((r < 0) != (b < 0))) ? static_cast<T>(q - 1) : q;
  } else {
    return int_trunc_div(a, b);
  }
}
template <typename T>
T c_fmod(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) return std::fmod(a, b);
  else return int_fmod(a, b);
}
template <typename T>
T trunc_div(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) return std::trunc(a / b);
  else return int_trunc_div(a, b);
}

template <typename T>
T int_pow(T base, T exp) {
  if constexpr (std::is_signed_v<T>)
    if (exp < 0) return base == 1 ? 1 : (base == -1 ? (exp % 2 ? -1 : 1) : 0);
  T result = 1;
  while (exp) {
    if (exp & 1) result *= base;
    base *= base;
    exp >>= 1;
  }
  return result;
}

// The scalar function of each arithmetic binary op, as a lambda the loop inlines.
template <typename T, typename Body>
void binary_dispatch(Binary op, const Body& body) {
  switch (op) {
    case Binary::Add: return body([](T a, T b) -> T { return a + b; });
    case Binary::Sub: return body([](T a, T b) -> T { return a - b; });
    case Binary::Mul: return body([](T a, T b) -> T { return a * b; });
    case Binary::Div: return body([](T a, T b) -> T { return std::is_floating_point_v<T> ? a / b : trunc_div(a, b); });
    case Binary::Pow:
      if constexpr (std::is_floating_point_v<T>) return body([](T a, T b) -> T { return std::pow(a, b); });
      else return body([](T a, T b) -> T { return int_pow(a, b); });
    case Binary::Maximum: return body([](T a, T b) -> T { return (a != a || a > b) ? a : b; });
    case Binary::Minimum: return body([](T a, T b) -> T { return (a != a || a < b) ? a : b; });
    case Binary::Remainder: return body([](T a, T b) -> T { return py_remainder(a, b); });
    case Binary::FloorDivide: return body([](T a, T b) -> T { return py_floordiv(a, b); });
    case Binary::Fmod: return body([](T a, T b) -> T { return c_fmod(a, b); });
    case Binary::TruncDivide: return body([](T a, T b) -> T { return trunc_div(a, b); });
    case Binary::Atan2:
      if constexpr (std::is_floating_point_v<T>) return body([](T a, T b) -> T { return std::atan2(a, b); });
      else break;
    default: break;
  }
  throw std::logic_error("binary_dispatch: not an arithmetic op");
}

template <typename T, typename Body>
void compare_dispatch(Binary op, const Body& body) {
  switch (op) {
    case Binary::Eq: return body([](T a, T b) -> bool { return a == b; });
    case Binary::Ne: return body([](T a, T b) -> bool { return a != b; });
    case Binary::Lt: return body([](T a, T b) -> bool { return a < b; });
    case Binary::Le: return body([](T a, T b) -> bool { return a <= b; });
    case Binary::Gt: return body([](T a, T b) -> bool { return a > b; });
    case Binary::Ge: return body([](T a, T b) -> bool { return a >= b; });
    case Binary::LogicalAnd: return body([](T a, T b) -> bool { return (a != T(0)) && (b != T(0)); });
    case Binary::LogicalOr: return body([](T a, T b) -> bool { return (a != T(0)) || (b != T(0)); });
    case Binary::LogicalXor: return body([](T a, T b) -> bool { return (a != T(0)) != (b != T(0)); });
    default: break;
  }
  throw std::logic_error("compare_dispatch: not a comparison");
}

// Families in their own files (entry points in elementwise.h dispatch to them).
void unary_float(Unary op, const Tensor& x, const Tensor& out);
void compare(Binary op, const Tensor& a, const Tensor& b, const Tensor& out);
void compare_scalar(Binary op, const Tensor& a, Scalar s, const Tensor& out, bool scalar_first);

}  // namespace cg::kernels
