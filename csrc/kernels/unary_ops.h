// The unary op table: one row per pointwise op, the single source of truth for everything
// about it that is not math. Each layer expands it where it needs it:
//   kernels  the Unary enum and unary_name() (kernels/elementwise.h, elementwise.cpp);
//   ops      the autograd rule: node name, what the VJP saves, dtype rules, and the derivative
//            vjp_<Name> (ops/unary.cpp), plus the forward-mode slot jvp_of<Unary::Name>;
//   python   the Tensor method, its in-place form and the module function (python/register_tensor_ops.cpp,
//            chaingrad._C._unary_method_names, which python/chaingrad/_functions.py exports).
// Adding a unary op: one row here, its kernel case (kernels/elementwise_unary*.cpp) and its
// derivative vjp_<Name> next to the others in ops/unary.cpp.
//
// Columns: X(Name, python name, python alias or nullptr, autograd node name (nullptr: never
// differentiable), what the VJP saves (Nothing/Input/Output), whether integer inputs give a
// float32 result, the kernel name of PyTorch's NotImplementedError for the float-only ops that
// refuse integer and bool inputs (nullptr: none), whether the Python method is generated (false:
// bound by hand, with extra arguments)).
#pragma once

// clang-format off
#define CG_UNARY_OPS(X) \
  X(Neg,        "neg",         "negative", "NegBackward0",        Nothing, false, nullptr,          true) \
  X(Abs,        "abs",         "absolute", "AbsBackward0",        Input,   false, nullptr,          true) \
  X(Sign,       "sign",        nullptr,    "SignBackward0",       Nothing, false, nullptr,          true) \
  X(Sqrt,       "sqrt",        nullptr,    "SqrtBackward0",       Output,  true,  nullptr,          true) \
  X(Rsqrt,      "rsqrt",       nullptr,    "RsqrtBackward0",      Output,  true,  nullptr,          true) \
  X(Square,     "square",      nullptr,    "PowBackward0",        Input,   false, nullptr,          true) \
  X(Reciprocal, "reciprocal",  nullptr,    "ReciprocalBackward0", Output,  true,  nullptr,          true) \
  X(Exp,        "exp",         nullptr,    "ExpBackward0",        Output,  true,  nullptr,          true) \
  X(Expm1,      "expm1",       nullptr,    "Expm1Backward0",      Output,  true,  nullptr,          true) \
  X(Log,        "log",         nullptr,    "LogBackward0",        Input,   true,  nullptr,          true) \
  X(Log1p,      "log1p",       nullptr,    "Log1PBackward0",      Input,   true,  nullptr,          true) \
  X(Log2,       "log2",        nullptr,    "Log2Backward0",       Input,   true,  nullptr,          true) \
  X(Sin,        "sin",         nullptr,    "SinBackward0",        Input,   true,  nullptr,          true) \
  X(Cos,        "cos",         nullptr,    "CosBackward0",        Input,   true,  nullptr,          true) \
  X(Tan,        "tan",         nullptr,    "TanBackward0",        Output,  true,  nullptr,          true) \
  X(Tanh,       "tanh",        nullptr,    "TanhBackward0",       Output,  true,  nullptr,          true) \
  X(Sigmoid,    "sigmoid",     nullptr,    "SigmoidBackward0",    Output,  true,  nullptr,          true) \
  X(Relu,       "relu",        nullptr,    "ReluBackward0",       Output,  false, nullptr,          true) \
  X(Silu,       "silu",        nullptr,    "SiluBackward0",       Input,   true,  "silu_cpu",       true) \
  X(Gelu,       "gelu",        nullptr,    "GeluBackward0",       Input,   true,  "GeluKernelImpl", false) \
  X(Softplus,   "softplus",    nullptr,    "SoftplusBackward0",   Input,   true,  "softplus_cpu",   false) \
  X(Erf,        "erf",         nullptr,    "ErfBackward0",        Input,   true,  nullptr,          true) \
  X(Floor,      "floor",       nullptr,    "FloorBackward0",      Nothing, false, nullptr,          true) \
  X(Ceil,       "ceil",        nullptr,    "CeilBackward0",       Nothing, false, nullptr,          true) \
  X(Round,      "round",       nullptr,    "RoundBackward0",      Nothing, false, nullptr,          true) \
  X(Trunc,      "trunc",       nullptr,    "TruncBackward0",      Nothing, false, nullptr,          true) \
  X(LogicalNot, "logical_not", nullptr,    nullptr,               Nothing, false, nullptr,          false) \
  X(IsNan,      "isnan",       nullptr,    nullptr,               Nothing, false, nullptr,          false) \
  X(IsInf,      "isinf",       nullptr,    nullptr,               Nothing, false, nullptr,          false)
// clang-format on
