// Pointwise math: one table row per op gives its node name, what it saves (input or output)
// and its VJP written with differentiable ops, so every derivative is itself differentiable.
#include "ops/unary.h"

#include <cmath>
#include <type_traits>

#include "ops/common.h"
#include "ops/inplace.h"
#include "ops/ops.h"
#include "ops/pointwise_vjp.h"

namespace cg::ops {

using kernels::Binary;
using kernels::Unary;

namespace {

enum class Saves { Nothing, Input, Output };

// The forward-mode rule of an op: the output's tangent from the input's tangent, the input x and
// the output y. One slot per table row, nullptr until written: give op Name its rule with
//   template <> constexpr UnaryJvp jvp_of<Unary::Name> = [](const Tensor& t, const Tensor& x, const Tensor& y) {...};
template <Unary op>
constexpr UnaryJvp jvp_of = nullptr;

// The fused-chain slot of a row (UnaryRule::fused), None until written: a VJP that is one of
// kernels/fused_chain.h's formulas on (g, saved) names it with CG_FUSED_VJP(Name, GradOp).
template <Unary op>
constexpr kernels::GradOp fused_vjp_of = kernels::GradOp::None;

struct UnaryRule {
  const char* node_name;  // nullptr: never differentiable (predicates)
  Saves saves;
  // g: incoming gradient; s: the saved input or output (undefined when nothing is saved).
  Tensor (*vjp)(const Tensor& g, const Tensor& s);
  // The same on 0-d numbers of the output's type (s: 0 when nothing is saved), for apply_0d.
  float (*vjp0_float)(float g, float s);
  double (*vjp0_double)(double g, double s);
  UnaryJvp jvp;
  // The same VJP as one of the fused chain's formulas (graph/pointwise.h), or None: the node then
  // never joins a chain. Its operand, if the formula reads one, is the saved tensor.
  kernels::GradOp fused;
  bool float_result;  // integer inputs are promoted to float32 (exp, sin, ...)
  // Set for the float-only kernels PyTorch refuses integer and bool inputs to (silu, gelu, ...):
  // the kernel name its NotImplementedError gives.
  const char* float_only_kernel;
};

Tensor zeros_like(const Tensor& t) { return Tensor::zeros(t.shape(), t.dtype()); }
using kernels::unary_value;

// ---- derivatives: vjp_<Name>(g, s) for each differentiable row of kernels/unary_ops.h, written
// with differentiable ops so that every derivative is itself differentiable, and vjp0_<Name>, the
// same formula on 0-d numbers of type T for the engine's scalar path (UnaryBackward::apply_0d). It
// must give the same bits as the tensor path: the same operations in the same order, constants
// rounded to T first (as a Scalar operand is), and the kernels' own functions (unary_value).
// Forward mode: a pointwise op's Jacobian is diagonal, so J t is the VJP's formula with the tangent
// as the gradient, on the value the VJP reads (CG_DIAGONAL_JVP fills the row's jvp_of slot).
template <Tensor (*vjp)(const Tensor&, const Tensor&)>
Tensor jvp_on_input(const Tensor& t, const Tensor& x, const Tensor&) { return vjp(t, x); }
template <Tensor (*vjp)(const Tensor&, const Tensor&)>
Tensor jvp_on_output(const Tensor& t, const Tensor&, const Tensor& y) { return vjp(t, y); }
#define CG_DIAGONAL_JVP(Name, on) \
  template <>                     \
  constexpr UnaryJvp jvp_of<Unary::Name> = jvp_on_##on<vjp_##Name>;

Tensor vjp_Neg(const Tensor& g, const Tensor&) { return neg(g); }
template <typename T> T vjp0_Neg(T g, T) { return -g; }
CG_DIAGONAL_JVP(Neg, input)
Tensor vjp_Abs(const Tensor& g, const Tensor& x) { return mul(g, sign(x)); }
template <typename T> T vjp0_Abs(T g, T x) { return g * unary_value(Unary::Sign, x); }
CG_DIAGONAL_JVP(Abs, input)
Tensor vjp_Sign(const Tensor& g, const Tensor&) { return zeros_like(g); }
template <typename T> T vjp0_Sign(T, T) { return T(0); }
CG_DIAGONAL_JVP(Sign, input)
Tensor vjp_Sqrt(const Tensor& g, const Tensor& y) { return div(g, mul(y, 2.0)); }
template <typename T> T vjp0_Sqrt(T g, T y) { return g / (y * T(2.0)); }
CG_DIAGONAL_JVP(Sqrt, output)
Tensor vjp_Rsqrt(const Tensor& g, const Tensor& y) { return mul(g, mul(pow(y, Scalar(3.0)), -0.5)); }
template <typename T> T vjp0_Rsqrt(T g, T y) { return g * ((y * y * y) * T(-0.5)); }
CG_DIAGONAL_JVP(Rsqrt, output)
Tensor vjp_Square(const Tensor& g, const Tensor& x) { return mul(g, mul(x, 2.0)); }
template <typename T> T vjp0_Square(T g, T x) { return g * (x * T(2.0)); }
CG_DIAGONAL_JVP(Square, input)
Tensor vjp_Reciprocal(const Tensor& g, const Tensor& y) { return mul(g, neg(mul(y, y))); }
template <typename T> T vjp0_Reciprocal(T g, T y) { return g * -(y * y); }
CG_DIAGONAL_JVP(Reciprocal, output)
Tensor vjp_Exp(const Tensor& g, const Tensor& y) { return mul(g, y); }
template <typename T> T vjp0_Exp(T g, T y) { return g * y; }
CG_DIAGONAL_JVP(Exp, output)
Tensor vjp_Expm1(const Tensor& g, const Tensor& y) { return mul(g, add(y, 1)); }
template <typename T> T vjp0_Expm1(T g, T y) { return g * (y + T(1)); }
CG_DIAGONAL_JVP(Expm1, output)
Tensor vjp_Log(const Tensor& g, const Tensor& x) { return div(g, x); }
template <typename T> T vjp0_Log(T g, T x) { return g / x; }
CG_DIAGONAL_JVP(Log, input)
Tensor vjp_Log1p(const Tensor& g, const Tensor& x) { return div(g, add(x, 1)); }
template <typename T> T vjp0_Log1p(T g, T x) { return g / (x + T(1)); }
CG_DIAGONAL_JVP(Log1p, input)
Tensor vjp_Log2(const Tensor& g, const Tensor& x) { return div(g, mul(x, std::log(2.0))); }
template <typename T> T vjp0_Log2(T g, T x) { return g / (x * T(std::log(2.0))); }
CG_DIAGONAL_JVP(Log2, input)
Tensor vjp_Log10(const Tensor& g, const Tensor& x) { return div(g, mul(x, M_LN10)); }
template <typename T> T vjp0_Log10(T g, T x) { return g / (x * T(M_LN10)); }
CG_DIAGONAL_JVP(Log10, input)
Tensor vjp_Exp2(const Tensor& g, const Tensor& y) { return mul(g, mul(y, M_LN2)); }
template <typename T> T vjp0_Exp2(T g, T y) { return g * (y * T(M_LN2)); }
CG_DIAGONAL_JVP(Exp2, output)
Tensor vjp_Sin(const Tensor& g, const Tensor& x) { return mul(g, cos(x)); }
template <typename T> T vjp0_Sin(T g, T x) { return g * unary_value(Unary::Cos, x); }
CG_DIAGONAL_JVP(Sin, input)
Tensor vjp_Cos(const Tensor& g, const Tensor& x) { return mul(g, neg(sin(x))); }
template <typename T> T vjp0_Cos(T g, T x) { return g * -unary_value(Unary::Sin, x); }
CG_DIAGONAL_JVP(Cos, input)
Tensor vjp_Tan(const Tensor& g, const Tensor& y) { return mul(g, add(mul(y, y), 1)); }
template <typename T> T vjp0_Tan(T g, T y) { return g * (y * y + T(1)); }
CG_DIAGONAL_JVP(Tan, output)
// The inverse functions' derivatives in PyTorch's forms (rsqrt of 1 - x^2, ...).
Tensor vjp_Asin(const Tensor& g, const Tensor& x) { return mul(g, unary(Unary::Rsqrt, add(neg(mul(x, x)), 1))); }
template <typename T> T vjp0_Asin(T g, T x) { return g * unary_value(Unary::Rsqrt, -(x * x) + T(1)); }
CG_DIAGONAL_JVP(Asin, input)
Tensor vjp_Acos(const Tensor& g, const Tensor& x) { return mul(g, neg(unary(Unary::Rsqrt, add(neg(mul(x, x)), 1)))); }
template <typename T> T vjp0_Acos(T g, T x) { return g * -unary_value(Unary::Rsqrt, -(x * x) + T(1)); }
CG_DIAGONAL_JVP(Acos, input)
Tensor vjp_Atan(const Tensor& g, const Tensor& x) { return div(g, add(mul(x, x), 1)); }
template <typename T> T vjp0_Atan(T g, T x) { return g / (x * x + T(1)); }
CG_DIAGONAL_JVP(Atan, input)
Tensor vjp_Sinh(const Tensor& g, const Tensor& x) { return mul(g, unary(Unary::Cosh, x)); }
template <typename T> T vjp0_Sinh(T g, T x) { return g * unary_value(Unary::Cosh, x); }
CG_DIAGONAL_JVP(Sinh, input)
Tensor vjp_Cosh(const Tensor& g, const Tensor& x) { return mul(g, unary(Unary::Sinh, x)); }
template <typename T> T vjp0_Cosh(T g, T x) { return g * unary_value(Unary::Sinh, x); }
CG_DIAGONAL_JVP(Cosh, input)
Tensor vjp_Asinh(const Tensor& g, const Tensor& x) { return mul(g, unary(Unary::Rsqrt, add(mul(x, x), 1))); }
template <typename T> T vjp0_Asinh(T g, T x) { return g * unary_value(Unary::Rsqrt, x * x + T(1)); }
CG_DIAGONAL_JVP(Asinh, input)
Tensor vjp_Acosh(const Tensor& g, const Tensor& x) { return mul(g, unary(Unary::Rsqrt, sub(mul(x, x), 1))); }
template <typename T> T vjp0_Acosh(T g, T x) { return g * unary_value(Unary::Rsqrt, x * x - T(1)); }
CG_DIAGONAL_JVP(Acosh, input)
Tensor vjp_Atanh(const Tensor& g, const Tensor& x) { return div(g, rsub(mul(x, x), 1)); }
template <typename T> T vjp0_Atanh(T g, T x) { return g / (T(1) - x * x); }
CG_DIAGONAL_JVP(Atanh, input)
Tensor vjp_Tanh(const Tensor& g, const Tensor& y) { return tanh_backward(g, y); }
template <typename T> T vjp0_Tanh(T g, T y) { return g * (T(1) - y * y); }
CG_DIAGONAL_JVP(Tanh, output)
Tensor vjp_Sigmoid(const Tensor& g, const Tensor& y) { return sigmoid_backward(g, y); }
template <typename T> T vjp0_Sigmoid(T g, T y) { return g * y * (T(1) - y); }
CG_DIAGONAL_JVP(Sigmoid, output)
Tensor vjp_Relu(const Tensor& g, const Tensor& y) { return threshold_backward(g, y, 0.0); }
template <typename T> T vjp0_Relu(T g, T y) { return y > T(0) ? g : T(0); }
CG_DIAGONAL_JVP(Relu, output)
Tensor vjp_Silu(const Tensor& g, const Tensor& x) {
  Tensor s = sigmoid(x);
  return mul(g, mul(s, add(mul(x, rsub(s, 1)), 1)));
}
template <typename T>
T vjp0_Silu(T g, T x) {
  const T s = unary_value(Unary::Sigmoid, x);
  return g * (s * (x * (T(1) - s) + T(1)));
}
CG_DIAGONAL_JVP(Silu, input)
Tensor vjp_Gelu(const Tensor& g, const Tensor& x) {
  Tensor cdf = mul(add(unary(Unary::Erf, mul(x, M_SQRT1_2)), 1), 0.5);
  Tensor pdf = mul(exp(mul(mul(x, x), -0.5)), 0.3989422804014327);
  return mul(g, add(cdf, mul(x, pdf)));
}
template <typename T>
T vjp0_Gelu(T g, T x) {
  const T cdf = (unary_value(Unary::Erf, x * T(M_SQRT1_2)) + T(1)) * T(0.5);
  const T pdf = unary_value(Unary::Exp, (x * x) * T(-0.5)) * T(0.3989422804014327);
  return g * (cdf + x * pdf);
}
CG_DIAGONAL_JVP(Gelu, input)
Tensor vjp_Softplus(const Tensor& g, const Tensor& x) { return mul(g, sigmoid(x)); }
template <typename T> T vjp0_Softplus(T g, T x) { return g * unary_value(Unary::Sigmoid, x); }
CG_DIAGONAL_JVP(Softplus, input)
Tensor vjp_Erf(const Tensor& g, const Tensor& x) { return mul(g, mul(exp(neg(mul(x, x))), 1.1283791670955126)); }
template <typename T> T vjp0_Erf(T g, T x) { return g * (unary_value(Unary::Exp, -(x * x)) * T(1.1283791670955126)); }
CG_DIAGONAL_JVP(Erf, input)
Tensor vjp_Erfc(const Tensor& g, const Tensor& x) { return mul(g, mul(exp(neg(mul(x, x))), -1.1283791670955126)); }
template <typename T> T vjp0_Erfc(T g, T x) { return g * (unary_value(Unary::Exp, -(x * x)) * T(-1.1283791670955126)); }
CG_DIAGONAL_JVP(Erfc, input)
Tensor vjp_Floor(const Tensor& g, const Tensor&) { return zeros_like(g); }
template <typename T> T vjp0_Floor(T, T) { return T(0); }
CG_DIAGONAL_JVP(Floor, input)
Tensor vjp_Ceil(const Tensor& g, const Tensor&) { return zeros_like(g); }
template <typename T> T vjp0_Ceil(T, T) { return T(0); }
CG_DIAGONAL_JVP(Ceil, input)
Tensor vjp_Round(const Tensor& g, const Tensor&) { return zeros_like(g); }
template <typename T> T vjp0_Round(T, T) { return T(0); }
CG_DIAGONAL_JVP(Round, input)
Tensor vjp_Trunc(const Tensor& g, const Tensor&) { return zeros_like(g); }
template <typename T> T vjp0_Trunc(T, T) { return T(0); }
CG_DIAGONAL_JVP(Trunc, input)
Tensor vjp_Frac(const Tensor& g, const Tensor&) { return g; }
template <typename T> T vjp0_Frac(T g, T) { return g; }
CG_DIAGONAL_JVP(Frac, input)
// The predicates have no derivative (their rows have no node).
constexpr Tensor (*vjp_LogicalNot)(const Tensor&, const Tensor&) = nullptr;
constexpr Tensor (*vjp_IsNan)(const Tensor&, const Tensor&) = nullptr;
constexpr Tensor (*vjp_IsInf)(const Tensor&, const Tensor&) = nullptr;
constexpr Tensor (*vjp_IsFinite)(const Tensor&, const Tensor&) = nullptr;
constexpr Tensor (*vjp_SignBit)(const Tensor&, const Tensor&) = nullptr;
template <typename T> constexpr T (*vjp0_LogicalNot)(T, T) = nullptr;
template <typename T> constexpr T (*vjp0_IsNan)(T, T) = nullptr;
template <typename T> constexpr T (*vjp0_IsInf)(T, T) = nullptr;
template <typename T> constexpr T (*vjp0_IsFinite)(T, T) = nullptr;
template <typename T> constexpr T (*vjp0_SignBit)(T, T) = nullptr;
#undef CG_DIAGONAL_JVP

// The rows whose VJP runs in fused backward chains, with the chain formula that computes it bit
// for bit (g * y is exp's mul(g, y); threshold_backward(g, y, 0) is relu's).
#define CG_FUSED_VJP(Name, op) \
  template <>                  \
  constexpr kernels::GradOp fused_vjp_of<Unary::Name> = kernels::GradOp::op;
CG_FUSED_VJP(Neg, Neg)
CG_FUSED_VJP(Exp, Mul)
CG_FUSED_VJP(Tanh, TanhGrad)
CG_FUSED_VJP(Sigmoid, SigmoidGrad)
CG_FUSED_VJP(Relu, ReluGrad)
#undef CG_FUSED_VJP
// A formula that reads an operand needs a row that saves one.
#define CG_CHECK_FUSED(Name, py_name, alias, node_name, saves, ...)                                       \
  static_assert(!kernels::reads_operand(fused_vjp_of<Unary::Name>) || Saves::saves != Saves::Nothing, \
                #Name "'s fused VJP reads an operand but the row saves nothing");
CG_UNARY_OPS(CG_CHECK_FUSED)
#undef CG_CHECK_FUSED

const UnaryRule& rule(Unary op) {
#define CG_UNARY_RULE(Name, py_name, alias, node_name, saves, float_only_kernel, bind, kind, ...) \
  {node_name, Saves::saves, vjp_##Name, vjp0_##Name<float>, vjp0_##Name<double>, jvp_of<Unary::Name>, \
   fused_vjp_of<Unary::Name>, kernels::UnaryKind::kind == kernels::UnaryKind::Float, float_only_kernel},
  static const UnaryRule rules[] = {CG_UNARY_OPS(CG_UNARY_RULE)};
#undef CG_UNARY_RULE
  return rules[static_cast<int>(op)];
}

struct UnaryBackward : BackwardNode<UnaryBackward> {
  const UnaryRule* rule = nullptr;
  SavedTensor saved_;
  DType input_dtype = DType::Float32;
  TensorList apply(TensorList&& g) override {
    Tensor gx = rule->vjp(g[0], saved_.unpack(*this));
    return {gx.dtype() == input_dtype ? gx : to_dtype(gx, input_dtype)};
  }
  // The row's fused-chain formula (graph/pointwise.h), on the saved tensor when it reads one.
  bool pointwise_vjp(autograd::PointwiseVjp& p) override {
    const kernels::GradOp op = rule->fused;
    if (op == kernels::GradOp::None || output_meta.size() != 1 ||
        !pointwise_input(*this, output_meta[0].shape, input_dtype))
      return false;
    if (kernels::reads_operand(op)) return pointwise_operand(*this, 0, op, saved_.unpack(*this), p);
    p.op[0] = op;
    return true;
  }
  // A 0-d float in and out: the row's derivative on numbers (vjp0_<Name>).
  bool apply_0d(double grad, ScalarGrads& out) override {
    return autograd::with_float_0d(output_meta[0].dtype, [&](auto t) {
      using T = decltype(t);
      T (*vjp0)(T, T) = nullptr;
      if constexpr (std::is_same_v<T, float>) vjp0 = rule->vjp0_float;
      else vjp0 = rule->vjp0_double;
      T s = 0;
      if (!vjp0 || input_dtype != dtype_of<T>()) return false;
      if (rule->saves != Saves::Nothing && !autograd::scalar_value(saved_.unpack(*this), s)) return false;
      out.value[0] = vjp0(static_cast<T>(grad), s);
      out.defined[0] = true;
      return true;
    });
  }
  TensorList jvp(const TensorList& t) override {  // the row's rule; none: the double-VJP fallback
    if (!rule->jvp) return {};
    Tensor s = saved_.unpack(*this);
    return {rule->jvp(t[0], rule->saves == Saves::Input ? s : Tensor(), rule->saves == Saves::Output ? s : Tensor())};
  }
  void release_saved() override { saved_.release(); }
  std::vector<std::string> saved_names() override {
    if (rule->saves == Saves::Nothing) return {};
    return {rule->saves == Saves::Output ? "result" : "self"};
  }
  SavedValue saved_value(const std::string&) override { return saved_.unpack(*this); }
  std::vector<std::pair<std::string, SavedValue>> saved_tensors_for_inspection() override {
    if (rule->saves == Saves::Nothing) return {};
    return {{rule->saves == Saves::Output ? "result" : "self", saved_.unpack(*this)}};
  }
  std::string name() const override { return rule->node_name; }
};

// log(1 + exp(v)), stable for large v (no autograd: forward helper).
Tensor log1p_exp(const Tensor& v) {
  Tensor m = clamp(v, 0.0, std::nullopt);  // max(v, 0) + log1p(exp(-|v|))
  return add(m, unary(Unary::Log1p, exp(neg(abs(v)))));
}

bool never_differentiable(Unary op) { return rule(op).node_name == nullptr; }

}  // namespace

Tensor unary(Unary op, const Tensor& x) {
  if (never_differentiable(op)) {
    Tensor out = Tensor::empty(x.shape(), DType::Bool);
    kernels::unary(op, x, out);
    return out;
  }
  const UnaryRule& r = rule(op);
  if (r.float_only_kernel && !is_floating(x.dtype())) throw_not_implemented(r.float_only_kernel, x.dtype());
  if (x.dtype() == DType::Bool) {
    switch (op) {
      case Unary::Abs: throw NotImplementedError("\"abs_cpu\" not implemented for 'Bool'");
      case Unary::Relu: throw RuntimeError("Boolean inputs not supported for relu");
      case Unary::Floor: case Unary::Ceil: case Unary::Round: case Unary::Trunc:
        throw_not_implemented(msg(kernels::unary_name(op), "_vml_cpu"), DType::Bool);
      case Unary::Square: return unary(op, cast_data(x, DType::Int64));
      default: break;
    }
  }
  Tensor in = r.float_result && !is_floating(x.dtype()) ? cast_data(x, default_float_dtype()) : x;
  Tensor out = Tensor::empty(in.shape(), in.dtype());
  kernels::unary(op, in, out);
  if (autograd::any_requires_grad({&x})) {
    auto node = UnaryBackward::make({&x});
    node->rule = &r;
    node->input_dtype = x.dtype();
    if (r.saves == Saves::Input) node->saved_ = SavedTensor(x, false);
    record(node, out);
    if (r.saves == Saves::Output) node->saved_ = SavedTensor(out, true);
  }
  return out;
}

UnaryJvp unary_jvp(Unary op) { return rule(op).jvp; }

Tensor& unary_(Unary op, Tensor& x) {
  if (inplace_records(x, {})) {
    commit_inplace(x, unary(op, x));
  } else {
    check_can_cast(rule(op).float_result && !is_floating(x.dtype()) ? default_float_dtype() : x.dtype(), x.dtype());
    kernels::unary(op, x, x);
    x.bump_version();
  }
  return x;
}

Tensor neg(const Tensor& x) { return unary(Unary::Neg, x); }
Tensor exp(const Tensor& x) { return unary(Unary::Exp, x); }
Tensor log(const Tensor& x) { return unary(Unary::Log, x); }
Tensor tanh(const Tensor& x) { return unary(Unary::Tanh, x); }
Tensor sigmoid(const Tensor& x) { return unary(Unary::Sigmoid, x); }
Tensor relu(const Tensor& x) { return unary(Unary::Relu, x); }
Tensor abs(const Tensor& x) { return unary(Unary::Abs, x); }
Tensor sqrt(const Tensor& x) { return unary(Unary::Sqrt, x); }
Tensor sign(const Tensor& x) { return unary(Unary::Sign, x); }
Tensor sin(const Tensor& x) { return unary(Unary::Sin, x); }
Tensor cos(const Tensor& x) { return unary(Unary::Cos, x); }
Tensor gelu(const Tensor& x) { return unary(Unary::Gelu, x); }
Tensor silu(const Tensor& x) { return unary(Unary::Silu, x); }

// ---- activations with parameters -----------------------------------------------------------
struct LeakyReluBackward0 : BackwardNode<LeakyReluBackward0> {
  SavedTensor self_;
  double slope = 0.01;
  TensorList apply(TensorList&& g) override {
    Tensor x = self_.unpack(*this);
    Tensor pos = compare(static_cast<int>(Binary::Gt), x, Scalar(0.0));
    Tensor r = where(pos, g[0], mul(g[0], slope));
    if (!autograd::requires_grad(x)) return {r};
    return {zero_grad_through(r, autograd::gradient_edge(x), x.shape(), x.dtype(), "LeakyReluBackwardBackward0")};
  }
  TensorList jvp(const TensorList& t) override {
    Tensor pos = compare(static_cast<int>(Binary::Gt), self_.unpack(*this), Scalar(0.0));
    return {where(pos, t[0], mul(t[0], slope))};
  }
  std::string name() const override { return "LeakyReluBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("self", &LeakyReluBackward0::self_),
                           saved("negative_slope", &LeakyReluBackward0::slope));
  }
};

Tensor leaky_relu(const Tensor& x, double slope) {
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  kernels::leaky_relu(x, slope, out);
  if (autograd::any_requires_grad({&x})) {
    auto node = LeakyReluBackward0::make({&x});
    node->slope = slope;
    node->self_ = SavedTensor(x, false);
    record(node, out);
  }
  return out;
}

struct EluBackward0 : BackwardNode<EluBackward0> {
  SavedTensor self_;
  double alpha = 1.0;
  TensorList apply(TensorList&& g) override {
    Tensor x = self_.unpack(*this);
    Tensor pos = compare(static_cast<int>(Binary::Gt), x, Scalar(0.0));
    return {where(pos, g[0], mul(g[0], mul(exp(x), alpha)))};
  }
  TensorList jvp(const TensorList& t) override { return apply(TensorList{t[0]}); }  // diagonal Jacobian
  std::string name() const override { return "EluBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("self", &EluBackward0::self_),
                           saved("alpha", &EluBackward0::alpha),
                           saved("scale", [](const EluBackward0& n) { return SavedValue(int64_t{1}); }),
                           saved("input_scale", [](const EluBackward0& n) { return SavedValue(int64_t{1}); }));
  }
};

