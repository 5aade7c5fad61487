// Helpers shared by the binary arithmetic files (arithmetic*.cpp): kernel calls with casts, the
// input metadata a VJP reduces its gradient to, and the Python-kind-preserving scalar helpers.
#pragma once
#include "kernels/elementwise.h"
#include "ops/common.h"
#include "ops/pointwise_vjp.h"
#include "ops/unary.h"

namespace cg::ops::arith {

using kernels::Binary;

inline Tensor binary_data(Binary op, const Tensor& a, const Tensor& b, DType compute, DType out_dtype) {
  Shape shape = broadcast_shapes(a.shape(), b.shape());
  Tensor out = Tensor::empty(shape, out_dtype);
  kernels::binary(op, cast_data(a, compute), cast_data(b, compute), out);
  return out;
}

inline Tensor scalar_data(Binary op, const Tensor& a, Scalar s, DType compute, DType out_dtype, bool scalar_first = false) {
  Tensor out = Tensor::empty(a.shape(), out_dtype);
  kernels::binary_scalar(op, cast_data(a, compute), s, out, scalar_first);
  return out;
}

// Input metadata a VJP needs to reduce and cast its gradient back.
struct InputInfo {
  Shape shape;
  DType dtype = DType::Float32;
  InputInfo() = default;
  explicit InputInfo(const Tensor& t) : shape(t.shape()), dtype(t.dtype()) {}
};
inline Tensor reduce(const Tensor& g, const InputInfo& info) { return sum_to(g, info.shape, info.dtype); }
// Node::apply_0d serves an input only when it is 0-d of the gradient's own type T (no reduce).
template <typename T>
bool is_0d(const InputInfo& info) { return info.shape.empty() && info.dtype == dtype_of<T>(); }
using autograd::scalar_value;
using autograd::with_float_0d;

// -s and b * alpha keeping the Python kind (an int stays an int, so int tensors stay int).
inline Scalar negated(Scalar s) { return s.kind() == ScalarKind::Float ? Scalar(-s.to_double()) : Scalar(-s.to_int()); }
inline Scalar scaled(Scalar b, Scalar alpha) {
  return b.kind() == ScalarKind::Float || alpha.kind() == ScalarKind::Float ? Scalar(b.to_double() * alpha.to_double())
                                                                              : Scalar(b.to_int() * alpha.to_int());
}

// PyTorch refuses `-` when either side is bool.
inline void check_sub_bool(bool a_bool, bool b_bool) {
  CG_CHECK(!(a_bool && b_bool), "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                                "`logical_xor()` operator instead.");
  CG_CHECK(!(a_bool || b_bool), "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying "
                                "to invert a mask, use the `~` or `logical_not()` operator instead.");
}

// x + c, x - c and remainder(x, c): the gradient passes to x (negated for c - x).
struct ScalarAddBackward : BackwardNode<ScalarAddBackward> {
  InputInfo self;
  double sign = 1;
  Scalar alpha = 1;
  std::string node_name;
  TensorList apply(TensorList&& g) override {
    return {sign == 1 ? reduce(g[0], self) : reduce(neg(g[0]), self)};
  }
  TensorList jvp(const TensorList& t) override { return {sign == 1 ? t[0] : neg(t[0])}; }
  bool pointwise_vjp(autograd::PointwiseVjp& p) override {  // g or -g
    if (!pointwise_input(*this, self.shape, self.dtype)) return false;
    p.op[0] = sign == 1 ? kernels::GradOp::Pass : kernels::GradOp::Neg;
    return true;
  }
  bool apply_0d(double grad, ScalarGrads& out) override {
    return with_float_0d(output_meta[0].dtype, [&](auto t) {
      if (!is_0d<decltype(t)>(self)) return false;
      out.value[0] = sign == 1 ? grad : -grad;
      out.defined[0] = true;
      return true;
    });
  }
  static auto saved_fields() {
    return std::make_tuple(saved("alpha", &ScalarAddBackward::alpha));
  }
};

inline DType div_type(DType t) { return is_floating(t) ? t : DType::Float32; }

}  // namespace cg::ops::arith
