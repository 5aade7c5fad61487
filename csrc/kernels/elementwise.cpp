#include "kernels/elementwise.h"

#include <cmath>
#include <type_traits>

#include "kernels/loop.h"
#include "kernels/vecmath.h"

namespace cg::kernels {

Shape broadcast_strides(const Tensor& t, const Shape& shape) {
  // Callers size `out` by broadcasting; an operand that does not broadcast to it is a bug upstream,
  // reported instead of reading or writing out of bounds.
  bool ok = t.shape().size() <= shape.size();
  for (size_t i = 0; ok && i < t.shape().size(); ++i) {
    const int64_t have = t.shape()[i], want = shape[shape.size() - t.shape().size() + i];
    ok = have == want || have == 1;
  }
  if (!ok)
    throw RuntimeError(msg("output with shape ", shape_str(shape), " doesn't match the broadcast shape ",
                           shape_str(broadcast_shapes(shape, t.shape()))));
  Shape out(shape.size(), 0);
  size_t off = shape.size() - t.shape().size();
  for (size_t i = 0; i < t.shape().size(); ++i)
    out[off + i] = t.shape()[i] == 1 && shape[off + i] != 1 ? 0 : t.strides()[i];
  return out;
}

bool is_comparison(Binary op) {
  switch (op) {
    case Binary::Eq: case Binary::Ne: case Binary::Lt: case Binary::Le: case Binary::Gt:
    case Binary::Ge: case Binary::LogicalAnd: case Binary::LogicalOr: case Binary::LogicalXor:
      return true;
    default:
      return false;
  }
}

const char* unary_name(Unary op) {
  static const char* names[] = {"neg", "abs", "sign", "sqrt", "rsqrt", "square", "reciprocal", "exp",
                                "expm1", "log", "log1p", "log2", "sin", "cos", "tan", "tanh", "sigmoid",
                                "relu", "silu", "gelu", "softplus", "erf", "floor", "ceil", "round",
                                "trunc", "logical_not", "isnan", "isinf"};
  return names[static_cast<int>(op)];
}

const char* binary_name(Binary op) {
  static const char* names[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "remainder",
                                "floor_divide", "atan2", "eq", "ne", "lt", "le", "gt", "ge",
                                "logical_and", "logical_or", "logical_xor"};
  return names[static_cast<int>(op)];
}

namespace {

template <typename T>
T py_remainder(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    T r = std::fmod(a, b);
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
  } else {
    if (b == 0) return 0;
    T r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
  }
}

template <typename T>
T py_floordiv(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::floor(a / b);
  } else {
    if (b == 0) return 0;
    T q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
  }
}

template <typename T>
T int_pow(T base, T exp) {
  if (exp < 0) return base == 1 ? 1 : (base == -1 ? (exp % 2 ? -1 : 1) : 0);
  T result = 1;
  while (exp) {
    if (exp & 1) result *= base;
    base *= base;
    exp >>= 1;
  }
  return result;
}

// The scalar function of each binary op, as a lambda the loop engine inlines.
template <typename T, typename R, typename Body>
void binary_dispatch(Binary op, const Body& body) {
  switch (op) {
    case Binary::Add: return body([](T a, T b) -> R { return a + b; });
    case Binary::Sub: return body([](T a, T b) -> R { return a - b; });
    case Binary::Mul: return body([](T a, T b) -> R { return a * b; });
    case Binary::Div: return body([](T a, T b) -> R { return a / b; });
    case Binary::Pow:
      if constexpr (std::is_floating_point_v<T>) return body([](T a, T b) -> R { return std::pow(a, b); });
      else return body([](T a, T b) -> R { return int_pow(a, b); });
    case Binary::Maximum:
      return body([](T a, T b) -> R { return (a != a || a > b) ? a : b; });
    case Binary::Minimum:
      return body([](T a, T b) -> R { return (a != a || a < b) ? a : b; });
    case Binary::Remainder: return body([](T a, T b) -> R { return py_remainder(a, b); });
    case Binary::FloorDivide: return body([](T a, T b) -> R { return py_floordiv(a, b); });
    case Binary::Atan2: return body([](T a, T b) -> R { return std::atan2(a, b); });
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
      CG_DISPATCH_ALL(x.dtype(), [&] {
        using T = scalar_t;
        if constexpr (std::is_same_v<T, bool>) {
          if (op == Unary::Neg) throw RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.");
          map<T, T>(out, in, [op](T v) -> T { return op == Unary::Sign || op == Unary::Abs || op == Unary::Relu || op == Unary::Floor || op == Unary::Ceil || op == Unary::Round || op == Unary::Trunc ? v : (v && v); });
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
            return map<T, T>(out, in, [](T v) -> T { return v; });
          }
        }
      });
      return;
    default:
      break;
  }
  CG_DISPATCH_FLOAT(x.dtype(), unary_name(op), [&] {
    using T = scalar_t;
    constexpr int64_t kCost = 8;  // transcendental: parallelise smaller loops
    switch (op) {
      case Unary::Sqrt: return map<T, T>(out, in, [](T v) { return std::sqrt(v); });
      case Unary::Rsqrt: return map<T, T>(out, in, [](T v) { return T(1) / std::sqrt(v); });
      case Unary::Reciprocal: return map<T, T>(out, in, [](T v) { return T(1) / v; });
      case Unary::Exp: return map<T, T>(out, in, [](T v) { return vec_exp(v); }, kCost);
      case Unary::Expm1: return map<T, T>(out, in, [](T v) { return std::expm1(v); }, kCost);
      case Unary::Log: return map<T, T>(out, in, [](T v) { return vec_log(v); }, kCost);
      case Unary::Log1p: return map<T, T>(out, in, [](T v) { return std::log1p(v); }, kCost);
      case Unary::Log2: return map<T, T>(out, in, [](T v) { return std::log2(v); }, kCost);
      case Unary::Sin: return map<T, T>(out, in, [](T v) { return std::sin(v); }, kCost);
      case Unary::Cos: return map<T, T>(out, in, [](T v) { return std::cos(v); }, kCost);
      case Unary::Tan: return map<T, T>(out, in, [](T v) { return std::tan(v); }, kCost);
      case Unary::Tanh: return map<T, T>(out, in, [](T v) { return vec_tanh(v); }, kCost);
      case Unary::Sigmoid: return map<T, T>(out, in, [](T v) { return vec_sigmoid(v); }, kCost);
      case Unary::Silu: return map<T, T>(out, in, [](T v) { return v * vec_sigmoid(v); }, kCost);
      case Unary::Gelu:
        return map<T, T>(out, in, [](T v) { return T(0.5) * v * (T(1) + std::erf(v * T(M_SQRT1_2))); }, kCost);
      case Unary::Softplus:
        return map<T, T>(out, in, [](T v) { return v > T(20) ? v : std::log1p(std::exp(v)); }, kCost);
      case Unary::Erf: return map<T, T>(out, in, [](T v) { return std::erf(v); }, kCost);
      default: throw std::logic_error("unary: unhandled op");
    }
  });
}

