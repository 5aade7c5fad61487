// A Python-style number: remembers whether it was written as bool, int or float, which decides
// type promotion (a float scalar lifts an int tensor to float32; it never widens float32).
#pragma once
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/dtype.h"

namespace cg {

template <typename T>
constexpr bool is_half_v = std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;

// One element converted between storage types as PyTorch's casts do: 16-bit floats go through
// float (round-to-nearest-even), integers narrow by wrapping around, and a float that does not
// fit the integer type gives what the x86 conversion instruction gives (the "integer
// indefinite" minimum) instead of undefined behaviour.
template <typename D, typename S>
inline D convert_value(S v) {
  if constexpr (is_half_v<S>) {
    return convert_value<D>(static_cast<float>(v));
  } else if constexpr (std::is_same_v<D, bool>) {
    return v != S(0);
  } else if constexpr (is_half_v<D>) {
    return D(static_cast<float>(v));
  } else if constexpr (std::is_integral_v<D> && std::is_floating_point_v<S>) {
    if constexpr (sizeof(D) == 8) {
      constexpr S lim = S(9223372036854775808.0);  // 2^63
      return (v >= -lim && v < lim) ? static_cast<D>(v) : std::numeric_limits<int64_t>::min();
    } else {
      constexpr S lim = S(2147483648.0);  // 2^31: narrower targets convert through int32
      const int32_t w = (v >= -lim && v < lim) ? static_cast<int32_t>(v) : std::numeric_limits<int32_t>::min();
      return static_cast<D>(w);
    }
  } else {
    return static_cast<D>(v);
  }
}

class Scalar {
 public:
  Scalar(double v) : kind_(ScalarKind::Float) { v_.d = v; }
  Scalar(float v) : Scalar(static_cast<double>(v)) {}
  Scalar(int64_t v) : kind_(ScalarKind::Int) { v_.i = v; }
  Scalar(int v) : Scalar(static_cast<int64_t>(v)) {}
  Scalar(bool v) : kind_(ScalarKind::Bool) { v_.i = v ? 1 : 0; }

  ScalarKind kind() const { return kind_; }
  double to_double() const { return kind_ == ScalarKind::Float ? v_.d : static_cast<double>(v_.i); }
  int64_t to_int() const { return kind_ == ScalarKind::Float ? static_cast<int64_t>(v_.d) : v_.i; }
  template <typename T> T to() const {
    if constexpr (std::is_same_v<T, bool>) return kind_ == ScalarKind::Float ? v_.d != 0.0 : v_.i != 0;
    else if constexpr (std::is_integral_v<T>) return static_cast<T>(to_int());
    else return static_cast<T>(to_double());
  }
  // The dtype a tensor made from this scalar alone gets (torch.tensor(2) is int64, 2.0 the
  // default float dtype).
  DType default_dtype() const {
    return kind_ == ScalarKind::Float ? default_float_dtype() : kind_ == ScalarKind::Int ? DType::Int64 : DType::Bool;
  }

 private:
  // One value, read through its kind (16 bytes: nodes that save a number hold it inline).
  ScalarKind kind_;
  union {
    double d;
    int64_t i;
  } v_;
};

// Writes `s` as one element of `dtype` at `dst`, and reads one back (bool, int or float kind).
inline void store_scalar(const Scalar& s, DType dtype, void* dst) {
  CG_DISPATCH_STORAGE(dtype, [&] {
    scalar_t v = s.kind() == ScalarKind::Float  ? convert_value<scalar_t>(s.to_double())
                 : s.kind() == ScalarKind::Bool ? convert_value<scalar_t>(s.to_int() != 0)
                                                : convert_value<scalar_t>(s.to_int());
    std::memcpy(dst, &v, sizeof v);
  });
}

inline Scalar load_scalar(DType dtype, const void* src) {
  return CG_DISPATCH_STORAGE(dtype, [&]() -> Scalar {
    scalar_t v;
    std::memcpy(&v, src, sizeof v);
    if (dtype == DType::Bool) return Scalar(convert_value<bool>(v));
    if (is_floating(dtype)) return Scalar(convert_value<double>(v));
    return Scalar(convert_value<int64_t>(v));
  });
}

}  // namespace cg
