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

  static uint16_t from_float(float f) {
    const uint32_t u = float_bits(f);
    const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
    const uint32_t a = u & 0x7fffffffu;
    if (a >= 0x7f800000u) return sign | (a > 0x7f800000u ? 0x7e00u : 0x7c00u);  // NaN (quiet) / inf
    if (a >= 0x477ff000u) return sign | 0x7c00u;  // rounds past 65504: overflow to inf
    if (a < 0x38800000u) {
      // Below the smallest normal half (2^-14): a subnormal half, i.e. a multiple of 2^-24.
      // Adding 0.5 makes the float adder round the value to that grid, nearest-even.
      const float r = bits_float(a) + 0.5f;
      return sign | static_cast<uint16_t>(float_bits(r) - 0x3f000000u);
    }
    // Normal: rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits to nearest-even.
    const uint32_t odd = (a >> 13) & 1u;
    return sign | static_cast<uint16_t>((a - 0x38000000u + 0xfffu + odd) >> 13);
  }
  static float to_float(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    if (exp == 0x1f) return bits_float(sign | 0x7f800000u | (man << 13));  // inf / NaN
    if (exp == 0) {
      // Zero or subnormal: man * 2^-24, exact in float.
      const float v = static_cast<float>(man) * bits_float(0x33800000u);
      return sign ? -v : v;
    }
    return bits_float(sign | ((exp + 112u) << 23) | (man << 13));
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
