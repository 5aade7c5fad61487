// Arithmetic binary ops, tensor (op) tensor and tensor (op) scalar, and the integer-divisor check.
#include "kernels/convert.h"
#include "kernels/elementwise_impl.h"

namespace cg::kernels {

namespace {
[[noreturn]] void throw_zero_division() { throw ZeroDivisionError("ZeroDivisionError"); }
}  // namespace

void check_integer_divisor(const Tensor& divisor) {
  if (is_storage_only(divisor.dtype())) return check_integer_divisor(widened(divisor));
  CG_DISPATCH_ALL(divisor.dtype(), [&] {
    using T = scalar_t;
    if constexpr (kIsInteger<T>) {
      Tensor d = divisor;
      if (!d.is_contiguous()) {
        d = Tensor::empty(divisor.shape(), divisor.dtype());
        copy(d, divisor);
      }
      const T* p = d.data<T>();
      for (int64_t i = 0, n = d.numel(); i < n; ++i)
        if (p[i] == T(0)) throw_zero_division();
    }
  });
}

void check_integer_divisor(Scalar divisor, DType dtype) {
  CG_DISPATCH_ALL(dtype, [&] {
    using T = scalar_t;
    if constexpr (kIsInteger<T>)
      if (divisor.to<T>() == T(0)) throw_zero_division();
  });
}

void binary(Binary op, const Tensor& a, const Tensor& b, const Tensor& out) {
  if (is_comparison(op)) return compare(op, a, b, out);
  const std::array<const Tensor*, 2> in{&a, &b};
  if (is_division(op) && out.numel() > 0) check_integer_divisor(b);
  CG_DISPATCH_ALL(a.dtype(), [&] {
    using T = scalar_t;
    if constexpr (std::is_same_v<T, bool>) {
      // Arithmetic on bools: PyTorch computes add/mul as logical or/and.
      switch (op) {
        case Binary::Add: case Binary::Maximum:
          return map<bool, bool, bool>(out, in, [](bool x, bool y) { return x || y; });
        case Binary::Mul: case Binary::Minimum:
          return map<bool, bool, bool>(out, in, [](bool x, bool y) { return x && y; });
        case Binary::Remainder: throw_not_implemented("remainder_cpu", DType::Bool);
        case Binary::FloorDivide: throw_not_implemented("div_floor_cpu", DType::Bool);
        case Binary::TruncDivide: throw_not_implemented("div_trunc_cpu", DType::Bool);
        case Binary::Fmod: throw_not_implemented("fmod_cpu", DType::Bool);
        case Binary::Pow: throw_not_implemented("pow", DType::Bool);
        default:
          throw RuntimeError(msg(binary_name(op), " is not supported for bool tensors"));
      }
    } else {
      binary_dispatch<T>(op, [&](auto f) { map<T, T, T>(out, in, f); });
    }
  });
}

void binary_scalar(Binary op, const Tensor& a, Scalar s, const Tensor& out, bool scalar_first) {
  if (is_comparison(op)) return compare_scalar(op, a, s, out, scalar_first);
  if (is_division(op) && out.numel() > 0) {
    if (scalar_first) check_integer_divisor(a);
    else check_integer_divisor(s, a.dtype());
  }
  const std::array<const Tensor*, 1> in{&a};
  CG_DISPATCH_ALL(a.dtype(), [&] {
    using T = scalar_t;
    if constexpr (std::is_same_v<T, bool>) {
      Tensor cb = Tensor::scalar(s, DType::Bool);
      binary(op, scalar_first ? cb : a, scalar_first ? a : cb, out);
    } else {
      const T c = s.to<T>();
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
      binary_dispatch<T>(op, [&](auto f) {
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

}  // namespace cg::kernels
