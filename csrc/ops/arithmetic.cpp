// Binary arithmetic: forward kernels and VJPs side by side. Gradients of broadcast inputs are
// reduced back by sum_to; each input is saved only when the *other* input needs a gradient.
#include "ops/arithmetic.h"

#include <cmath>
#include <cstring>

#include "ops/arithmetic_internal.h"
#include "ops/common.h"
#include "ops/inplace.h"
#include "ops/ops.h"
#include "ops/pointwise_vjp.h"

namespace cg::ops {

using namespace arith;
using autograd::any_requires_grad;

// ---- add / sub -------------------------------------------------------------------------------
struct AddBackward0 : BackwardNode<AddBackward0> {
  InputInfo self, other;
  Scalar alpha = 1;
  const char* node_name = "AddBackward0";
  TensorList apply(TensorList&& g) override {
    TensorList r(2);
    if (should_compute_output(0)) r[0] = reduce(g[0], self);
    if (should_compute_output(1)) {
      Tensor go = alpha.to_double() == 1.0 ? g[0] : mul(g[0], alpha);
      r[1] = reduce(go, other);
    }
    return r;
  }
  TensorList jvp(const TensorList& t) override {
    return {tangent_sum(t[0], !t[1].defined() || alpha.to_double() == 1.0 ? t[1] : mul(t[1], alpha))};
  }
  bool pointwise_vjp(autograd::PointwiseVjp& p) override {  // g, and g * alpha
    if (!pointwise_input(*this, output_meta[0].shape, output_meta[0].dtype) || !pointwise_input(*this, other.shape, other.dtype)) return false;
    if (should_compute_output(0)) p.op[0] = kernels::GradOp::Pass;
    if (should_compute_output(1)) {
      p.op[1] = alpha.to_double() == 1.0 ? kernels::GradOp::Pass : kernels::GradOp::Scale;
      p.scalar[1] = alpha;
    }
    return true;
  }
  bool apply_0d(double grad, ScalarGrads& out) override {
    return with_float_0d(output_meta[0].dtype, [&](auto t) {
      using T = decltype(t);
      if (should_compute_output(0)) {
        if (!is_0d<T>(self)) return false;
        out.value[0] = grad;
        out.defined[0] = true;
      }
      if (should_compute_output(1)) {
        if (!is_0d<T>(other)) return false;
        out.value[1] = alpha.to_double() == 1.0 ? grad : static_cast<T>(grad) * alpha.to<T>();
        out.defined[1] = true;
      }
      return true;
    });
  }
  static auto saved_fields() {
    // sub(a, b, alpha) records a + b * (-alpha): PyTorch shows the alpha given.
    return std::make_tuple(saved("alpha", [](const AddBackward0& n) {
      return std::strcmp(n.node_name, "SubBackward0") == 0 ? saved_scalar(negated(n.alpha)) : saved_scalar(n.alpha);
    }));
  }
};

Tensor add(const Tensor& a, const Tensor& b, Scalar alpha) {
  DType dt = result_type(a, b);
  Tensor out;
  if (float_0d_pair(a, b)) {
    const double al = alpha.to_double();
    out = al == 1.0 ? map_0d(a, b, [](auto x, auto y) { return x + y; })
                    : map_0d(a, b, [al](auto x, auto y) { return x + static_cast<decltype(x)>(al) * y; });
  } else if (alpha.to_double() == 1.0) {
    out = binary_data(Binary::Add, a, b, dt, dt);
  } else {
    out = Tensor::empty(broadcast_shapes(a.shape(), b.shape()), dt);
    kernels::add_scaled(cast_data(a, dt), cast_data(b, dt), alpha.to_double(), out);
  }
  if (any_requires_grad({&a, &b})) {
    auto node = AddBackward0::make({&a, &b});
    node->self = InputInfo(a);
    node->other = InputInfo(b);
    node->alpha = alpha;
    record(std::move(node), out);
  }
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b, Scalar alpha) {
  check_sub_bool(a.dtype() == DType::Bool, b.dtype() == DType::Bool);
  DType dt = result_type(a, b);
  Tensor out;
  if (float_0d_pair(a, b)) {
    const double al = -alpha.to_double();
    out = map_0d(a, b, [al](auto x, auto y) { return x + static_cast<decltype(x)>(al) * y; });
  } else {
    out = Tensor::empty(broadcast_shapes(a.shape(), b.shape()), dt);
    kernels::add_scaled(cast_data(a, dt), cast_data(b, dt), -alpha.to_double(), out);
  }
  if (any_requires_grad({&a, &b})) {
    auto node = AddBackward0::make({&a, &b});
    node->self = InputInfo(a);
    node->other = InputInfo(b);
    node->alpha = -alpha.to_double();
    node->node_name = "SubBackward0";
    record(std::move(node), out);
  }
  return out;
}

Tensor add(const Tensor& a, Scalar b, Scalar alpha) {
  Tensor out;
  if (float_0d(a)) {  // a floating tensor keeps its dtype with any number
    const Scalar c = scaled(b, alpha);
    out = map_0d(a, [&c](auto x) { return x + c.to<decltype(x)>(); });
  } else {
    DType dt = result_type(a, b);
    out = scalar_data(Binary::Add, a, scaled(b, alpha), dt, dt);
  }
  if (any_requires_grad({&a})) {
    auto node = ScalarAddBackward::make({&a});
    node->next_edges.emplace_back();  // PyTorch wraps the number as a second input: (None, 0)
    node->alpha = alpha;
    record(std::move(node), out);
  }
  return out;
}

Tensor sub(const Tensor& a, Scalar b, Scalar alpha) {
  check_sub_bool(a.dtype() == DType::Bool, b.kind() == ScalarKind::Bool);
  Tensor out = add(a, negated(b), alpha);
  if (autograd::requires_grad(out) && autograd::GradMode::is_enabled())
    static_cast<ScalarAddBackward*>(autograd::grad_fn(out).get())->kind = ScalarAddBackward::Kind::Sub;
  return out;
}

Tensor rsub(const Tensor& a, Scalar b) {
  check_sub_bool(a.dtype() == DType::Bool, b.kind() == ScalarKind::Bool);
  DType dt = result_type(a, b);
  Tensor out = scalar_data(Binary::Sub, a, b, dt, dt, /*scalar_first=*/true);
  if (any_requires_grad({&a})) {
    auto node = ScalarAddBackward::make({&a});
    node->kind = ScalarAddBackward::Kind::Rsub;
    record(std::move(node), out);
  }
  return out;
}

// ---- mul -------------------------------------------------------------------------------------
namespace {
// Both gradients of a * b in one pass over g (kernels::mul_backward) when nothing records and
// nothing broadcasts or casts; false leaves the composed form to the caller.
bool fused_mul_backward(const Tensor& g, const Tensor& a, const Tensor& b, TensorList& r) {
  const DType dt = g.dtype();
  if ((dt != DType::Float32 && dt != DType::Float64) || a.dtype() != dt || b.dtype() != dt ||
      a.shape() != g.shape() || b.shape() != g.shape() || any_requires_grad({&g, &a, &b}))
    return false;
  r[0] = Tensor::empty(g.shape(), dt);
  r[1] = Tensor::empty(g.shape(), dt);
  kernels::mul_backward(g, a, b, r[0], r[1]);
  return true;
}
}  // namespace

struct MulBackward0 : BackwardNode<MulBackward0> {
  SavedTensor self_, other_;
  InputInfo self, other;
  TensorList apply(TensorList&& g) override {
    TensorList r(2);
    if (should_compute_output(0) && should_compute_output(1) &&
        fused_mul_backward(g[0], self_.unpack(*this), other_.unpack(*this), r))
      return r;
    if (should_compute_output(0)) r[0] = reduce(mul(g[0], other_.unpack(*this)), self);
    if (should_compute_output(1)) r[1] = reduce(mul(g[0], self_.unpack(*this)), other);
    return r;
  }
  TensorList jvp(const TensorList& t) override {  // t_a b + a t_b
    return {tangent_sum(t[0].defined() ? mul(t[0], other_.unpack(*this)) : Tensor(),
                        t[1].defined() ? mul(self_.unpack(*this), t[1]) : Tensor())};
  }
  bool pointwise_vjp(autograd::PointwiseVjp& p) override {  // g * b, g * a
    if (!pointwise_input(*this, output_meta[0].shape, output_meta[0].dtype) || !pointwise_input(*this, other.shape, other.dtype)) return false;
    if (should_compute_output(0) && !pointwise_operand(*this, 0, kernels::GradOp::Mul, other_.unpack(*this), p))
      return false;
    return !should_compute_output(1) || pointwise_operand(*this, 1, kernels::GradOp::Mul, self_.unpack(*this), p);
  }
  bool apply_0d(double grad, ScalarGrads& out) override {
    return with_float_0d(output_meta[0].dtype, [&](auto t) {
      using T = decltype(t);
      T v;
      if (should_compute_output(0)) {
        if (!is_0d<T>(self) || !scalar_value(other_.unpack(*this), v)) return false;
        out.value[0] = static_cast<T>(grad) * v;
        out.defined[0] = true;
      }
      if (should_compute_output(1)) {
        if (!is_0d<T>(other) || !scalar_value(self_.unpack(*this), v)) return false;
        out.value[1] = static_cast<T>(grad) * v;
        out.defined[1] = true;
      }
      return true;
    });
  }
  std::string name() const override { return "MulBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("self", &MulBackward0::self_),
                           saved("other", &MulBackward0::other_));
  }
};

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out;
  if (float_0d_pair(a, b)) {
    out = map_0d(a, b, [](auto x, auto y) { return x * y; });
  } else {
    DType dt = result_type(a, b);
    out = binary_data(Binary::Mul, a, b, dt, dt);
  }
  if (any_requires_grad({&a, &b})) {
    auto node = MulBackward0::make({&a, &b});
    node->self = InputInfo(a);
    node->other = InputInfo(b);
    node->self_ = save_if(needs(b), a);
    node->other_ = save_if(needs(a), b);
    record(std::move(node), out);
  }
  return out;
}

