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

// 0-d fast path (scalar autograd code is mostly this): a 0-d float32/float64 tensor with a number
// or with another 0-d tensor of its dtype is computed here, as the kernel would compute it (same
// formula in the same type, so the same bits), without the result-type, broadcast and stride
// machinery. f(x) or f(x, y) gets the operands' values as T and returns the result as T.
inline bool float_0d(const Tensor& t) {
  return t.dim() == 0 && (t.dtype() == DType::Float32 || t.dtype() == DType::Float64);
}
inline bool float_0d_pair(const Tensor& a, const Tensor& b) {
  return float_0d(a) && b.dim() == 0 && b.dtype() == a.dtype();
}
// (The result is fresh, so its element is at the start of its storage: no offset to scale.)
template <typename F>
Tensor map_0d(const Tensor& a, F&& f) {
  Tensor out = Tensor::empty_0d(a.dtype());
  void* o = out.storage()->data();
  if (a.dtype() == DType::Float32) *static_cast<float*>(o) = f(*reinterpret_cast<const float*>(a.data_bytes()));
  else *static_cast<double*>(o) = f(*reinterpret_cast<const double*>(a.data_bytes()));
  return out;
}
template <typename F>
Tensor map_0d(const Tensor& a, const Tensor& b, F&& f) {
  Tensor out = Tensor::empty_0d(a.dtype());
  void* o = out.storage()->data();
  if (a.dtype() == DType::Float32)
    *static_cast<float*>(o) = f(*reinterpret_cast<const float*>(a.data_bytes()), *reinterpret_cast<const float*>(b.data_bytes()));
  else
    *static_cast<double*>(o) = f(*reinterpret_cast<const double*>(a.data_bytes()), *reinterpret_cast<const double*>(b.data_bytes()));
  return out;
}

// Input metadata a VJP needs to reduce and cast its gradient back.
struct InputInfo {
  StoredShape shape;
  DType dtype = DType::Float32;
  InputInfo() = default;
  explicit InputInfo(const Tensor& t) : shape(t.shape()), dtype(t.dtype()) {}
};
inline Tensor reduce(const Tensor& g, const InputInfo& info) { return sum_to(g, info.shape, info.dtype); }
// Nodes of (tensor, number) ops: the input's metadata is the output's.
inline Tensor reduce_to_output(const Tensor& g, const Node& node) {
  return sum_to(g, node.output_meta[0].shape, node.output_meta[0].dtype);
}
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
// The input's shape and dtype are the output's (a number never broadcasts, and a floating
// tensor keeps its dtype with any Python number), so the node keeps only the output's.
struct ScalarAddBackward : BackwardNode<ScalarAddBackward> {
  // Which op recorded it: its name, and the sign of the gradient (-1 for c - x). One byte next to
  // alpha keeps the node in a smaller pool class (a million-node chain of x + c pays per byte).
  enum class Kind : uint8_t { Add, Sub, Rsub, Remainder };
  Scalar alpha = 1;
  Kind kind = Kind::Add;
  std::string name() const override {
    static constexpr const char* kNames[] = {"AddBackward0", "SubBackward0", "RsubBackward1", "RemainderBackward0"};
    return kNames[static_cast<int>(kind)];
  }
  int sign() const { return kind == Kind::Rsub ? -1 : 1; }
  TensorList apply(TensorList&& g) override {
    return {sign() == 1 ? reduce_to_output(g[0], *this) : reduce_to_output(neg(g[0]), *this)};
  }
  TensorList jvp(const TensorList& t) override { return {sign() == 1 ? t[0] : neg(t[0])}; }
  bool pointwise_vjp(autograd::PointwiseVjp& p) override {  // g or -g
    if (!pointwise_input(*this, output_meta[0].shape, output_meta[0].dtype)) return false;
    p.op[0] = sign() == 1 ? kernels::GradOp::Pass : kernels::GradOp::Neg;
    return true;
  }
  bool apply_0d(double grad, ScalarGrads& out) override {
    return with_float_0d(output_meta[0].dtype, [&](auto) {
      if (!output_meta[0].shape.empty()) return false;
      out.value[0] = sign() == 1 ? grad : -grad;
      out.defined[0] = true;
      return true;
    });
  }
  static auto saved_fields() {
    return std::make_tuple(saved("alpha", &ScalarAddBackward::alpha));
  }
};

inline DType div_type(DType t) { return is_floating(t) ? t : default_float_dtype(); }

}  // namespace cg::ops::arith
