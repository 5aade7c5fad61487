// Element types and PyTorch's type-promotion lattice.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace cg {

enum class DType : uint8_t { Bool = 0, Int64 = 1, Float32 = 2, Float64 = 3 };

inline size_t itemsize(DType t) {
  switch (t) {
    case DType::Bool: return 1;
    case DType::Int64: return 8;
    case DType::Float32: return 4;
    case DType::Float64: return 8;
  }
  return 0;
}

inline bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }

// The name PyTorch users read in reprs ("torch.float32" becomes "chaingrad.float32").
inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::Bool: return "bool";
    case DType::Int64: return "int64";
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
  }
  return "?";
}

// The legacy type name used in in-place error messages ("torch.FloatTensor").
inline const char* legacy_type_name(DType t) {
  switch (t) {
    case DType::Bool: return "chaingrad.BoolTensor";
    case DType::Int64: return "chaingrad.LongTensor";
    case DType::Float32: return "chaingrad.FloatTensor";
    case DType::Float64: return "chaingrad.DoubleTensor";
  }
  return "?";
}

// PyTorch's scalar type name ("Float", "Long") as its dtype errors word it.
inline const char* scalar_type_name(DType t) {
  switch (t) {
    case DType::Bool: return "Bool";
    case DType::Int64: return "Long";
    case DType::Float32: return "Float";
    case DType::Float64: return "Double";
  }
  return "?";
}

// Bool < Int64 < Float32 < Float64: the larger category wins, as in PyTorch.
inline DType promote_types(DType a, DType b) { return a > b ? a : b; }

// What a Python scalar contributes to promotion: it may lift the category
// (int tensor + 1.5 -> float32) but never widens within one.
enum class ScalarKind : uint8_t { Bool, Int, Float };

inline DType promote_with_scalar(DType t, ScalarKind k) {
  if (k == ScalarKind::Float && !is_floating(t)) return DType::Float32;
  if (k == ScalarKind::Int && t == DType::Bool) return DType::Int64;
  return t;
}

// Compile-time mapping DType -> C++ type, and a switch that instantiates a body per dtype.
template <DType T> struct CType;
template <> struct CType<DType::Bool> { using type = bool; };
template <> struct CType<DType::Int64> { using type = int64_t; };
template <> struct CType<DType::Float32> { using type = float; };
template <> struct CType<DType::Float64> { using type = double; };

template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<bool>() { return DType::Bool; }
template <> constexpr DType dtype_of<int64_t>() { return DType::Int64; }
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<double>() { return DType::Float64; }

}  // namespace cg

#define CG_DISPATCH_CASE(DT, ...)                      \
  case DT: {                                           \
    using scalar_t = typename ::cg::CType<DT>::type;   \
    return __VA_ARGS__();                              \
  }

// Runs the lambda body with `scalar_t` bound to the C++ type of `dtype`.
#define CG_DISPATCH_ALL(dtype, ...)                                              \
  [&] {                                                                          \
    switch (dtype) {                                                             \
      CG_DISPATCH_CASE(::cg::DType::Bool, __VA_ARGS__)                           \
      CG_DISPATCH_CASE(::cg::DType::Int64, __VA_ARGS__)                          \
      CG_DISPATCH_CASE(::cg::DType::Float32, __VA_ARGS__)                        \
      CG_DISPATCH_CASE(::cg::DType::Float64, __VA_ARGS__)                        \
    }                                                                            \
    throw std::logic_error("unknown dtype");                                     \
  }()

#define CG_DISPATCH_FLOAT(dtype, opname, ...)                                    \
  [&] {                                                                          \
    switch (dtype) {                                                             \
      CG_DISPATCH_CASE(::cg::DType::Float32, __VA_ARGS__)                        \
      CG_DISPATCH_CASE(::cg::DType::Float64, __VA_ARGS__)                        \
      default:                                                                   \
        throw ::cg::TypeError(std::string(opname) + " not implemented for '" +   \
                              ::cg::dtype_name(dtype) + "'");                    \
    }                                                                            \
  }()

#define CG_DISPATCH_NUMERIC(dtype, opname, ...)                                  \
  [&] {                                                                          \
    switch (dtype) {                                                             \
      CG_DISPATCH_CASE(::cg::DType::Int64, __VA_ARGS__)                          \
      CG_DISPATCH_CASE(::cg::DType::Float32, __VA_ARGS__)                        \
      CG_DISPATCH_CASE(::cg::DType::Float64, __VA_ARGS__)                        \
      default:                                                                   \
        throw ::cg::TypeError(std::string(opname) + " not implemented for '" +   \
                              ::cg::dtype_name(dtype) + "'");                    \
    }                                                                            \
  }()