Tensor elu(const Tensor& x, double alpha) {
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  kernels::elu(x, alpha, out);
  if (autograd::any_requires_grad({&x})) {
    auto node = EluBackward0::make({&x});
    node->alpha = alpha;
    node->self_ = SavedTensor(x, false);
    record(node, out);
  }
  return out;
}

// softplus(x) = log(1 + exp(beta x)) / beta, linear above `threshold` (PyTorch's definition);
// its derivative is sigmoid(beta x), exactly 1 where beta x > threshold.
struct SoftplusBackward0 : BackwardNode<SoftplusBackward0> {
  SavedTensor self_;
  double beta = 1.0, threshold = 20.0;
  TensorList apply(TensorList&& g) override {
    Tensor bx = mul(self_.unpack(*this), beta);
    Tensor linear = compare(static_cast<int>(Binary::Gt), bx, Scalar(threshold));
    return {mul(g[0], where(linear, Tensor::full({}, 1, bx.dtype()), sigmoid(bx)))};
  }
  TensorList jvp(const TensorList& t) override { return apply(TensorList{t[0]}); }  // diagonal Jacobian
  std::string name() const override { return "SoftplusBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("self", &SoftplusBackward0::self_),
                           saved("beta", &SoftplusBackward0::beta),
                           saved("threshold", &SoftplusBackward0::threshold));
  }
};

