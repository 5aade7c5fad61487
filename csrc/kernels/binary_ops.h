// The binary elementwise op table: one row per op, the single source of truth for its enum
// value (kernels::Binary), its name (binary_name) and its classification. Fmod and TruncDivide are
// C's fmod and truncating division (div(rounding_mode='trunc')).
//
// Columns: X(Name, name, whether the result is bool (comparisons and logical ops), whether an
// integer zero divisor raises ZeroDivisionError (the divisions)).
#pragma once

// clang-format off
#define CG_BINARY_OPS(X) \
  X(Add,         "add",          false, false) \
  X(Sub,         "sub",          false, false) \
  X(Mul,         "mul",          false, false) \
  X(Div,         "div",          false, true) \
  X(Pow,         "pow",          false, false) \
  X(Maximum,     "maximum",      false, false) \
  X(Minimum,     "minimum",      false, false) \
  X(Remainder,   "remainder",    false, true) \
  X(FloorDivide, "floor_divide", false, true) \
  X(Atan2,       "atan2",        false, false) \
  X(Eq,          "eq",           true,  false) \
  X(Ne,          "ne",           true,  false) \
  X(Lt,          "lt",           true,  false) \
  X(Le,          "le",           true,  false) \
  X(Gt,          "gt",           true,  false) \
  X(Ge,          "ge",           true,  false) \
  X(LogicalAnd,  "logical_and",  true,  false) \
  X(LogicalOr,   "logical_or",   true,  false) \
  X(LogicalXor,  "logical_xor",  true,  false) \
  X(Fmod,        "fmod",         false, true) \
  X(TruncDivide, "trunc_divide", false, true)
// clang-format on
