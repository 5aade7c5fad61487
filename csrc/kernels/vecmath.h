// Vectorizable scalar definitions of the transcendental functions the elementwise loops call.
//
// Every function is straight-line code: range reduction, a polynomial, and integer manipulation
// of the IEEE-754 bit patterns (through memcpy). GCC 12 auto-vectorizes a plain loop such as
//   for (i) o[i] = vec_tanh(a[i]);
// at -O3 on the bare SSE2 x86-64 baseline (no -march, no -ffast-math), for float and double.
//
// Why the selects look the way they do: with the default -ftrapping-math GCC sinks a value that
// only feeds one arm of `c ? a : b` into a branch and then refuses to if-convert the (possibly
// trapping) FP arithmetic, so the loop is not vectorized; and SSE2 has no 64-bit integer
// compare/blend, so a mask made from a bool does not vectorize for double either. Hence every
// data-dependent choice is a bitwise blend whose mask is the sign bit of an integer difference
// smeared across the word: only add/sub/and/or/xor/shift, which SSE2 has for 32- and 64-bit lanes.
// Even clamps are done on the bits: with `x < lo ? lo : x` GCC threads the constant through the
// rest of the function as a separate path (control flow again). No float<->int conversions are
// used either (the exponent is OR-ed into the mantissa of 2^mant), since SSE2 has none for 64-bit
// integers. Note GCC 12 only vectorizes these at -O3 (-O2 uses the "very cheap" cost model).
//
// Accuracy (max relative error vs a float64 / x87 long double reference, measured by
// tests/cpp/vecmath_accuracy/check_accuracy.py): <= 1.5 eps for float (1.2e-7 / 2^-23 units),
// <= 1.8 eps for double. Polynomial coefficients are weighted-minimax (Remez) fits for the
// reduced ranges used here; polynomials use Estrin's scheme to keep dependency chains short.
//
// Special values: exp overflows to +inf, underflows gradually to 0, exp(-inf) = 0,
// exp(+inf) = inf; log(+-0) = -inf, log(x < 0) = NaN, log(inf) = inf, subnormal inputs are
// handled exactly; tanh saturates to +-1 and keeps the sign of -0; sigmoid never overflows
// (sigmoid(-inf) = 0, sigmoid(inf) = 1). NaN propagates everywhere.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

// Forced inline: called out of line (GCC's inliner gives up on large translation units), each
// element costs a call and the loop cannot vectorize.
#if defined(__GNUC__)
#define CG_VEC_INLINE inline __attribute__((always_inline))
#else
#define CG_VEC_INLINE inline
#endif

namespace cg::kernels {

namespace vecmath_detail {

template <typename T> struct Traits;

// exp: x = n*ln2 + r, |r| <= ln2/2, exp(r) = 1 + r + r^2 P(r). n is rounded with the magic
// constant 1.5*2^mant: after t = x*log2(e) + kMagic the low mantissa bits of t hold n in two's
// complement. ln2 = kLn2Hi + kLn2Lo (Cody-Waite), kLn2Hi has enough trailing zero bits that
// n*kLn2Hi is exact for every n reachable after clamping.
template <>
struct Traits<float> {
  using U = uint32_t;
  static constexpr int kMant = 23;
  static constexpr U kBias = 127;
  static constexpr U kSign = 0x80000000u;
  static constexpr U kOne = 0x3f800000u;  // bits of 1.0
  static constexpr U kMantMask = 0x007fffffu;
  static constexpr U kMinNormal = 0x00800000u;
  static constexpr U kMaxFinite = 0x7f7fffffu;
  static constexpr U kInf = 0x7f800000u;
  static constexpr U kSqrt2 = 0x3fb504f3u;  // bits of float(sqrt(2))
  static constexpr U kTanhSmall = 0x3f200000u;  // bits of 0.625
  static constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23
  static constexpr float kTwoMant = 8388608.0f;  // 2^23
  static constexpr float kLog2e = 1.44269502f;
  static constexpr float kLn2Hi = 0.693359375f;  // 0x3f318000
  static constexpr float kLn2Lo = -2.12194442e-4f;
  static constexpr float kExpCap = 150.0f;  // |x| clamp: |n/2| stays in the normal range
  static constexpr float kTanhCap = 40.0f;  // 2|x| cap: tanh(20) == 1.0f, exp(40) finite