Tensor softplus(const Tensor& x, double beta, double threshold) {
  if (!is_floating(x.dtype())) throw_not_implemented("softplus_cpu", x.dtype());
  Tensor out;
  if (beta == 1.0 && threshold == 20.0) {  // the defaults: the kernel's formula, one pass
    out = Tensor::empty(x.shape(), x.dtype());
    kernels::unary(Unary::Softplus, x, out);
  } else {
    autograd::GradModeGuard no_grad(false);
    Tensor bx = mul(x, beta);
    Tensor soft = div(log1p_exp(bx), beta);
    out = where(compare(static_cast<int>(Binary::Gt), bx, Scalar(threshold)), x, soft);
  }
  if (autograd::any_requires_grad({&x})) {
    auto node = SoftplusBackward0::make({&x});
    node->beta = beta;
    node->threshold = threshold;
    node->self_ = SavedTensor(x, false);
    record(node, out);
  }
  return out;
}

// gelu(approximate='tanh'): 0.5 x (1 + tanh(u)) with u = sqrt(2/pi) (x + 0.044715 x^3);
// its derivative 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2), t = tanh(u).
namespace {
constexpr double kGeluTanhScale = 0.7978845608028654, kGeluTanhCubic = 0.044715;
Tensor gelu_tanh_inner(const Tensor& x) { return tanh(mul(add(x, mul(pow(x, Scalar(3)), kGeluTanhCubic)), kGeluTanhScale)); }
}  // namespace

