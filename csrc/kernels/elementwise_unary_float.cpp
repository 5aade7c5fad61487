// Unary ops defined on floating dtypes only: roots, exponentials, logarithms, trigonometry and
// the smooth activations. exp/log/tanh/sigmoid/silu use vecmath.h so their loops vectorize, for
// AVX2+FMA too where the CPU has it (map_wide).
#include "kernels/elementwise_impl.h"

namespace cg::kernels {

void unary_float(Unary op, const Tensor& x, const Tensor& out) {
  const std::array<const Tensor*, 1> in{&x};
  CG_DISPATCH_FLOAT(x.dtype(), unary_name(op), [&] {
    using T = scalar_t;
    constexpr int64_t kCost = 8;  // transcendental: parallelise smaller loops
    switch (op) {
      case Unary::Sqrt: return map<T, T>(out, in, [](T v) { return std::sqrt(v); });
      case Unary::Rsqrt: return map<T, T>(out, in, [](T v) { return T(1) / std::sqrt(v); });
      case Unary::Reciprocal: return map<T, T>(out, in, [](T v) { return T(1) / v; });
      case Unary::Exp: return map_wide<T, T>(out, in, [](T v) { return vec_exp(v); }, kCost);
      case Unary::Expm1: return map<T, T>(out, in, [](T v) { return std::expm1(v); }, kCost);
      case Unary::Log: return map_wide<T, T>(out, in, [](T v) { return vec_log(v); }, kCost);
      case Unary::Log1p: return map<T, T>(out, in, [](T v) { return std::log1p(v); }, kCost);
      case Unary::Log2: return map<T, T>(out, in, [](T v) { return std::log2(v); }, kCost);
      case Unary::Sin: return map<T, T>(out, in, [](T v) { return std::sin(v); }, kCost);
      case Unary::Cos: return map<T, T>(out, in, [](T v) { return std::cos(v); }, kCost);
      case Unary::Tan: return map<T, T>(out, in, [](T v) { return std::tan(v); }, kCost);
      case Unary::Tanh: return map_wide<T, T>(out, in, [](T v) { return vec_tanh(v); }, kCost);
      case Unary::Sigmoid: return map_wide<T, T>(out, in, [](T v) { return vec_sigmoid(v); }, kCost);
      case Unary::Silu: return map_wide<T, T>(out, in, [](T v) { return v * vec_sigmoid(v); }, kCost);
      case Unary::Gelu:
        return map<T, T>(out, in, [](T v) { return T(0.5) * v * (T(1) + std::erf(v * T(M_SQRT1_2))); }, kCost);
      case Unary::Softplus:
        return map<T, T>(out, in, [](T v) { return v > T(20) ? v : std::log1p(vec_exp(v)); }, kCost);
      case Unary::Erf: return map<T, T>(out, in, [](T v) { return std::erf(v); }, kCost);
      default: throw std::logic_error("unary: unhandled op");
    }
  });
}

}  // namespace cg::kernels