  CG_VEC_INLINE static float exp_reduced(float r) {
    const float r2 = r * r;
    const float p = (4.999999404e-01f + 1.666651964e-01f * r) +
                    r2 * ((4.166840017e-02f + 8.368850686e-03f * r) + r2 * 1.381432055e-03f);
    return (r2 * p + r) + 1.0f;
  }
  // log1p(f) - f for f in [sqrt(1/2)-1, sqrt(2)-1]:  -f^2/2 + f^3 P(f)
  CG_VEC_INLINE static float log1p_minus_f(float f) {
    const float f2 = f * f, f4 = f2 * f2;
    const float p01 = 3.333333135e-01f - 2.500081956e-01f * f;
    const float p23 = 2.000122666e-01f - 1.662335694e-01f * f;
    const float p45 = 1.420175731e-01f - 1.316018105e-01f * f;
    const float p67 = 1.276157796e-01f - 7.634500414e-02f * f;
    const float p = (p01 + f2 * p23) + f4 * (p45 + f2 * p67);
    return f2 * (f * p - 0.5f);
  }
  // (tanh(a) - a) / a^3 as a polynomial in z = a^2, for a in [0, 0.625]
  CG_VEC_INLINE static float tanh_poly(float z) {
    const float z2 = z * z;
    return (-3.333328068e-01f + 1.333144158e-01f * z) +
           z2 * ((-5.373971537e-02f + 2.063908800e-02f * z) + z2 * -5.704987328e-03f);
  }
};

template <>
struct Traits<double> {
  using U = uint64_t;
  static constexpr int kMant = 52;
  static constexpr U kBias = 1023;
  static constexpr U kSign = 0x8000000000000000u;
  static constexpr U kOne = 0x3ff0000000000000u;
  static constexpr U kMantMask = 0x000fffffffffffffu;
  static constexpr U kMinNormal = 0x0010000000000000u;
  static constexpr U kMaxFinite = 0x7fefffffffffffffu;
  static constexpr U kInf = 0x7ff0000000000000u;
  static constexpr U kSqrt2 = 0x3ff6a09e667f3bcdu;
  static constexpr U kTanhSmall = 0x3fe4000000000000u;  // 0.625
  static constexpr double kMagic = 6755399441055744.0;  // 1.5 * 2^52
  static constexpr double kTwoMant = 4503599627370496.0;  // 2^52
  static constexpr double kLog2e = 1.4426950408889634;
  static constexpr double kLn2Hi = 6.93147180369123816490e-01;  // 0x3fe62e42fee00000
  static constexpr double kLn2Lo = 1.90821492927058770002e-10;
  static constexpr double kExpCap = 1400.0;
  static constexpr double kTanhCap = 80.0;  // tanh(40) == 1.0, exp(80) finite

