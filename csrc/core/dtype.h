// Element types and PyTorch's type-promotion lattice.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "core/errors.h"
#include "core/half.h"

namespace cg {

// The first four are the compute dtypes every kernel is instantiated for; the rest are storage
// dtypes: kernels widen them to compute_dtype() and narrow results back (kernels/convert.h), so
// supporting them costs no kernel instantiations. Values are stable (Python indexes by them).
enum class DType : uint8_t {
  Bool = 0, Int64 = 1, Float32 = 2, Float64 = 3,
  UInt8 = 4, Int8 = 5, Int16 = 6, Int32 = 7, Float16 = 8, BFloat16 = 9
};
constexpr int kNumDTypes = 10;
constexpr DType kAllDTypes[kNumDTypes] = {DType::Bool,  DType::Int64, DType::Float32, DType::Float64,
                                          DType::UInt8, DType::Int8,  DType::Int16,   DType::Int32,
                                          DType::Float16, DType::BFloat16};

inline size_t itemsize(DType t) {
  switch (t) {
    case DType::Bool: case DType::UInt8: case DType::Int8: return 1;
    case DType::Int16: case DType::Float16: case DType::BFloat16: return 2;
    case DType::Int32: case DType::Float32: return 4;
    case DType::Int64: case DType::Float64: return 8;
  }
  return 0;
}

inline bool is_floating(DType t) {
  return t == DType::Float32 || t == DType::Float64 || t == DType::Float16 || t == DType::BFloat16;
}
inline bool is_integral(DType t) { return t != DType::Bool && !is_floating(t); }

// torch.set_default_dtype: the floating dtype of a Python float, of an integer input promoted to
// float and of a creation op without a dtype (float32 unless set). Per thread, like grad mode:
// the project keeps no other mutable global state.
namespace detail {
inline thread_local DType t_default_float = DType::Float32;
}
inline DType default_float_dtype() { return detail::t_default_float; }
inline void set_default_float_dtype(DType t) { detail::t_default_float = t; }

// The dtype kernels compute a storage dtype in: int64 for the small integers, float32 for the
// 16-bit floats (exact: every value of the narrow type is one of the wide type).
inline DType compute_dtype(DType t) {
  if (static_cast<int>(t) < 4) return t;
  return is_floating(t) ? DType::Float32 : DType::Int64;
}
inline bool is_storage_only(DType t) { return compute_dtype(t) != t; }

// The name PyTorch users read in reprs ("torch.float32" becomes "chaingrad.float32").
inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::Bool: return "bool";
    case DType::Int64: return "int64";
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::UInt8: return "uint8";
    case DType::Int8: return "int8";
    case DType::Int16: return "int16";
    case DType::Int32: return "int32";
    case DType::Float16: return "float16";
    case DType::BFloat16: return "bfloat16";
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
    case DType::UInt8: return "Byte";
    case DType::Int8: return "Char";
    case DType::Int16: return "Short";
    case DType::Int32: return "Int";
    case DType::Float16: return "Half";
    case DType::BFloat16: return "BFloat16";
  }
  return "?";
}

// The C++ type name some of PyTorch's messages use ("long int", "double", "c10::Half").
inline const char* cpp_type_name(DType t) {
  switch (t) {
    case DType::Bool: return "bool";
    case DType::Int64: return "long int";
    case DType::Float32: return "float";
    case DType::Float64: return "double";
    case DType::UInt8: return "unsigned char";
    case DType::Int8: return "signed char";
    case DType::Int16: return "short int";
    case DType::Int32: return "int";
    case DType::Float16: return "c10::Half";
    case DType::BFloat16: return "c10::BFloat16";
  }
  return "?";
}

// PyTorch's dtype-dispatch failure: '"softplus_cpu" not implemented for 'Long''.
[[noreturn]] inline void throw_not_implemented(const std::string& kernel, DType t) {
  throw NotImplementedError("\"" + kernel + "\" not implemented for '" + scalar_type_name(t) + "'");
}

// The legacy type name used in in-place error messages ("torch.FloatTensor").
inline std::string legacy_type_name(DType t) { return std::string("chaingrad.") + scalar_type_name(t) + "Tensor"; }

// Bool < integers < floating point: the category PyTorch's promotion and casting rules compare.
inline int dtype_category(DType t) { return t == DType::Bool ? 0 : is_floating(t) ? 2 : 1; }

// PyTorch's promoteTypes table: the larger category wins; within integers the wider type, with
// uint8 and int8 meeting in int16; within floats the wider one, float16 and bfloat16 meeting
// in float32.
inline DType promote_types(DType a, DType b) {
  if (a == b) return a;
  const int ca = dtype_category(a), cb = dtype_category(b);
  if (ca != cb) return ca > cb ? a : b;
  if (ca == 1) {
    if (a == DType::UInt8 || b == DType::UInt8) {
      const DType other = a == DType::UInt8 ? b : a;
      return other == DType::Int8 ? DType::Int16 : other;
    }
    return itemsize(a) > itemsize(b) ? a : b;
  }
  if (itemsize(a) == 2 && itemsize(b) == 2) return DType::Float32;  // float16 with bfloat16
  return itemsize(a) > itemsize(b) ? a : b;
}

// Whether an in-place result of dtype `from` may be written into a tensor of dtype `to`
// (PyTorch's canCast: never down a category, float -> int or int -> bool).
inline bool can_cast(DType from, DType to) { return dtype_category(from) <= dtype_category(to); }

// What a Python scalar contributes to promotion: it may lift the category
// (int tensor + 1.5 -> the default float dtype) but never widens within one.
enum class ScalarKind : uint8_t { Bool, Int, Float };