void binary(Binary op, const Tensor& a, const Tensor& b, const Tensor& out) {
  const std::array<const Tensor*, 2> in{&a, &b};
  if (is_comparison(op)) {
    CG_DISPATCH_ALL(a.dtype(), [&] {
      compare_dispatch<scalar_t>(op, [&](auto f) { map<bool, scalar_t, scalar_t>(out, in, f); });
    });
    return;
  }
  CG_DISPATCH_ALL(a.dtype(), [&] {
    using T = scalar_t;
    if constexpr (std::is_same_v<T, bool>) {
      // Arithmetic on bools: PyTorch computes add/mul as logical or/and.
      switch (op) {
        case Binary::Add: case Binary::Maximum:
          return map<bool, bool, bool>(out, in, [](bool x, bool y) { return x || y; });
        case Binary::Mul: case Binary::Minimum:
          return map<bool, bool, bool>(out, in, [](bool x, bool y) { return x && y; });
        default:
          throw RuntimeError(msg(binary_name(op), " is not supported for bool tensors"));
      }
    } else {
      binary_dispatch<T, T>(op, [&](auto f) { map<T, T, T>(out, in, f); });
    }
  });
}

void binary_scalar(Binary op, const Tensor& a, Scalar s, const Tensor& out, bool scalar_first) {
  const std::array<const Tensor*, 1> in{&a};
  CG_DISPATCH_ALL(a.dtype(), [&] {
    using T = scalar_t;
    const T c = s.to<T>();
    if (is_comparison(op)) {
      compare_dispatch<T>(op, [&](auto f) {
        if (scalar_first) map<bool, T>(out, in, [f, c](T v) { return f(c, v); });
        else map<bool, T>(out, in, [f, c](T v) { return f(v, c); });
      });
      return;
    }
    if constexpr (std::is_same_v<T, bool>) {
      Tensor cb = Tensor::scalar(s, DType::Bool);
      binary(op, scalar_first ? cb : a, scalar_first ? a : cb, out);
    } else {
      // The two most common cases get loops with the constant folded in.
      if (op == Binary::Mul) return map<T, T>(out, in, [c](T v) { return v * c; });
      if (op == Binary::Add) return map<T, T>(out, in, [c](T v) { return v + c; });
      if constexpr (std::is_floating_point_v<T>) {
        if (op == Binary::Pow && !scalar_first) {
          if (c == T(2)) return map<T, T>(out, in, [](T v) { return v * v; });
          if (c == T(3)) return map<T, T>(out, in, [](T v) { return v * v * v; });
          if (c == T(1)) return map<T, T>(out, in, [](T v) { return v; });
          if (c == T(0.5)) return map<T, T>(out, in, [](T v) { return std::sqrt(v); });
        }
      }
      binary_dispatch<T, T>(op, [&](auto f) {
        if (scalar_first) map<T, T>(out, in, [f, c](T v) { return f(c, v); });
        else map<T, T>(out, in, [f, c](T v) { return f(v, c); });
      });
    }
  });
}

