// A Python-style number: remembers whether it was written as bool, int or float, which decides
// type promotion (a float scalar lifts an int tensor to float32; it never widens float32).
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace cg {

class Scalar {
 public:
  Scalar(double v) : kind_(ScalarKind::Float), d_(v), i_(static_cast<int64_t>(v)) {}
  Scalar(float v) : Scalar(static_cast<double>(v)) {}
  Scalar(int64_t v) : kind_(ScalarKind::Int), d_(static_cast<double>(v)), i_(v) {}
  Scalar(int v) : Scalar(static_cast<int64_t>(v)) {}
  Scalar(bool v) : kind_(ScalarKind::Bool), d_(v ? 1.0 : 0.0), i_(v ? 1 : 0) {}

  ScalarKind kind() const { return kind_; }
  double to_double() const { return d_; }
  int64_t to_int() const { return i_; }
  template <typename T> T to() const {
    if constexpr (std::is_same_v<T, bool>) return i_ != 0 || d_ != 0.0;
    else if constexpr (std::is_integral_v<T>) return static_cast<T>(kind_ == ScalarKind::Float ? static_cast<int64_t>(d_) : i_);
    else return static_cast<T>(kind_ == ScalarKind::Float ? d_ : static_cast<double>(i_));
  }
  // The dtype a tensor made from this scalar alone gets (torch.tensor(2) is int64, 2.0 float32).
  DType default_dtype() const {
    return kind_ == ScalarKind::Float ? DType::Float32 : kind_ == ScalarKind::Int ? DType::Int64 : DType::Bool;
  }

 private:
  ScalarKind kind_;
  double d_;
  int64_t i_;
};

}  // namespace cg