// x * c and x / c save only the number, in the kind it was given (the VJP computes g * c or
// g / c, as PyTorch's MulBackward0 / DivBackward0 do with the 0-d tensor it wraps the number in);
// the input's shape and dtype are the output's (see ScalarAddBackward).
// PyTorch saves c as a tensor, so a second backward without retain_graph raises there: `released`
// keeps that error (the number itself stays, it costs nothing).
struct MulScalarBackward : BackwardNode<MulScalarBackward> {
  // User-provided: make_node's value-initialisation then skips zero-filling the whole node first
  // (every member has its initialiser; x * c is the op of scalar chains).
  MulScalarBackward() {}  // NOLINT(modernize-use-equals-default)
  explicit MulScalarBackward(Scalar c) : operand(c) {}
  Scalar operand = 1;     // c
  bool divides = false;   // x / c
  bool released = false;
  std::string name() const override { return divides ? "DivBackward0" : "MulBackward0"; }
  void release_saved() override { released = true; }
  void check_not_released() const {
    if (released) throw_saved_freed(*this);
  }
  Tensor scaled(const Tensor& g) const { return divides ? div(g, operand) : mul(g, operand); }
  TensorList apply(TensorList&& g) override {
    check_not_released();
    return {reduce_to_output(scaled(g[0]), *this)};
  }
  TensorList jvp(const TensorList& t) override { return {scaled(t[0])}; }
  bool pointwise_vjp(autograd::PointwiseVjp& p) override {  // g * c or g / c
    if (released || !pointwise_input(*this, output_meta[0].shape, output_meta[0].dtype) || operand.kind() == ScalarKind::Bool)
      return false;
    p.op[0] = divides ? kernels::GradOp::DivScale : kernels::GradOp::Scale;
    p.scalar[0] = operand;
    return true;
  }
  bool apply_0d(double grad, ScalarGrads& out) override {
    check_not_released();
    return with_float_0d(output_meta[0].dtype, [&](auto t) {
      using T = decltype(t);
      if (!output_meta[0].shape.empty()) return false;
      const T g = static_cast<T>(grad), c = operand.to<T>();
      out.value[0] = divides ? g / c : g * c;
      out.defined[0] = true;
      return true;
    });
  }
  static auto saved_fields() {
    // PyTorch shows the number as the 0-d tensor it wrapped it in (int64, float64 or bool).
    return std::make_tuple(saved("other", [](const MulScalarBackward& n) {
      n.check_not_released();
      const ScalarKind k = n.operand.kind();
      const DType dt = k == ScalarKind::Float ? DType::Float64 : k == ScalarKind::Bool ? DType::Bool : DType::Int64;
      return SavedValue(Tensor::scalar(n.operand, dt));
    }));
  }
};

