// 16-bit floating-point storage types. They only store: arithmetic on them runs in float32 (see
// compute_dtype in core/dtype.h), so all they need is exact conversion to and from float, with
// round-to-nearest-even on the way in (what IEEE casts and PyTorch do).
#pragma once
#include <cstdint>
#include <cstring>

namespace cg {

inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
inline float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// IEEE binary16: 1 sign, 5 exponent, 10 mantissa bits.
struct Half {
  uint16_t bits = 0;
  Half() = default;
  Half(float f) : bits(from_float(f)) {}  // NOLINT: implicit like a float conversion
  operator float() const { return to_float(bits); }

  // Both conversions compute every case and select, without branches, so that conversion
  // loops vectorize.
  static uint16_t from_float(float f) {
    const uint32_t u = float_bits(f);
    const uint32_t sign = (u >> 16) & 0x8000u;
    const uint32_t a = u & 0x7fffffffu;
    // Normal: rebias the exponent (127 -> 15), round the 13 dropped mantissa bits to nearest-even.
    const uint32_t normal = (a - 0x38000000u + 0xfffu + ((a >> 13) & 1u)) >> 13;
    // Below 2^-14 the half is subnormal, a multiple of 2^-24: adding 0.5 (whose ulp is 2^-24)
    // makes the float adder round to that grid, nearest-even.
    const uint32_t subnormal = float_bits(bits_float(a) + 0.5f) - 0x3f000000u;
    uint32_t r = a < 0x38800000u ? subnormal : normal;
    r = a >= 0x477ff000u ? 0x7c00u : r;  // rounds past 65504: inf
    r = a > 0x7f800000u ? 0x7e00u : r;   // NaN: the quiet NaN
    return static_cast<uint16_t>(sign | r);
  }
  static float to_float(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    const uint32_t normal = sign | ((exp + 112u) << 23) | (man << 13);
    const uint32_t inf_nan = sign | 0x7f800000u | (man << 13);
    const uint32_t subnormal = sign | float_bits(static_cast<float>(man) * bits_float(0x33800000u));  // man * 2^-24
    return bits_float(exp == 0 ? subnormal : exp == 0x1f ? inf_nan : normal);
  }
};

// bfloat16: the top 16 bits of a float32 (1 sign, 8 exponent, 7 mantissa bits).
struct BFloat16 {
  uint16_t bits = 0;
  BFloat16() = default;
  BFloat16(float f) : bits(from_float(f)) {}  // NOLINT: implicit like a float conversion
  operator float() const { return bits_float(static_cast<uint32_t>(bits) << 16); }

  static uint16_t from_float(float f) {
    const uint32_t u = float_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0u;  // the canonical quiet NaN, as PyTorch stores it
    return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);  // nearest-even
  }
};

}  // namespace cg