inline DType promote_with_scalar(DType t, ScalarKind k) {
  if (k == ScalarKind::Float && !is_floating(t)) return default_float_dtype();
  if (k == ScalarKind::Int && t == DType::Bool) return DType::Int64;
  return t;
}

// Compile-time mapping DType <-> C++ type (the storage type; see half.h for the 16-bit floats).
template <DType T> struct CType;
template <> struct CType<DType::Bool> { using type = bool; };
template <> struct CType<DType::Int64> { using type = int64_t; };
template <> struct CType<DType::Float32> { using type = float; };
template <> struct CType<DType::Float64> { using type = double; };
template <> struct CType<DType::UInt8> { using type = uint8_t; };
template <> struct CType<DType::Int8> { using type = int8_t; };
template <> struct CType<DType::Int16> { using type = int16_t; };
template <> struct CType<DType::Int32> { using type = int32_t; };
template <> struct CType<DType::Float16> { using type = Half; };
template <> struct CType<DType::BFloat16> { using type = BFloat16; };

template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<bool>() { return DType::Bool; }
template <> constexpr DType dtype_of<int64_t>() { return DType::Int64; }
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<double>() { return DType::Float64; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::UInt8; }
template <> constexpr DType dtype_of<int8_t>() { return DType::Int8; }
template <> constexpr DType dtype_of<int16_t>() { return DType::Int16; }
template <> constexpr DType dtype_of<int32_t>() { return DType::Int32; }
template <> constexpr DType dtype_of<Half>() { return DType::Float16; }
template <> constexpr DType dtype_of<BFloat16>() { return DType::BFloat16; }

}  // namespace cg

#define CG_DISPATCH_CASE(DT, ...)                      \
  case DT: {                                           \
    using scalar_t = typename ::cg::CType<DT>::type;   \
    return __VA_ARGS__();                              \
  }

// Storage dtypes share the case of their compute dtype: the body runs with scalar_t = int64_t or
// float and kernels::map widens/narrows the operands (no extra template instantiations). Kernels
// that read raw pointers widen at their entry instead (Tensor::data<T> refuses a mismatch).
#define CG_CASES_WIDENED_TO_INT64 \
  case ::cg::DType::UInt8: case ::cg::DType::Int8: case ::cg::DType::Int16: case ::cg::DType::Int32:
#define CG_CASES_WIDENED_TO_FLOAT32 case ::cg::DType::Float16: case ::cg::DType::BFloat16:

// Runs the lambda body with `scalar_t` bound to the C++ type of `dtype`.
#define CG_DISPATCH_ALL(dtype, ...)                                              \
  [&] {                                                                          \
    switch (dtype) {                                                             \
      CG_DISPATCH_CASE(::cg::DType::Bool, __VA_ARGS__)                           \
      CG_CASES_WIDENED_TO_INT64                                                  \
      CG_DISPATCH_CASE(::cg::DType::Int64, __VA_ARGS__)                          \
      CG_CASES_WIDENED_TO_FLOAT32                                                \
      CG_DISPATCH_CASE(::cg::DType::Float32, __VA_ARGS__)                        \
      CG_DISPATCH_CASE(::cg::DType::Float64, __VA_ARGS__)                        \
    }                                                                            \
    throw std::logic_error("unknown dtype");                                     \
  }()

#define CG_DISPATCH_FLOAT(dtype, opname, ...)                                    \
  [&] {                                                                          \
    switch (dtype) {                                                             \
      CG_CASES_WIDENED_TO_FLOAT32                                                \
      CG_DISPATCH_CASE(::cg::DType::Float32, __VA_ARGS__)                        \
      CG_DISPATCH_CASE(::cg::DType::Float64, __VA_ARGS__)                        \
      default:                                                                   \
        ::cg::throw_not_implemented(opname, dtype);                              \
    }                                                                            \
  }()

#define CG_DISPATCH_NUMERIC(dtype, opname, ...)                                  \
  [&] {                                                                          \
    switch (dtype) {                                                             \
      CG_CASES_WIDENED_TO_INT64                                                  \
      CG_DISPATCH_CASE(::cg::DType::Int64, __VA_ARGS__)                          \
      CG_CASES_WIDENED_TO_FLOAT32                                                \
      CG_DISPATCH_CASE(::cg::DType::Float32, __VA_ARGS__)                        \
      CG_DISPATCH_CASE(::cg::DType::Float64, __VA_ARGS__)                        \
      default:                                                                   \
        ::cg::throw_not_implemented(opname, dtype);                              \
    }                                                                            \
  }()

// Every dtype with its own storage C++ type (Half, int32_t, ...): only conversions use this.
#define CG_DISPATCH_STORAGE(dtype, ...)                                          \
  [&] {                                                                          \
    switch (dtype) {                                                             \
      CG_DISPATCH_CASE(::cg::DType::Bool, __VA_ARGS__)                           \
      CG_DISPATCH_CASE(::cg::DType::Int64, __VA_ARGS__)                          \
      CG_DISPATCH_CASE(::cg::DType::Float32, __VA_ARGS__)                        \
      CG_DISPATCH_CASE(::cg::DType::Float64, __VA_ARGS__)                        \
      CG_DISPATCH_CASE(::cg::DType::UInt8, __VA_ARGS__)                          \
      CG_DISPATCH_CASE(::cg::DType::Int8, __VA_ARGS__)                           \
      CG_DISPATCH_CASE(::cg::DType::Int16, __VA_ARGS__)                          \
      CG_DISPATCH_CASE(::cg::DType::Int32, __VA_ARGS__)                          \
      CG_DISPATCH_CASE(::cg::DType::Float16, __VA_ARGS__)                        \
      CG_DISPATCH_CASE(::cg::DType::BFloat16, __VA_ARGS__)                       \
    }                                                                            \
    throw std::logic_error("unknown dtype");                                     \
  }()