namespace {
// x * c's values (made in place in the caller's result: no move-assignment on the 0-d path).
Tensor mul_scalar_data(const Tensor& a, Scalar b) {
  if (float_0d(a)) return map_0d(a, [&b](auto x) { return x * b.to<decltype(x)>(); });  // keeps its dtype
  const DType dt = result_type(a, b);
  return scalar_data(Binary::Mul, a, b, dt, dt);
}
}  // namespace

Tensor mul(const Tensor& a, Scalar b) {
  Tensor out = mul_scalar_data(a, b);
  if (any_requires_grad(a)) {
    auto node = MulScalarBackward::make(a, b);
    node->next_edges.emplace_back();  // PyTorch wraps the number as a second input: (None, 0)
    record(std::move(node), out);
  }
  return out;
}

// ---- div -------------------------------------------------------------------------------------

struct DivBackward0 : BackwardNode<DivBackward0> {
  SavedTensor self_, other_;
  InputInfo self, other;
  TensorList apply(TensorList&& g) override {
    TensorList r(2);
    Tensor b = other_.unpack(*this);
    if (should_compute_output(0)) r[0] = reduce(div(g[0], b), self);
    if (should_compute_output(1)) {
      Tensor a = self_.unpack(*this);
      r[1] = reduce(neg(div(mul(g[0], a), mul(b, b))), other);
    }
    return r;
  }
  TensorList jvp(const TensorList& t) override {  // t_a / b - a t_b / b^2
    Tensor b = other_.unpack(*this);
    return {tangent_sum(t[0].defined() ? div(t[0], b) : Tensor(),
                        t[1].defined() ? neg(div(mul(self_.unpack(*this), t[1]), mul(b, b))) : Tensor())};
  }
  bool apply_0d(double grad, ScalarGrads& out) override {
    return with_float_0d(output_meta[0].dtype, [&](auto t) {
      using T = decltype(t);
      const T g = static_cast<T>(grad);
      T b, a;
      if (!scalar_value(other_.unpack(*this), b)) return false;
      if (should_compute_output(0)) {
        if (!is_0d<T>(self)) return false;
        out.value[0] = g / b;
        out.defined[0] = true;
      }
      if (should_compute_output(1)) {
        if (!is_0d<T>(other) || !scalar_value(self_.unpack(*this), a)) return false;
        out.value[1] = -((g * a) / (b * b));
        out.defined[1] = true;
      }
      return true;
    });
  }
  std::string name() const override { return "DivBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("self", &DivBackward0::self_),
                           saved("other", &DivBackward0::other_));
  }
};

