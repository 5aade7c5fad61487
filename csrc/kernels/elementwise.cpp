// Names and classification of the elementwise ops; the kernels live in elementwise_<family>.cpp.
#include "kernels/elementwise.h"

#include "kernels/elementwise_impl.h"

namespace cg::kernels {

bool is_comparison(Binary op) {
  switch (op) {
    case Binary::Eq: case Binary::Ne: case Binary::Lt: case Binary::Le: case Binary::Gt:
    case Binary::Ge: case Binary::LogicalAnd: case Binary::LogicalOr: case Binary::LogicalXor:
      return true;
    default:
      return false;
  }
}

bool is_division(Binary op) {
  switch (op) {
    case Binary::Div: case Binary::Remainder: case Binary::FloorDivide: case Binary::Fmod:
    case Binary::TruncDivide:
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
                                "logical_and", "logical_or", "logical_xor", "fmod", "trunc_divide"};
  return names[static_cast<int>(op)];
}

}  // namespace cg::kernels