void add_scaled(const Tensor& a, const Tensor& b, double alpha, const Tensor& out) {
  const std::array<const Tensor*, 2> in{&a, &b};
  CG_DISPATCH_NUMERIC(a.dtype(), "add", [&] {
    using T = scalar_t;
    const T al = static_cast<T>(alpha);
    if (alpha == 1.0) map<T, T, T>(out, in, [](T x, T y) { return x + y; });
    else map<T, T, T>(out, in, [al](T x, T y) { return x + al * y; });
  });
}

void copy(const Tensor& dst, const Tensor& src) { convert(dst, src); }  // kernels/convert.cpp

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

void clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi, const Tensor& out) {
  const std::array<const Tensor*, 1> in{&x};
  CG_DISPATCH_NUMERIC(x.dtype(), "clamp", [&] {
    using T = scalar_t;
    const T l = lo ? static_cast<T>(*lo) : T(0);
    const T h = hi ? static_cast<T>(*hi) : T(0);
    // min(max(v, lo), hi): when lo > hi every element becomes hi, as in PyTorch.
    if (lo && hi) map<T, T>(out, in, [l, h](T v) { return v != v ? v : ((v < l ? l : v) > h ? h : (v < l ? l : v)); });
    else if (lo) map<T, T>(out, in, [l](T v) { return v != v ? v : (v < l ? l : v); });
    else if (hi) map<T, T>(out, in, [h](T v) { return v != v ? v : (v > h ? h : v); });
    else copy(out, x);
  });
}

void leaky_relu(const Tensor& x, double slope, const Tensor& out) {
  const std::array<const Tensor*, 1> in{&x};
  CG_DISPATCH_FLOAT(x.dtype(), "leaky_relu", [&] {
    using T = scalar_t;
    const T s = static_cast<T>(slope);
    map<T, T>(out, in, [s](T v) { return v > T(0) ? v : v * s; });
  });
}

void elu(const Tensor& x, double alpha, const Tensor& out) {
  const std::array<const Tensor*, 1> in{&x};
  CG_DISPATCH_FLOAT(x.dtype(), "elu", [&] {
    using T = scalar_t;
    const T a = static_cast<T>(alpha);
    map<T, T>(out, in, [a](T v) { return v > T(0) ? v : a * std::expm1(v); }, 8);
  });
}

namespace {
template <typename F>
void grad_map(const char* name, const Tensor& g, const Tensor& x, const Tensor& out, const F& f) {
  const std::array<const Tensor*, 2> in{&g, &x};
  CG_DISPATCH_FLOAT(g.dtype(), name, [&] {
    using T = scalar_t;
    map<T, T, T>(out, in, [&f](T gv, T xv) { return f(gv, xv); });
  });
}
}  // namespace

void tanh_backward(const Tensor& grad, const Tensor& y, const Tensor& out) {
  grad_map("tanh_backward", grad, y, out, [](auto g, auto v) { return g * (decltype(v)(1) - v * v); });
}
void sigmoid_backward(const Tensor& grad, const Tensor& y, const Tensor& out) {
  grad_map("sigmoid_backward", grad, y, out, [](auto g, auto v) { return g * v * (decltype(v)(1) - v); });
}
void threshold_backward(const Tensor& grad, const Tensor& x, double threshold, const Tensor& out) {
  grad_map("threshold_backward", grad, x, out, [threshold](auto g, auto v) {
    return v > static_cast<decltype(v)>(threshold) ? g : decltype(g)(0);
  });
}
void leaky_relu_backward(const Tensor& grad, const Tensor& x, double slope, const Tensor& out) {
  grad_map("leaky_relu_backward", grad, x, out, [slope](auto g, auto v) {
    return v > decltype(v)(0) ? g : g * static_cast<decltype(g)>(slope);
  });
}
void elu_backward(const Tensor& grad, const Tensor& x, double alpha, const Tensor& out) {
  grad_map("elu_backward", grad, x, out, [alpha](auto g, auto v) {
    using T = decltype(v);
    return v > T(0) ? g : g * static_cast<T>(alpha) * std::exp(v);
  });
}
void silu_backward(const Tensor& grad, const Tensor& x, const Tensor& out) {
  grad_map("silu_backward", grad, x, out, [](auto g, auto v) {
    using T = decltype(v);
    T s = vec_sigmoid(v);
    return g * s * (T(1) + v * (T(1) - s));
  });
}
void gelu_backward(const Tensor& grad, const Tensor& x, const Tensor& out) {
  grad_map("gelu_backward", grad, x, out, [](auto g, auto v) {
    using T = decltype(v);
    T cdf = T(0.5) * (T(1) + std::erf(v * T(M_SQRT1_2)));
    T pdf = std::exp(T(-0.5) * v * v) * T(0.3989422804014327);
    return g * (cdf + v * pdf);
  });
}
void softplus_backward(const Tensor& grad, const Tensor& x, const Tensor& out) {
  grad_map("softplus_backward", grad, x, out, [](auto g, auto v) { return g * vec_sigmoid(v); });
}

}  // namespace cg::kernels