Tensor div(const Tensor& a, const Tensor& b) {
  DType dt = div_type(result_type(a, b));
  Tensor out = binary_data(Binary::Div, a, b, dt, dt);
  if (any_requires_grad({&a, &b})) {
    auto node = DivBackward0::make({&a, &b});
    node->self = InputInfo(a);
    node->other = InputInfo(b);
    node->self_ = save_if(needs(b), a);
    node->other_ = SavedTensor(b, false);
    record(std::move(node), out);
  }
  return out;
}

Tensor div(const Tensor& a, Scalar b) {
  DType dt = div_type(result_type(a, b));
  Tensor out = scalar_data(Binary::Div, a, b, dt, dt);
  if (any_requires_grad({&a})) {
    auto node = MulScalarBackward::make({&a});
    node->next_edges.emplace_back();  // PyTorch wraps the number as a second input: (None, 0)
    node->operand = b;
    node->divides = true;
    record(std::move(node), out);
  }
  return out;
}

struct RdivBackward : BackwardNode<RdivBackward> {  // c / x: d/dx = -c / x^2 = -out / x
  SavedTensor self_, result_;
  InputInfo self;
  Scalar constant = 1;  // c
  TensorList apply(TensorList&& g) override {
    Tensor x = self_.unpack(*this), y = result_.unpack(*this);
    return {reduce(neg(div(mul(g[0], y), x)), self)};
  }
  TensorList jvp(const TensorList& t) override { return apply(TensorList{t[0]}); }  // diagonal Jacobian
  std::string name() const override { return "MulBackward0"; }  // PyTorch computes c / x as x.reciprocal() * c
  static auto saved_fields() {
    return std::make_tuple(saved("other", &RdivBackward::constant), saved(nullptr, &RdivBackward::self_),
                           saved(nullptr, &RdivBackward::result_));
  }
};

