// Pointwise math: one table row per op gives its node name, what it saves (input or output)
// and its VJP written with differentiable ops, so every derivative is itself differentiable.
#include "ops/unary.h"

#include <cmath>

#include "ops/common.h"
#include "ops/inplace.h"
#include "ops/ops.h"

namespace cg::ops {

using kernels::Binary;
using kernels::Unary;

namespace {

enum class Saves { Nothing, Input, Output };

struct UnaryRule {
  const char* node_name;
  Saves saves;
  // g: incoming gradient; s: the saved input or output (undefined when nothing is saved).
  Tensor (*vjp)(const Tensor& g, const Tensor& s);
  bool float_result;  // integer inputs are promoted to float32 (exp, sin, ...)
  // Set for the float-only kernels PyTorch refuses integer and bool inputs to (silu, gelu, ...):
  // the kernel name its NotImplementedError gives.
  const char* float_only_kernel = nullptr;
};

Tensor zeros_like(const Tensor& t) { return Tensor::zeros(t.shape(), t.dtype()); }

const UnaryRule& rule(Unary op) {
  static const UnaryRule rules[] = {
      /* Neg */ {"NegBackward0", Saves::Nothing, [](const Tensor& g, const Tensor&) { return neg(g); }, false},
      /* Abs */ {"AbsBackward0", Saves::Input, [](const Tensor& g, const Tensor& x) { return mul(g, sign(x)); }, false},
      /* Sign */ {"SignBackward0", Saves::Nothing, [](const Tensor& g, const Tensor&) { return zeros_like(g); }, false},
      /* Sqrt */ {"SqrtBackward0", Saves::Output, [](const Tensor& g, const Tensor& y) { return div(g, mul(y, 2.0)); }, true},
      /* Rsqrt */ {"RsqrtBackward0", Saves::Output,
                   [](const Tensor& g, const Tensor& y) { return mul(g, mul(pow(y, Scalar(3.0)), -0.5)); }, true},
      /* Square */ {"PowBackward0", Saves::Input, [](const Tensor& g, const Tensor& x) { return mul(g, mul(x, 2.0)); }, false},
      /* Reciprocal */ {"ReciprocalBackward0", Saves::Output,
                        [](const Tensor& g, const Tensor& y) { return mul(g, neg(mul(y, y))); }, true},
      /* Exp */ {"ExpBackward0", Saves::Output, [](const Tensor& g, const Tensor& y) { return mul(g, y); }, true},
      /* Expm1 */ {"Expm1Backward0", Saves::Output, [](const Tensor& g, const Tensor& y) { return mul(g, add(y, 1)); }, true},
      /* Log */ {"LogBackward0", Saves::Input, [](const Tensor& g, const Tensor& x) { return div(g, x); }, true},
      /* Log1p */ {"Log1PBackward0", Saves::Input, [](const Tensor& g, const Tensor& x) { return div(g, add(x, 1)); }, true},
      /* Log2 */ {"Log2Backward0", Saves::Input,
                  [](const Tensor& g, const Tensor& x) { return div(g, mul(x, std::log(2.0))); }, true},
      /* Sin */ {"SinBackward0", Saves::Input, [](const Tensor& g, const Tensor& x) { return mul(g, cos(x)); }, true},
      /* Cos */ {"CosBackward0", Saves::Input, [](const Tensor& g, const Tensor& x) { return mul(g, neg(sin(x))); }, true},
      /* Tan */ {"TanBackward0", Saves::Output,
                 [](const Tensor& g, const Tensor& y) { return mul(g, add(mul(y, y), 1)); }, true},
      /* Tanh */ {"TanhBackward0", Saves::Output, [](const Tensor& g, const Tensor& y) { return tanh_backward(g, y); }, true},
      /* Sigmoid */ {"SigmoidBackward0", Saves::Output,
                     [](const Tensor& g, const Tensor& y) { return sigmoid_backward(g, y); }, true},
      /* Relu */ {"ReluBackward0", Saves::Output,
                  [](const Tensor& g, const Tensor& y) { return threshold_backward(g, y, 0.0); }, false},
      /* Silu */ {"SiluBackward0", Saves::Input,
                  [](const Tensor& g, const Tensor& x) {
                    Tensor s = sigmoid(x);
                    return mul(g, mul(s, add(mul(x, rsub(s, 1)), 1)));
                  }, true, "silu_cpu"},
      /* Gelu */ {"GeluBackward0", Saves::Input,
                  [](const Tensor& g, const Tensor& x) {
                    Tensor cdf = mul(add(unary(Unary::Erf, mul(x, M_SQRT1_2)), 1), 0.5);
                    Tensor pdf = mul(exp(mul(mul(x, x), -0.5)), 0.3989422804014327);
                    return mul(g, add(cdf, mul(x, pdf)));
                  }, true, "GeluKernelImpl"},
      /* Softplus */ {"SoftplusBackward0", Saves::Input,
                      [](const Tensor& g, const Tensor& x) { return mul(g, sigmoid(x)); }, true, "softplus_cpu"},
      /* Erf */ {"ErfBackward0", Saves::Input,
                 [](const Tensor& g, const Tensor& x) { return mul(g, mul(exp(neg(mul(x, x))), 1.1283791670955126)); }, true},
      /* Floor */ {"FloorBackward0", Saves::Nothing, [](const Tensor& g, const Tensor&) { return zeros_like(g); }, false},
      /* Ceil */ {"CeilBackward0", Saves::Nothing, [](const Tensor& g, const Tensor&) { return zeros_like(g); }, false},
      /* Round */ {"RoundBackward0", Saves::Nothing, [](const Tensor& g, const Tensor&) { return zeros_like(g); }, false},
      /* Trunc */ {"TruncBackward0", Saves::Nothing, [](const Tensor& g, const Tensor&) { return zeros_like(g); }, false},
  };
  CG_CHECK(static_cast<size_t>(op) < sizeof(rules) / sizeof(rules[0]), kernels::unary_name(op), " has no gradient");
  return rules[static_cast<int>(op)];
}

struct UnaryBackward : Node {
  const UnaryRule* rule = nullptr;
  SavedTensor saved_;
  DType input_dtype = DType::Float32;
  TensorList apply(TensorList&& g) override {
    Tensor gx = rule->vjp(g[0], saved_.unpack(*this));
    return {gx.dtype() == input_dtype ? gx : to_dtype(gx, input_dtype)};
  }
  // The Jacobian is diagonal (f'(x)), so J t is the VJP's formula applied to the tangent.
  TensorList jvp(const TensorList& t) override { return {rule->vjp(t[0], saved_.unpack(*this))}; }
  void release_saved() override { saved_.release(); }
  std::vector<std::pair<std::string, Tensor>> saved_tensors_for_inspection() override {
    return {{rule->saves == Saves::Output ? "result" : "self", saved_.unpack(*this)}};
  }
  std::string name() const override { return rule->node_name; }
};

// log(1 + exp(v)), stable for large v (no autograd: forward helper).
Tensor log1p_exp(const Tensor& v) {
  Tensor m = clamp(v, 0.0, std::nullopt);  // max(v, 0) + log1p(exp(-|v|))
  return add(m, unary(Unary::Log1p, exp(neg(abs(v)))));
}

bool never_differentiable(Unary op) {
  return op == Unary::LogicalNot || op == Unary::IsNan || op == Unary::IsInf;
}

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
  Tensor in = r.float_result && !is_floating(x.dtype()) ? cast_data(x, DType::Float32) : x;
  Tensor out = Tensor::empty(in.shape(), in.dtype());
  kernels::unary(op, in, out);
  if (autograd::any_requires_grad({&x})) {
    auto node = autograd::make_grad_node<UnaryBackward>({&x});
    node->rule = &r;
    node->input_dtype = x.dtype();
    if (r.saves == Saves::Input) node->saved_ = SavedTensor(x, false);
    autograd::set_history(out, node);
    if (r.saves == Saves::Output) node->saved_ = SavedTensor(out, true);
  }
  return out;
}

Tensor& unary_(Unary op, Tensor& x) {
  if (inplace_records(x, {})) {
    commit_inplace(x, unary(op, x));
  } else {
    check_can_cast(rule(op).float_result && !is_floating(x.dtype()) ? DType::Float32 : x.dtype(), x.dtype());
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
struct LeakyReluBackward0 : Node {
  SavedTensor self_;
  double slope = 0.01;
  TensorList apply(TensorList&& g) override {
    Tensor x = self_.unpack(*this);
    Tensor pos = compare(static_cast<int>(Binary::Gt), x, Scalar(0.0));
    Tensor r = where(pos, g[0], mul(g[0], slope));
    if (!autograd::requires_grad(x)) return {r};
    return {zero_grad_through(r, autograd::gradient_edge(x), x.shape(), x.dtype(), "LeakyReluBackwardBackward0")};
  }
  void release_saved() override { self_.release(); }
  std::string name() const override { return "LeakyReluBackward0"; }
};

Tensor leaky_relu(const Tensor& x, double slope) {
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  kernels::leaky_relu(x, slope, out);
  if (autograd::any_requires_grad({&x})) {
    auto node = autograd::make_grad_node<LeakyReluBackward0>({&x});
    node->slope = slope;
    node->self_ = SavedTensor(x, false);
    autograd::set_history(out, node);
  }
  return out;
}

struct EluBackward0 : Node {
  SavedTensor self_;
  double alpha = 1.0;
  TensorList apply(TensorList&& g) override {
    Tensor x = self_.unpack(*this);
    Tensor pos = compare(static_cast<int>(Binary::Gt), x, Scalar(0.0));
    return {where(pos, g[0], mul(g[0], mul(exp(x), alpha)))};
  }
  void release_saved() override { self_.release(); }
  std::string name() const override { return "EluBackward0"; }
};

Tensor elu(const Tensor& x, double alpha) {
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  kernels::elu(x, alpha, out);
  if (autograd::any_requires_grad({&x})) {
    auto node = autograd::make_grad_node<EluBackward0>({&x});
    node->alpha = alpha;
    node->self_ = SavedTensor(x, false);
    autograd::set_history(out, node);
  }
  return out;
}

// softplus(x) = log(1 + exp(beta x)) / beta, linear above `threshold` (PyTorch's definition);
// its derivative is sigmoid(beta x), exactly 1 where beta x > threshold.
struct SoftplusBackward0 : Node {
  SavedTensor self_;
  double beta = 1.0, threshold = 20.0;
  TensorList apply(TensorList&& g) override {
    Tensor bx = mul(self_.unpack(*this), beta);
    Tensor linear = compare(static_cast<int>(Binary::Gt), bx, Scalar(threshold));
    return {mul(g[0], where(linear, Tensor::full({}, 1, bx.dtype()), sigmoid(bx)))};
  }
  void release_saved() override { self_.release(); }
  std::string name() const override { return "SoftplusBackward0"; }
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
    auto node = autograd::make_grad_node<SoftplusBackward0>({&x});
    node->beta = beta;
    node->threshold = threshold;
    node->self_ = SavedTensor(x, false);
    autograd::set_history(out, node);
  }
  return out;
}

// gelu(approximate='tanh'): 0.5 x (1 + tanh(u)) with u = sqrt(2/pi) (x + 0.044715 x^3);
// its derivative 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2), t = tanh(u).
namespace {
constexpr double kGeluTanhScale = 0.7978845608028654, kGeluTanhCubic = 0.044715;
Tensor gelu_tanh_inner(const Tensor& x) { return tanh(mul(add(x, mul(pow(x, Scalar(3)), kGeluTanhCubic)), kGeluTanhScale)); }
}  // namespace

struct GeluTanhBackward0 : Node {
  SavedTensor self_;
  TensorList apply(TensorList&& g) override {
    Tensor x = self_.unpack(*this);
    Tensor t = gelu_tanh_inner(x);
    Tensor du = mul(add(mul(mul(x, x), 3 * kGeluTanhCubic), 1), kGeluTanhScale);
    Tensor d = add(mul(add(t, 1), 0.5), mul(mul(x, rsub(mul(t, t), 1)), mul(du, 0.5)));
    return {mul(g[0], d)};
  }
  void release_saved() override { self_.release(); }
  std::vector<std::pair<std::string, Tensor>> saved_tensors_for_inspection() override {
    return {{"self", self_.unpack(*this)}};
  }
  std::string name() const override { return "GeluBackward0"; }
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
    auto node = autograd::make_grad_node<GeluTanhBackward0>({&x});
    node->self_ = SavedTensor(x, false);
    autograd::set_history(out, node);
  }
  return out;
}

}  // namespace cg::ops
