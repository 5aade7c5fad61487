// The unary op table: one row per pointwise op, the single source of truth for it. Each layer
// expands it where it needs it:
//   kernels  the Unary enum and unary_name() (kernels/elementwise.h, elementwise.cpp), and the
//            kernel itself: the row's element function, run by the loop its row names
//            (kernels/elementwise_unary.h generates the dispatch; no per-op case anywhere);
//   ops      the autograd rule: node name, what the VJP saves, dtype rules, and the derivative
//            (ops/unary.cpp: vjp_<Name> on tensors, vjp0_<Name> on 0-d numbers), plus the
//            forward-mode slot jvp_of<Unary::Name>;
//   python   the Tensor method, its in-place form and the module function (python/register_tensor_ops.cpp,
//            chaingrad._C._unary_method_names, which python/chaingrad/_functions.py exports).
//
// Adding a unary op (say cbrt) takes exactly:
//   1. a row here, e.g.
//        X(Cbrt, "cbrt", nullptr, "CbrtBackward0", Output, nullptr, true, Float, Plain, 8, std::cbrt(v))
//   2. its derivative in ops/unary.cpp, next to the others: the VJP on tensors (written with
//      differentiable ops), the same formula on 0-d numbers (the engine's scalar fast path; same
//      operations in the same order, so the same bits), and its forward-mode slot:
//        Tensor vjp_Cbrt(const Tensor& g, const Tensor& y) { return div(g, mul(mul(y, y), 3.0)); }
//        template <typename T> T vjp0_Cbrt(T g, T y) { return g / ((y * y) * T(3.0)); }
//        CG_DIAGONAL_JVP(Cbrt, output)
//      and, only when the VJP is one of kernels/fused_chain.h's formulas on (g, saved), its
//      fused-chain slot in the CG_FUSED_VJP list, e.g. CG_FUSED_VJP(Exp, Mul) for g * y.
// Then x.cbrt(), x.cbrt_() and chaingrad.cbrt(x) exist, with autograd, 0-d fast path and JVP.
// (A row whose Python method takes extra arguments sets bind = false and is bound by hand.)
//
// Columns: X(Name, python name, python alias or nullptr, autograd node name (nullptr: never
// differentiable), what the VJP saves (Nothing/Input/Output), the kernel name of PyTorch's
// NotImplementedError for the float-only ops that refuse integer and bool inputs (nullptr: none),
// whether the Python method is generated, then the kernel:
//   kind   Any: every numeric dtype (bools unchanged, except neg, which refuses them);
//          Round: floating dtypes (integers and bools unchanged);
//          Float: floating dtypes, integer inputs promoted to float32 (exp, sin, ...);
//          Test: a bool result on every dtype (the predicates);
//   loop   Plain: map(), the baseline build; Wide: map_wide(), compiled for AVX-512 / AVX2+FMA
//          too and chosen at run time (for the vecmath.h transcendentals, where the lanes pay);
//   cost   per-element work relative to a copy (scales the parallel grain);
//   the element function: an expression in `v`, of the kernel's C++ type `T` (the last column,
//   so it may contain commas).
#pragma once

namespace cg::kernels {
enum class UnaryKind { Any, Round, Float, Test };
enum class UnaryLoop { Plain, Wide };
}  // namespace cg::kernels