Tensor rdiv(const Tensor& a, Scalar b) {
  DType dt = div_type(result_type(a, b));
  Tensor out = scalar_data(Binary::Div, a, b, dt, dt, true);
  if (any_requires_grad({&a})) {
    auto node = RdivBackward::make({&a});
    node->self = InputInfo(a);
    node->constant = b;
    node->self_ = SavedTensor(a, false);
    record(node, out);
    node->result_ = SavedTensor(out, true);
  }
  return out;
}

// ---- pow -------------------------------------------------------------------------------------
struct PowBackward0 : BackwardNode<PowBackward0> {  // x ** c
  SavedTensor self_;
  InputInfo self;
  Scalar exponent = 1;
  TensorList apply(TensorList&& g) override {
    double p = exponent.to_double();
    if (p == 0.0) return {Tensor::zeros(self.shape, self.dtype)};
    Tensor x = self_.unpack(*this);
    Tensor d = p == 2.0 ? mul(x, 2.0) : mul(pow(x, Scalar(p - 1.0)), p);
    return {reduce(mul(g[0], d), self)};
  }
  TensorList jvp(const TensorList& t) override {  // elementwise: the VJP's formula on the tangent
    TensorList r = apply(TensorList{t[0]});
    return r;
  }
  bool apply_0d(double grad, ScalarGrads& out) override {  // x ** 2 only (other powers call pow)
    if (exponent.to_double() != 2.0) return false;
    return with_float_0d(output_meta[0].dtype, [&](auto t) {
      using T = decltype(t);
      T x;
      if (!is_0d<T>(self) || !scalar_value(self_.unpack(*this), x)) return false;
      out.value[0] = static_cast<T>(grad) * (x * static_cast<T>(2.0));
      out.defined[0] = true;
      return true;
    });
  }
  std::string name() const override { return "PowBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("self", &PowBackward0::self_),
                           saved("exponent", &PowBackward0::exponent));
  }
};

static const char* kPowBool = "\"pow\" not implemented for 'Bool'";

Tensor pow(const Tensor& a, Scalar b) {
  DType dt = result_type(a, b);
  if (dt == DType::Bool) return b.to_int() ? clone(autograd::detach(a)) : Tensor::full(a.shape(), true, DType::Bool);
  if (!is_floating(dt) && b.kind() == ScalarKind::Int && b.to_int() < 0)
    throw RuntimeError("Integers to negative integer powers are not allowed.");
  Tensor out;
  if (float_0d(a) && b.to_double() == 2.0) out = map_0d(a, [](auto x) { return x * x; });  // the kernel's x ** 2
  else out = scalar_data(Binary::Pow, a, b, dt, dt);
  if (any_requires_grad({&a})) {
    auto node = PowBackward0::make({&a});
    node->self = InputInfo(a);
    node->exponent = b;
    node->self_ = SavedTensor(a, false);
    record(std::move(node), out);
  }
  return out;
}