  CG_VEC_INLINE static double exp_reduced(double r) {
    const double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    const double p01 = 5.0000000000000108262e-1 + 1.6666666666666407667e-1 * r;
    const double p23 = 4.1666666666528103219e-2 + 8.3333333334969260649e-3 * r;
    const double p45 = 1.388888894424934746e-3 + 1.9841269502735243341e-4 * r;
    const double p67 = 2.4801492388122423275e-5 + 2.7557588426629087835e-6 * r;
    const double p89 = 2.763052352852486177e-7 + 2.4999856510164477655e-8 * r;
    const double p = ((p01 + r2 * p23) + r4 * (p45 + r2 * p67)) + r8 * p89;
    return (r2 * p + r) + 1.0;
  }
  // log1p(f) - f = 2 atanh(s) - f with s = f/(2+f): using f*s = hfsq - s*hfsq (hfsq = f^2/2),
  // log1p(f) - f = s*(hfsq + R(s^2)) - hfsq, R(z) = 2z/3 + 2z^2/5 + ... (minimax on [0, 0.0295]).
  CG_VEC_INLINE static double log1p_minus_f(double f) {
    const double s = f / (2.0 + f);
    const double z = s * s, z2 = z * z, z4 = z2 * z2;
    const double r = z * (((6.6666666666667344603e-1 + 3.9999999999414321171e-1 * z) +
                           z2 * (2.8571428742474846501e-1 + 2.2222198563489718672e-1 * z)) +
                          z4 * ((1.8183564866426817229e-1 + 1.5314035841749964909e-1 * z) +
                                z2 * 1.4796105377200839407e-1));
    const double hfsq = 0.5 * f * f;
    return s * (hfsq + r) - hfsq;
  }
  CG_VEC_INLINE static double tanh_poly(double z) {
    const double z2 = z * z, z4 = z2 * z2, z8 = z4 * z4;
    const double p01 = -3.3333333333332855269e-1 + 1.3333333333262091773e-1 * z;
    const double p23 = -5.3968253931267877676e-2 + 2.1869487576098024377e-2 * z;
    const double p45 = -8.8632210026689360488e-3 + 3.5919891740826266783e-3 * z;
    const double p67 = -1.4549588791916351884e-3 + 5.8631654384364004433e-4 * z;
    const double p89 = -2.2856421749595934682e-4 + 7.7144373236425661851e-5 * z;
    return ((p01 + z2 * p23) + z4 * (p45 + z2 * p67)) + z8 * (p89 + z2 * -1.6072572629995191845e-5);
  }
};

template <typename T>
CG_VEC_INLINE typename Traits<T>::U to_bits(T x) {
  typename Traits<T>::U u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}
template <typename T>
CG_VEC_INLINE T from_bits(typename Traits<T>::U u) {
  T x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}
// All-ones if the top bit of v is set, else 0. With v = a - b (no wraparound), "a < b".
template <typename U>
CG_VEC_INLINE U top_mask(U v) {
  return U(0) - (v >> (sizeof(U) * 8 - 1));
}
template <typename T>
CG_VEC_INLINE T blend(typename Traits<T>::U m, T a, T b) {  // m ? a : b, bitwise
  return from_bits<T>((to_bits(a) & m) | (to_bits(b) & ~m));
}

// x with |x| clamped to cap (sign kept, NaN passed through), on the bits: ternary clamps against
// constants would let GCC thread the constant into a separate path (control flow, no SIMD).
template <typename T>
CG_VEC_INLINE T clamp_abs(T x, T cap) {
  using C = Traits<T>;
  using U = typename C::U;
  const U u = to_bits(x);
  const U ua = u & ~C::kSign;
  const U m = top_mask<U>(to_bits(cap) - ua) & ~top_mask<U>(C::kInf - ua);  // cap < |x| <= inf
  return from_bits<T>(((to_bits(cap) | (u & C::kSign)) & m) | (u & ~m));
}

// 2^k for the integer k held in the low mantissa bits of t = k + kMagic (k + bias in (0, 2*bias]).
template <typename T>
CG_VEC_INLINE T pow2_from_magic(T t) {
  using C = Traits<T>;
  return from_bits<T>((to_bits(t) + C::kBias) << C::kMant);
}

// exp for x already in [-87, 88] (float) / [-708, 709] (double), or NaN; no range handling.
template <typename T>
CG_VEC_INLINE T exp_core(T x) {
  using C = Traits<T>;
  const T t = x * C::kLog2e + C::kMagic;
  const T n = t - C::kMagic;
  const T r = (x - n * C::kLn2Hi) - n * C::kLn2Lo;
  return C::exp_reduced(r) * pow2_from_magic(t);
}

// Full-range exp: clamp (NaN-preserving), then scale by 2^n = 2^n1 * 2^n2, n1 = round(n/2), so
// large results reach inf and tiny ones underflow gradually with a single rounding.
template <typename T>
CG_VEC_INLINE T exp_impl(T x) {
  using C = Traits<T>;
  x = clamp_abs(x, C::kExpCap);
  const T t = x * C::kLog2e + C::kMagic;
  const T n = t - C::kMagic;
  const T r = (x - n * C::kLn2Hi) - n * C::kLn2Lo;
  const T t1 = n * T(0.5) + C::kMagic;
  const T t2 = (n - (t1 - C::kMagic)) + C::kMagic;
  return C::exp_reduced(r) * pow2_from_magic(t1) * pow2_from_magic(t2);
}

// log: x = 2^e * m, m in [sqrt(1/2), sqrt(2)), f = m - 1 (exact), log x = e*ln2 + log1p(f).
// Subnormals are first scaled by 2^mant. The biased exponent becomes a float by OR-ing it into
// the mantissa of 2^mant. Special inputs are patched in at the end by bit masks.
template <typename T>
CG_VEC_INLINE T log_impl(T x) {
  using C = Traits<T>;
  using U = typename C::U;
  const U u = to_bits(x);
  const U ua = u & ~C::kSign;
  const U m_sub = top_mask<U>(u - C::kMinNormal);  // 0 <= x < min normal (or x < 0)
  const T xs = x * from_bits<T>((to_bits(C::kTwoMant) & m_sub) | (C::kOne & ~m_sub));
  const U us = to_bits(xs);
  U mant = (us & C::kMantMask) | C::kOne;              // [1, 2)
  const U m_big = top_mask<U>(C::kSqrt2 - mant);       // m > sqrt(2): halve it
  mant -= m_big & (U(1) << C::kMant);
  const U ebits = ((us >> C::kMant) + (m_big & 1u)) | to_bits(C::kTwoMant);
  const T e = (from_bits<T>(ebits) - (C::kTwoMant + T(C::kBias))) -
              from_bits<T>(m_sub & to_bits(T(C::kMant)));
  const T f = from_bits<T>(mant) - T(1);
  const T lf = C::log1p_minus_f(f);
  T res = e * C::kLn2Hi + ((lf + e * C::kLn2Lo) + f);
  const U m_neg = top_mask<U>(u);                              // sign set (incl. -0, -NaN)
  const U m_zero = top_mask<U>(ua - 1u);                       // +-0
  const U m_naninf = top_mask<U>(C::kMaxFinite - ua) & ~m_neg;  // +inf, +NaN
  res = blend(m_neg, std::numeric_limits<T>::quiet_NaN(), res);
  res = blend(m_zero, -std::numeric_limits<T>::infinity(), res);
  res = blend(m_naninf, x, res);
  return res;
}

// tanh on a = |x|, sign OR-ed back (tanh(-0) = -0). a < 0.625: a + a^3 P(a^2) (no cancellation);
// else 1 - 2/(exp(2a) + 1) with 2a capped (NaN-preserving) past where tanh rounds to 1.
template <typename T>
CG_VEC_INLINE T tanh_impl(T x) {
  using C = Traits<T>;
  using U = typename C::U;
  const U u = to_bits(x);
  const U ua = u & ~C::kSign;
  const T a = from_bits<T>(ua);
  const T z = a * a;
  const T small = a + a * z * C::tanh_poly(z);
  const T a2 = clamp_abs(a + a, C::kTanhCap);
  const T large = T(1) - T(2) / (exp_core(a2) + T(1));
  const T res = blend(top_mask<U>(ua - C::kTanhSmall), small, large);  // NaN -> large (NaN)
  return from_bits<T>(to_bits(res) | (u & C::kSign));
}

// sigmoid with e = exp(-|x|) <= 1 (never overflows): 1/(1+e) for x >= 0, e/(1+e) for x < 0.
template <typename T>
CG_VEC_INLINE T sigmoid_impl(T x) {
  using C = Traits<T>;
  using U = typename C::U;
  const U u = to_bits(x);
  const T e = exp_impl(from_bits<T>(u | C::kSign));
  return blend(top_mask<U>(u), e, T(1)) / (T(1) + e);
}

}  // namespace vecmath_detail

template <typename T>
CG_VEC_INLINE T vec_exp(T x) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>)
    return vecmath_detail::exp_impl(x);
  else return std::exp(x);
}

template <typename T>
CG_VEC_INLINE T vec_log(T x) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>)
    return vecmath_detail::log_impl(x);
  else return std::log(x);
}

template <typename T>
CG_VEC_INLINE T vec_tanh(T x) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>)
    return vecmath_detail::tanh_impl(x);
  else return std::tanh(x);
}

template <typename T>
CG_VEC_INLINE T vec_sigmoid(T x) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>)
    return vecmath_detail::sigmoid_impl(x);
  else return T(1) / (T(1) + std::exp(-x));
}

}  // namespace cg::kernels