struct GeluTanhBackward0 : BackwardNode<GeluTanhBackward0> {
  SavedTensor self_;
  TensorList apply(TensorList&& g) override {
    Tensor x = self_.unpack(*this);
    Tensor t = gelu_tanh_inner(x);
    Tensor du = mul(add(mul(mul(x, x), 3 * kGeluTanhCubic), 1), kGeluTanhScale);
    Tensor d = add(mul(add(t, 1), 0.5), mul(mul(x, rsub(mul(t, t), 1)), mul(du, 0.5)));
    return {mul(g[0], d)};
  }
  TensorList jvp(const TensorList& t) override { return apply(TensorList{t[0]}); }  // diagonal Jacobian
  std::string name() const override { return "GeluBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("self", &GeluTanhBackward0::self_),
                           saved("approximate", [](const GeluTanhBackward0& n) { return SavedValue(std::string("tanh")); }));
  }
};

Tensor gelu(const Tensor& x, const std::string& approximate) {
  CG_CHECK(approximate == "none" || approximate == "tanh", "approximate argument must be either none or tanh.");
  if (approximate == "none") return gelu(x);
  if (!is_floating(x.dtype())) throw_not_implemented("GeluKernelImpl", x.dtype());
  Tensor out;
  {
    autograd::GradModeGuard no_grad(false);
    out = mul(mul(x, add(gelu_tanh_inner(x), 1)), 0.5);
  }
  if (autograd::any_requires_grad({&x})) {
    auto node = GeluTanhBackward0::make({&x});
    node->self_ = SavedTensor(x, false);
    record(node, out);
  }
  return out;
}

}  // namespace cg::ops
