// Names and classification of the elementwise ops; the kernels live in elementwise_<family>.cpp.
#include "kernels/elementwise.h"

#include "kernels/elementwise_impl.h"

namespace cg::kernels {

bool is_comparison(Binary op) {
#define CG_BINARY_IS_COMPARISON(Name, name, comparison, division) comparison,
  static const bool table[] = {CG_BINARY_OPS(CG_BINARY_IS_COMPARISON)};
#undef CG_BINARY_IS_COMPARISON
  return table[static_cast<int>(op)];
}

bool is_division(Binary op) {
#define CG_BINARY_IS_DIVISION(Name, name, comparison, division) division,
  static const bool table[] = {CG_BINARY_OPS(CG_BINARY_IS_DIVISION)};
#undef CG_BINARY_IS_DIVISION
  return table[static_cast<int>(op)];
}

const char* unary_name(Unary op) {
#define CG_UNARY_NAME(Name, py_name, ...) py_name,
  static const char* names[] = {CG_UNARY_OPS(CG_UNARY_NAME)};
#undef CG_UNARY_NAME
  return names[static_cast<int>(op)];
}

const char* binary_name(Binary op) {
#define CG_BINARY_NAME(Name, name, ...) name,
  static const char* names[] = {CG_BINARY_OPS(CG_BINARY_NAME)};
#undef CG_BINARY_NAME
  return names[static_cast<int>(op)];
}

}  // namespace cg::kernels