// clang-format off
#define CG_UNARY_OPS(X) \
  X(Neg,        "neg",         "negative", "NegBackward0",        Nothing, nullptr,          true,  Any,   Plain, 1, -v) \
  X(Abs,        "abs",         "absolute", "AbsBackward0",        Input,   nullptr,          true,  Any,   Plain, 1, v < T(0) ? -v : v) \
  X(Sign,       "sign",        nullptr,    "SignBackward0",       Nothing, nullptr,          true,  Any,   Plain, 1, (T(0) < v) - (v < T(0))) \
  X(Sqrt,       "sqrt",        nullptr,    "SqrtBackward0",       Output,  nullptr,          true,  Float, Plain, 1, std::sqrt(v)) \
  X(Rsqrt,      "rsqrt",       nullptr,    "RsqrtBackward0",      Output,  nullptr,          true,  Float, Plain, 1, T(1) / std::sqrt(v)) \
  X(Square,     "square",      nullptr,    "PowBackward0",        Input,   nullptr,          true,  Any,   Plain, 1, v * v) \
  X(Reciprocal, "reciprocal",  nullptr,    "ReciprocalBackward0", Output,  nullptr,          true,  Float, Plain, 1, T(1) / v) \
  X(Exp,        "exp",         nullptr,    "ExpBackward0",        Output,  nullptr,          true,  Float, Wide,  8, vec_exp(v)) \
  X(Expm1,      "expm1",       nullptr,    "Expm1Backward0",      Output,  nullptr,          true,  Float, Plain, 8, std::expm1(v)) \
  X(Log,        "log",         nullptr,    "LogBackward0",        Input,   nullptr,          true,  Float, Wide,  8, vec_log(v)) \
  X(Log1p,      "log1p",       nullptr,    "Log1PBackward0",      Input,   nullptr,          true,  Float, Plain, 8, std::log1p(v)) \
  X(Log2,       "log2",        nullptr,    "Log2Backward0",       Input,   nullptr,          true,  Float, Plain, 8, std::log2(v)) \
  X(Log10,      "log10",       nullptr,    "Log10Backward0",      Input,   nullptr,          true,  Float, Plain, 8, std::log10(v)) \
  X(Exp2,       "exp2",        nullptr,    "Exp2Backward0",       Output,  nullptr,          true,  Float, Plain, 8, std::exp2(v)) \
  X(Sin,        "sin",         nullptr,    "SinBackward0",        Input,   nullptr,          true,  Float, Plain, 8, std::sin(v)) \
  X(Cos,        "cos",         nullptr,    "CosBackward0",        Input,   nullptr,          true,  Float, Plain, 8, std::cos(v)) \
  X(Tan,        "tan",         nullptr,    "TanBackward0",        Output,  nullptr,          true,  Float, Plain, 8, std::tan(v)) \
  X(Asin,       "asin",        "arcsin",   "AsinBackward0",       Input,   nullptr,          true,  Float, Plain, 8, std::asin(v)) \
  X(Acos,       "acos",        "arccos",   "AcosBackward0",       Input,   nullptr,          true,  Float, Plain, 8, std::acos(v)) \
  X(Atan,       "atan",        "arctan",   "AtanBackward0",       Input,   nullptr,          true,  Float, Plain, 8, std::atan(v)) \
  X(Sinh,       "sinh",        nullptr,    "SinhBackward0",       Input,   nullptr,          true,  Float, Plain, 8, std::sinh(v)) \
  X(Cosh,       "cosh",        nullptr,    "CoshBackward0",       Input,   nullptr,          true,  Float, Plain, 8, std::cosh(v)) \
  X(Asinh,      "asinh",       "arcsinh",  "AsinhBackward0",      Input,   nullptr,          true,  Float, Plain, 8, std::asinh(v)) \
  X(Acosh,      "acosh",       "arccosh",  "AcoshBackward0",      Input,   nullptr,          true,  Float, Plain, 8, std::acosh(v)) \
  X(Atanh,      "atanh",       "arctanh",  "AtanhBackward0",      Input,   nullptr,          true,  Float, Plain, 8, std::atanh(v)) \
  X(Tanh,       "tanh",        nullptr,    "TanhBackward0",       Output,  nullptr,          true,  Float, Wide,  8, vec_tanh(v)) \
  X(Sigmoid,    "sigmoid",     nullptr,    "SigmoidBackward0",    Output,  nullptr,          true,  Float, Wide,  8, vec_sigmoid(v)) \
  X(Relu,       "relu",        nullptr,    "ReluBackward0",       Output,  nullptr,          true,  Any,   Plain, 1, v > T(0) ? v : (v != v ? v : T(0))) \
  X(Silu,       "silu",        nullptr,    "SiluBackward0",       Input,   "silu_cpu",       true,  Float, Wide,  8, v * vec_sigmoid(v)) \
  X(Gelu,       "gelu",        nullptr,    "GeluBackward0",       Input,   "GeluKernelImpl", false, Float, Plain, 8, T(0.5) * v * (T(1) + std::erf(v * T(M_SQRT1_2)))) \
  X(Softplus,   "softplus",    nullptr,    "SoftplusBackward0",   Input,   "softplus_cpu",   false, Float, Plain, 8, v > T(20) ? v : std::log1p(vec_exp(v))) \
  X(Erf,        "erf",         nullptr,    "ErfBackward0",        Input,   nullptr,          true,  Float, Plain, 8, std::erf(v)) \
  X(Erfc,       "erfc",        nullptr,    "ErfcBackward0",       Input,   nullptr,          true,  Float, Plain, 8, std::erfc(v)) \
  X(Floor,      "floor",       nullptr,    "FloorBackward0",      Nothing, nullptr,          true,  Round, Plain, 1, std::floor(v)) \
  X(Ceil,       "ceil",        nullptr,    "CeilBackward0",       Nothing, nullptr,          true,  Round, Plain, 1, std::ceil(v)) \
  X(Round,      "round",       nullptr,    "RoundBackward0",      Nothing, nullptr,          true,  Round, Plain, 1, std::nearbyint(v)) \
  X(Trunc,      "trunc",       nullptr,    "TruncBackward0",      Nothing, nullptr,          true,  Round, Plain, 1, std::trunc(v)) \
  X(Frac,       "frac",        nullptr,    "FracBackward0",       Nothing, "frac_cpu",       true,  Round, Plain, 1, v - std::trunc(v)) \
  X(LogicalNot, "logical_not", nullptr,    nullptr,               Nothing, nullptr,          false, Test,  Plain, 1, v == T(0)) \
  X(IsNan,      "isnan",       nullptr,    nullptr,               Nothing, nullptr,          false, Test,  Plain, 1, std::isnan(v)) \
  X(IsInf,      "isinf",       nullptr,    nullptr,               Nothing, nullptr,          false, Test,  Plain, 1, std::isinf(v)) \
  X(IsFinite,   "isfinite",    nullptr,    nullptr,               Nothing, nullptr,          false, Test,  Plain, 1, std::isfinite(v)) \
  X(SignBit,    "signbit",     nullptr,    nullptr,               Nothing, nullptr,          false, Test,  Plain, 1, std::signbit(v))
// clang-format on