struct PowBackward1 : BackwardNode<PowBackward1> {  // x ** y
  SavedTensor self_, exponent_, result_;
  InputInfo self, exponent;
  TensorList apply(TensorList&& g) override {
    TensorList r(2);
    Tensor x = self_.unpack(*this), y = exponent_.unpack(*this);
    if (should_compute_output(0)) {
      // y == 0 contributes 0 (not 0 * x^-1, nan at x == 0), as in PyTorch.
      Tensor d = mul(y, pow(x, sub(y, 1)));
      Tensor y_zero = compare(static_cast<int>(Binary::Eq), y, Scalar(0.0));
      r[0] = reduce(mul(g[0], where(y_zero, Tensor::zeros({}, d.dtype()), d)), self);
    }
    if (should_compute_output(1)) {
      Tensor out = result_.unpack(*this);
      // 0 ** y contributes 0 (not nan) to dy for y >= 0, as in PyTorch.
      Tensor zero_base = compare(static_cast<int>(Binary::LogicalAnd), compare(static_cast<int>(Binary::Eq), x, Scalar(0.0)),
                                 compare(static_cast<int>(Binary::Ge), y, Scalar(0.0)));
      Tensor term = where(zero_base, Tensor::zeros({}, out.dtype()), mul(out, log(x)));
      r[1] = reduce(mul(g[0], term), exponent);
    }
    return r;
  }
  TensorList jvp(const TensorList& t) override {  // t_x y x^(y-1) + t_y x^y log x, with the VJP's zero cases
    Tensor x = self_.unpack(*this), y = exponent_.unpack(*this);
    Tensor tx, ty;
    if (t[0].defined()) {
      Tensor d = mul(y, pow(x, sub(y, 1)));
      tx = mul(t[0], where(compare(static_cast<int>(Binary::Eq), y, Scalar(0.0)), Tensor::zeros({}, d.dtype()), d));
    }
    if (t[1].defined()) {
      Tensor out = result_.unpack(*this);
      Tensor zero_base = compare(static_cast<int>(Binary::LogicalAnd), compare(static_cast<int>(Binary::Eq), x, Scalar(0.0)),
                                 compare(static_cast<int>(Binary::Ge), y, Scalar(0.0)));
      ty = mul(t[1], where(zero_base, Tensor::zeros({}, out.dtype()), mul(out, log(x))));
    }
    return {tangent_sum(tx, ty)};
  }
  std::string name() const override { return "PowBackward1"; }
  static auto saved_fields() {
    return std::make_tuple(saved("self", &PowBackward1::self_),
                           saved("exponent", &PowBackward1::exponent_),
                           saved("result", &PowBackward1::result_));
  }
};

Tensor pow(const Tensor& a, const Tensor& b) {
  DType dt = result_type(a, b);
  CG_CHECK_IMPLEMENTED(dt != DType::Bool, kPowBool);
  Tensor out = binary_data(Binary::Pow, a, b, dt, dt);
  if (any_requires_grad({&a, &b})) {
    auto node = PowBackward1::make({&a, &b});
    node->self = InputInfo(a);
    node->exponent = InputInfo(b);
    node->self_ = SavedTensor(a, false);
    node->exponent_ = SavedTensor(b, false);
    record(node, out);
    node->result_ = save_if(needs(b), out, true);
  }
  return out;
}

struct PowBackward2 : BackwardNode<PowBackward2> {  // c ** y
  SavedTensor result_;
  InputInfo exponent;
  double base = 1;
  TensorList apply(TensorList&& g) override {
    if (base == 0.0) {  // 0 ** y: PyTorch's gradient is 0 where y >= 0 (log(0) * 0 otherwise)
      Tensor y = result_.unpack(*this);
      return {reduce(Tensor::zeros(y.shape(), y.dtype()), exponent)};
    }
    return {reduce(mul(g[0], mul(result_.unpack(*this), std::log(base))), exponent)};
  }
  TensorList jvp(const TensorList& t) override { return apply(TensorList{t[0]}); }  // diagonal Jacobian
  std::string name() const override { return "PowBackward2"; }
  static auto saved_fields() {
    return std::make_tuple(saved("self", &PowBackward2::base),
                           saved("result", &PowBackward2::result_));
  }
};

Tensor pow(Scalar a, const Tensor& b) {
  DType dt = result_type(b, a);
  CG_CHECK_IMPLEMENTED(dt != DType::Bool, kPowBool);
  Tensor out = scalar_data(Binary::Pow, b, a, dt, dt, true);
  if (any_requires_grad({&b})) {
    auto node = PowBackward2::make({&b});
    node->exponent = InputInfo(b);
    node->base = a.to_double();
    record(node, out);
    node->result_ = SavedTensor(out, true);
  }
  return out;
}

}  // namespace cg::ops
