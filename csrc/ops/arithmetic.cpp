// Binary arithmetic: forward kernels and VJPs side by side. Gradients of broadcast inputs are
// reduced back by sum_to; each input is saved only when the *other* input needs a gradient.
#include "ops/arithmetic.h"

#include <cmath>

#include "kernels/elementwise.h"
#include "ops/common.h"
#include "ops/inplace.h"
#include "ops/ops.h"

namespace cg::ops {

using kernels::Binary;
using autograd::any_requires_grad;
using autograd::make_grad_node;
using autograd::set_history;

namespace {

Tensor binary_data(Binary op, const Tensor& a, const Tensor& b, DType compute, DType out_dtype) {
  Shape shape = broadcast_shapes(a.shape(), b.shape());
  Tensor out = Tensor::empty(shape, out_dtype);
  kernels::binary(op, cast_data(a, compute), cast_data(b, compute), out);
  return out;
}

Tensor scalar_data(Binary op, const Tensor& a, Scalar s, DType compute, DType out_dtype, bool scalar_first = false) {
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
Tensor reduce(const Tensor& g, const InputInfo& info) { return sum_to(g, info.shape, info.dtype); }

// -s and b * alpha keeping the Python kind (an int stays an int, so int tensors stay int).
Scalar negated(Scalar s) { return s.kind() == ScalarKind::Float ? Scalar(-s.to_double()) : Scalar(-s.to_int()); }
Scalar scaled(Scalar b, Scalar alpha) {
  return b.kind() == ScalarKind::Float || alpha.kind() == ScalarKind::Float ? Scalar(b.to_double() * alpha.to_double())
                                                                              : Scalar(b.to_int() * alpha.to_int());
}

// PyTorch refuses `-` when either side is bool.
void check_sub_bool(bool a_bool, bool b_bool) {
  CG_CHECK(!(a_bool && b_bool), "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                                "`logical_xor()` operator instead.");
  CG_CHECK(!(a_bool || b_bool), "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying "
                                "to invert a mask, use the `~` or `logical_not()` operator instead.");
}

}  // namespace

// ---- add / sub -------------------------------------------------------------------------------
struct AddBackward0 : Node {
  InputInfo self, other;
  Scalar alpha = 1;
  std::string node_name = "AddBackward0";
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
  std::string name() const override { return node_name; }
};

Tensor add(const Tensor& a, const Tensor& b, Scalar alpha) {
  DType dt = result_type(a, b);
  Tensor out;
  if (alpha.to_double() == 1.0) {
    out = binary_data(Binary::Add, a, b, dt, dt);
  } else {
    out = Tensor::empty(broadcast_shapes(a.shape(), b.shape()), dt);
    kernels::add_scaled(cast_data(a, dt), cast_data(b, dt), alpha.to_double(), out);
  }
  if (any_requires_grad({&a, &b})) {
    auto node = make_grad_node<AddBackward0>({&a, &b});
    node->self = InputInfo(a);
    node->other = InputInfo(b);
    node->alpha = alpha;
    set_history(out, node);
  }
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b, Scalar alpha) {
  check_sub_bool(a.dtype() == DType::Bool, b.dtype() == DType::Bool);
  DType dt = result_type(a, b);
  Tensor out = Tensor::empty(broadcast_shapes(a.shape(), b.shape()), dt);
  kernels::add_scaled(cast_data(a, dt), cast_data(b, dt), -alpha.to_double(), out);
  if (any_requires_grad({&a, &b})) {
    auto node = make_grad_node<AddBackward0>({&a, &b});
    node->self = InputInfo(a);
    node->other = InputInfo(b);
    node->alpha = -alpha.to_double();
    node->node_name = "SubBackward0";
    set_history(out, node);
  }
  return out;
}

struct ScalarAddBackward : Node {
  InputInfo self;
  double sign = 1;
  std::string node_name;
  TensorList apply(TensorList&& g) override {
    return {sign == 1 ? reduce(g[0], self) : reduce(neg(g[0]), self)};
  }
  TensorList jvp(const TensorList& t) override { return {sign == 1 ? t[0] : neg(t[0])}; }
  std::string name() const override { return node_name; }
};

Tensor add(const Tensor& a, Scalar b, Scalar alpha) {
  DType dt = result_type(a, b);
  Tensor out = scalar_data(Binary::Add, a, scaled(b, alpha), dt, dt);
  if (any_requires_grad({&a})) {
    auto node = make_grad_node<ScalarAddBackward>({&a});
    node->next_edges.emplace_back();  // PyTorch wraps the number as a second input: (None, 0)
    node->self = InputInfo(a);
    node->node_name = "AddBackward0";
    set_history(out, node);
  }
  return out;
}

Tensor sub(const Tensor& a, Scalar b, Scalar alpha) {
  check_sub_bool(a.dtype() == DType::Bool, b.kind() == ScalarKind::Bool);
  Tensor out = add(a, negated(b), alpha);
  if (autograd::requires_grad(out) && autograd::GradMode::is_enabled())
    static_cast<ScalarAddBackward*>(autograd::grad_fn(out).get())->node_name = "SubBackward0";
  return out;
}

Tensor rsub(const Tensor& a, Scalar b) {
  check_sub_bool(a.dtype() == DType::Bool, b.kind() == ScalarKind::Bool);
  DType dt = result_type(a, b);
  Tensor out = scalar_data(Binary::Sub, a, b, dt, dt, /*scalar_first=*/true);
  if (any_requires_grad({&a})) {
    auto node = make_grad_node<ScalarAddBackward>({&a});
    node->self = InputInfo(a);
    node->sign = -1;
    node->node_name = "RsubBackward1";
    set_history(out, node);
  }
  return out;
}

// ---- mul -------------------------------------------------------------------------------------
struct MulBackward0 : Node {
  SavedTensor self_, other_;
  InputInfo self, other;
  TensorList apply(TensorList&& g) override {
    TensorList r(2);
    if (should_compute_output(0)) r[0] = reduce(mul(g[0], other_.unpack(*this)), self);
    if (should_compute_output(1)) r[1] = reduce(mul(g[0], self_.unpack(*this)), other);
    return r;
  }
  TensorList jvp(const TensorList& t) override {  // t_a b + a t_b
    return {tangent_sum(t[0].defined() ? mul(t[0], other_.unpack(*this)) : Tensor(),
                        t[1].defined() ? mul(self_.unpack(*this), t[1]) : Tensor())};
  }
  void release_saved() override { self_.release(); other_.release(); }
  std::vector<std::pair<std::string, Tensor>> saved_tensors_for_inspection() override {
    return {{"self", self_.unpack(*this)}, {"other", other_.unpack(*this)}};
  }
  std::string name() const override { return "MulBackward0"; }
};

Tensor mul(const Tensor& a, const Tensor& b) {
  DType dt = result_type(a, b);
  Tensor out = binary_data(Binary::Mul, a, b, dt, dt);
  if (any_requires_grad({&a, &b})) {
    auto node = make_grad_node<MulBackward0>({&a, &b});
    node->self = InputInfo(a);
    node->other = InputInfo(b);
    node->self_ = save_if(needs(b), a);
    node->other_ = save_if(needs(a), b);
    set_history(out, node);
  }
  return out;
}

// x * c saves only the constant.
struct MulScalarBackward : Node {
  InputInfo self;
  Scalar factor = 1;
  std::string node_name = "MulBackward0";
  TensorList apply(TensorList&& g) override { return {reduce(mul(g[0], factor), self)}; }
  TensorList jvp(const TensorList& t) override { return {mul(t[0], factor)}; }
  std::string name() const override { return node_name; }
};

Tensor mul(const Tensor& a, Scalar b) {
  DType dt = result_type(a, b);
  Tensor out = scalar_data(Binary::Mul, a, b, dt, dt);
  if (any_requires_grad({&a})) {
    auto node = make_grad_node<MulScalarBackward>({&a});
    node->next_edges.emplace_back();  // PyTorch wraps the number as a second input: (None, 0)
    node->self = InputInfo(a);
    node->factor = b;
    set_history(out, node);
  }
  return out;
}

// ---- div -------------------------------------------------------------------------------------
static DType div_type(DType t) { return is_floating(t) ? t : DType::Float32; }

struct DivBackward0 : Node {
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
  void release_saved() override { self_.release(); other_.release(); }
  std::vector<std::pair<std::string, Tensor>> saved_tensors_for_inspection() override {
    return {{"self", self_.unpack(*this)}, {"other", other_.unpack(*this)}};
  }
  std::string name() const override { return "DivBackward0"; }
};

Tensor div(const Tensor& a, const Tensor& b) {
  DType dt = div_type(result_type(a, b));
  Tensor out = binary_data(Binary::Div, a, b, dt, dt);
  if (any_requires_grad({&a, &b})) {
    auto node = make_grad_node<DivBackward0>({&a, &b});
    node->self = InputInfo(a);
    node->other = InputInfo(b);
    node->self_ = save_if(needs(b), a);
    node->other_ = SavedTensor(b, false);
    set_history(out, node);
  }
  return out;
}

Tensor div(const Tensor& a, Scalar b) {
  DType dt = div_type(result_type(a, b));
  Tensor out = scalar_data(Binary::Div, a, b, dt, dt);
  if (any_requires_grad({&a})) {
    auto node = make_grad_node<MulScalarBackward>({&a});
    node->next_edges.emplace_back();  // PyTorch wraps the number as a second input: (None, 0)
    node->self = InputInfo(a);
    node->factor = 1.0 / b.to_double();
    node->node_name = "DivBackward0";
    set_history(out, node);
  }
  return out;
}

struct RdivBackward : Node {  // c / x: d/dx = -c / x^2 = -out / x
  SavedTensor self_, result_;
  InputInfo self;
  TensorList apply(TensorList&& g) override {
    Tensor x = self_.unpack(*this), y = result_.unpack(*this);
    return {reduce(neg(div(mul(g[0], y), x)), self)};
  }
  void release_saved() override { self_.release(); result_.release(); }
  std::string name() const override { return "MulBackward0"; }  // PyTorch computes c / x as x.reciprocal() * c
};

Tensor rdiv(const Tensor& a, Scalar b) {
  DType dt = div_type(result_type(a, b));
  Tensor out = scalar_data(Binary::Div, a, b, dt, dt, true);
  if (any_requires_grad({&a})) {
    auto node = make_grad_node<RdivBackward>({&a});
    node->self = InputInfo(a);
    node->self_ = SavedTensor(a, false);
    set_history(out, node);
    node->result_ = SavedTensor(out, true);
  }
  return out;
}

// ---- pow -------------------------------------------------------------------------------------
struct PowBackward0 : Node {  // x ** c
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
  void release_saved() override { self_.release(); }
  std::vector<std::pair<std::string, Tensor>> saved_tensors_for_inspection() override {
    return {{"self", self_.unpack(*this)}};
  }
  std::string name() const override { return "PowBackward0"; }
};

static const char* kPowBool = "\"pow\" not implemented for 'Bool'";

Tensor pow(const Tensor& a, Scalar b) {
  DType dt = result_type(a, b);
  if (dt == DType::Bool) return b.to_int() ? clone(autograd::detach(a)) : Tensor::full(a.shape(), true, DType::Bool);
  if (!is_floating(dt) && b.kind() == ScalarKind::Int && b.to_int() < 0)
    throw RuntimeError("Integers to negative integer powers are not allowed.");
  Tensor out = scalar_data(Binary::Pow, a, b, dt, dt);
  if (any_requires_grad({&a})) {
    auto node = make_grad_node<PowBackward0>({&a});
    node->self = InputInfo(a);
    node->exponent = b;
    node->self_ = SavedTensor(a, false);
    set_history(out, node);
  }
  return out;
}

struct PowBackward1 : Node {  // x ** y
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
  void release_saved() override { self_.release(); exponent_.release(); result_.release(); }
  std::string name() const override { return "PowBackward1"; }
};

Tensor pow(const Tensor& a, const Tensor& b) {
  DType dt = result_type(a, b);
  CG_CHECK(dt != DType::Bool, kPowBool);
  Tensor out = binary_data(Binary::Pow, a, b, dt, dt);
  if (any_requires_grad({&a, &b})) {
    auto node = make_grad_node<PowBackward1>({&a, &b});
    node->self = InputInfo(a);
    node->exponent = InputInfo(b);
    node->self_ = SavedTensor(a, false);
    node->exponent_ = SavedTensor(b, false);
    set_history(out, node);
    node->result_ = save_if(needs(b), out, true);
  }
  return out;
}

struct PowBackward2 : Node {  // c ** y
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
  void release_saved() override { result_.release(); }
  std::string name() const override { return "PowBackward2"; }
};

Tensor pow(Scalar a, const Tensor& b) {
  DType dt = result_type(b, a);
  CG_CHECK(dt != DType::Bool, kPowBool);
  Tensor out = scalar_data(Binary::Pow, b, a, dt, dt, true);
  if (any_requires_grad({&b})) {
    auto node = make_grad_node<PowBackward2>({&b});
    node->exponent = InputInfo(b);
    node->base = a.to_double();
    set_history(out, node);
    node->result_ = SavedTensor(out, true);
  }
  return out;
}

// ---- maximum / minimum / atan2 / remainder / floor_divide -----------------------------------
struct MaxMinBackward : Node {  // ties split the gradient evenly, as in PyTorch
  SavedTensor self_, other_;
  InputInfo self, other;
  bool is_max = true;
  TensorList apply(TensorList&& g) override {
    Tensor a = self_.unpack(*this), b = other_.unpack(*this);
    Tensor a_wins = compare(static_cast<int>(is_max ? Binary::Gt : Binary::Lt), a, b);
    Tensor tie = compare(static_cast<int>(Binary::Eq), a, b);
    Tensor half = mul(g[0], 0.5);
    Tensor zero = Tensor::zeros({}, g[0].dtype());
    TensorList r(2);
    if (should_compute_output(0)) r[0] = reduce(where(tie, half, where(a_wins, g[0], zero)), self);
    if (should_compute_output(1)) r[1] = reduce(where(tie, half, where(a_wins, zero, g[0])), other);
    return r;
  }
  void release_saved() override { self_.release(); other_.release(); }
  std::string name() const override { return is_max ? "MaximumBackward0" : "MinimumBackward0"; }
};

static Tensor max_min(const Tensor& a, const Tensor& b, bool is_max) {
  DType dt = result_type(a, b);
  Tensor out = binary_data(is_max ? Binary::Maximum : Binary::Minimum, a, b, dt, dt);
  if (any_requires_grad({&a, &b})) {
    auto node = make_grad_node<MaxMinBackward>({&a, &b});
    node->self = InputInfo(a);
    node->other = InputInfo(b);
    node->is_max = is_max;
    node->self_ = SavedTensor(a, false);
    node->other_ = SavedTensor(b, false);
    set_history(out, node);
  }
  return out;
}
Tensor maximum(const Tensor& a, const Tensor& b) { return max_min(a, b, true); }
Tensor minimum(const Tensor& a, const Tensor& b) { return max_min(a, b, false); }

struct Atan2Backward0 : Node {
  SavedTensor self_, other_;
  InputInfo self, other;
  TensorList apply(TensorList&& g) override {
    Tensor a = self_.unpack(*this), b = other_.unpack(*this);
    Tensor denom = add(mul(a, a), mul(b, b));
    TensorList r(2);
    if (should_compute_output(0)) r[0] = reduce(div(mul(g[0], b), denom), self);
    if (should_compute_output(1)) r[1] = reduce(div(mul(neg(g[0]), a), denom), other);
    return r;
  }
  void release_saved() override { self_.release(); other_.release(); }
  std::string name() const override { return "Atan2Backward0"; }
};

Tensor atan2(const Tensor& a, const Tensor& b) {
  DType dt = div_type(result_type(a, b));
  Tensor out = binary_data(Binary::Atan2, a, b, dt, dt);
  if (any_requires_grad({&a, &b})) {
    auto node = make_grad_node<Atan2Backward0>({&a, &b});
    node->self = InputInfo(a);
    node->other = InputInfo(b);
    node->self_ = SavedTensor(a, false);
    node->other_ = SavedTensor(b, false);
    set_history(out, node);
  }
  return out;
}

// remainder(a, b) = a - floor(a/b) * b: gradient 1 for a, -floor(a/b) for b.
struct RemainderBackward : Node {
  SavedTensor self_, other_;
  InputInfo self, other;
  TensorList apply(TensorList&& g) override {
    TensorList r(2);
    if (should_compute_output(0)) r[0] = reduce(g[0], self);
    if (should_compute_output(1)) {
      Tensor a = self_.unpack(*this), b = other_.unpack(*this);
      r[1] = reduce(mul(neg(g[0]), floor_divide(a, b)), other);
    }
    return r;
  }
  void release_saved() override { self_.release(); other_.release(); }
  std::string name() const override { return "RemainderBackward0"; }
};

Tensor remainder(const Tensor& a, const Tensor& b) {
  DType dt = result_type(a, b);
  Tensor out = binary_data(Binary::Remainder, a, b, dt, dt);
  if (any_requires_grad({&a, &b})) {
    auto node = make_grad_node<RemainderBackward>({&a, &b});
    node->self = InputInfo(a);
    node->other = InputInfo(b);
    node->self_ = save_if(needs(b), a);
    node->other_ = save_if(needs(b), b);
    set_history(out, node);
  }
  return out;
}

Tensor remainder(const Tensor& a, Scalar b) {
  DType dt = result_type(a, b);
  Tensor out = scalar_data(Binary::Remainder, a, b, dt, dt);
  if (any_requires_grad({&a})) {
    auto node = make_grad_node<ScalarAddBackward>({&a});
    node->self = InputInfo(a);
    node->node_name = "RemainderBackward0";
    set_history(out, node);
  }
  return out;
}

// Piecewise constant: no gradient flows (PyTorch returns zeros; results here do not require grad).
Tensor floor_divide(const Tensor& a, const Tensor& b) {
  DType dt = result_type(a, b);
  return binary_data(Binary::FloorDivide, a, b, dt, dt);
}
Tensor floor_divide(const Tensor& a, Scalar b) {
  DType dt = result_type(a, b);
  return scalar_data(Binary::FloorDivide, a, b, dt, dt);
}

// ---- comparisons -----------------------------------------------------------------------------
Tensor compare(int op, const Tensor& a, const Tensor& b) {
  return binary_data(static_cast<Binary>(op), a, b, result_type(a, b), DType::Bool);
}
Tensor compare(int op, const Tensor& a, Scalar b) {
  return scalar_data(static_cast<Binary>(op), a, b, result_type(a, b), DType::Bool);
}

// ---- where / clamp ---------------------------------------------------------------------------
struct WhereBackward0 : Node {
  SavedTensor cond_;
  InputInfo self, other;
  TensorList apply(TensorList&& g) override {
    Tensor c = cond_.unpack(*this);
    Tensor zero = Tensor::zeros({}, g[0].dtype());
    TensorList r(3);
    if (should_compute_output(1)) r[1] = reduce(where(c, g[0], zero), self);
    if (should_compute_output(2)) r[2] = reduce(where(c, zero, g[0]), other);
    return r;
  }
  TensorList jvp(const TensorList& t) override {  // tangents picked like the values (t[0]: the mask)
    Tensor zero = Tensor::zeros({}, t[1].defined() ? t[1].dtype() : t[2].dtype());
    return {where(cond_.unpack(*this), t[1].defined() ? t[1] : zero, t[2].defined() ? t[2] : zero)};
  }
  void release_saved() override { cond_.release(); }
  std::string name() const override { return "WhereBackward0"; }
};

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  CG_CHECK(cond.dtype() == DType::Bool, "where expected condition to be a boolean tensor, but got a tensor with dtype ",
           cond.dtype() == DType::Int64 ? "Long" : cond.dtype() == DType::Float32 ? "Float" : "Double");
  DType dt = result_type(a, b);
  Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape()), b.shape());
  Tensor out = Tensor::empty(shape, dt);
  kernels::where(cond, cast_data(a, dt), cast_data(b, dt), out);
  if (any_requires_grad({&a, &b})) {
    auto node = make_grad_node<WhereBackward0>({&cond, &a, &b});
    node->self = InputInfo(a);
    node->other = InputInfo(b);
    node->cond_ = SavedTensor(cond, false);
    set_history(out, node);
  }
  return out;
}

struct ClampBackward1 : Node {
  SavedTensor self_;
  std::optional<double> lo, hi;
  TensorList apply(TensorList&& g) override {
    Tensor x = self_.unpack(*this);
    Tensor inside = Tensor::full(x.shape(), true, DType::Bool);
    // Gradient passes where lo <= x <= hi (PyTorch's convention at the bounds).
    if (lo) inside = compare(static_cast<int>(Binary::LogicalAnd), inside, compare(static_cast<int>(Binary::Ge), x, Scalar(*lo)));
    if (hi) inside = compare(static_cast<int>(Binary::LogicalAnd), inside, compare(static_cast<int>(Binary::Le), x, Scalar(*hi)));
    return {where(inside, g[0], Tensor::zeros({}, g[0].dtype()))};
  }
  TensorList jvp(const TensorList& t) override { return apply(TensorList{t[0]}); }  // diagonal Jacobian
  void release_saved() override { self_.release(); }
  std::string name() const override { return "ClampBackward1"; }
};

Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi) {
  CG_CHECK(lo || hi, "torch.clamp: At least one of 'min' or 'max' must not be None");
  auto is_int = [](double v) { return v == static_cast<double>(static_cast<int64_t>(v)); };
  DType dt = x.dtype();
  if ((lo && !is_int(*lo)) || (hi && !is_int(*hi))) dt = promote_with_scalar(dt, ScalarKind::Float);
  else if (dt == DType::Bool) dt = DType::Int64;
  Tensor out = Tensor::empty(x.shape(), dt);
  kernels::clamp(cast_data(x, dt), lo, hi, out);
  if (any_requires_grad({&x})) {
    auto node = make_grad_node<ClampBackward1>({&x});
    node->lo = lo;
    node->hi = hi;
    node->self_ = SavedTensor(x, false);
    set_history(out, node);
  }
  return out;
}

// Tensor bounds: each of x, min, max gets the gradient where it is the value chosen (min > max picks max).
struct ClampBackward0 : Node {
  SavedTensor self_, min_, max_;
  InputInfo self, lo_info, hi_info;
  bool has_lo = false, has_hi = false;
  TensorList apply(TensorList&& g) override {
    Tensor x = self_.unpack(*this);
    Tensor lo = has_lo ? min_.unpack(*this) : Tensor(), hi = has_hi ? max_.unpack(*this) : Tensor();
    auto cmp = [](Binary op, const Tensor& a, const Tensor& b) { return compare(static_cast<int>(op), a, b); };
    auto land = [&](const Tensor& a, const Tensor& b) { return cmp(Binary::LogicalAnd, a, b); };
    Tensor zero = Tensor::zeros({}, g[0].dtype());
    TensorList r(3);
    if (should_compute_output(0)) {
      Tensor pass;
      if (has_lo) pass = cmp(Binary::Ge, x, lo);
      if (has_hi) pass = pass.defined() ? land(pass, cmp(Binary::Le, x, hi)) : cmp(Binary::Le, x, hi);
      r[0] = reduce(where(pass, g[0], zero), self);
    }
    if (should_compute_output(1)) {
      Tensor pick = cmp(Binary::Lt, x, lo);
      if (has_hi) pick = land(pick, cmp(Binary::Lt, lo, hi));
      r[1] = reduce(where(pick, g[0], zero), lo_info);
    }
    if (should_compute_output(2)) {
      Tensor pick = cmp(Binary::Gt, x, hi);
      if (has_lo) pick = cmp(Binary::LogicalOr, pick, cmp(Binary::Lt, hi, lo));
      r[2] = reduce(where(pick, g[0], zero), hi_info);
    }
    return r;
  }
  void release_saved() override { self_.release(); min_.release(); max_.release(); }
  std::string name() const override { return "ClampBackward0"; }
};

Tensor clamp(const Tensor& x, const Tensor& lo, const Tensor& hi) {
  CG_CHECK(lo.defined() || hi.defined(), "torch.clamp: At least one of 'min' or 'max' must not be None");
  Tensor out;
  {
    autograd::GradModeGuard no_grad(false);
    out = x;
    if (lo.defined()) out = maximum(out, lo);
    if (hi.defined()) out = minimum(out, hi);
  }
  if (any_requires_grad({&x, &lo, &hi})) {
    auto node = make_grad_node<ClampBackward0>({&x, &lo, &hi});
    node->self = InputInfo(x);
    node->self_ = SavedTensor(x, false);
    node->has_lo = lo.defined();
    node->has_hi = hi.defined();
    if (lo.defined()) { node->lo_info = InputInfo(lo); node->min_ = SavedTensor(lo, false); }
    if (hi.defined()) { node->hi_info = InputInfo(hi); node->max_ = SavedTensor(hi, false); }
    set_history(out, node);
  }
  return out;
}

// ---- fused gradient ops ----------------------------------------------------------------------
// One kernel pass when nothing records; the composed form when a higher-order graph is wanted.
Tensor tanh_backward(const Tensor& grad, const Tensor& y) {
  if (any_requires_grad({&grad, &y})) return mul(grad, rsub(mul(y, y), 1));
  Tensor out = Tensor::empty(broadcast_shapes(grad.shape(), y.shape()), grad.dtype());
  kernels::tanh_backward(grad, cast_data(y, grad.dtype()), out);
  return out;
}

Tensor sigmoid_backward(const Tensor& grad, const Tensor& y) {
  if (any_requires_grad({&grad, &y})) return mul(grad, mul(y, rsub(y, 1)));
  Tensor out = Tensor::empty(broadcast_shapes(grad.shape(), y.shape()), grad.dtype());
  kernels::sigmoid_backward(grad, cast_data(y, grad.dtype()), out);
  return out;
}

namespace {
struct ZeroGradBackward : Node {
  Shape shape;
  DType dtype = DType::Float32;
  std::string label;
  TensorList apply(TensorList&&) override { return {Tensor::zeros(shape, dtype)}; }
  std::string name() const override { return label; }
};
}  // namespace

Tensor zero_grad_through(const Tensor& result, const autograd::Edge& edge, const Shape& shape, DType dtype,
                         const char* node_name) {
  if (!autograd::GradMode::is_enabled() || !edge.valid() || autograd::requires_grad(result)) return result;
  auto node = autograd::make_node<ZeroGradBackward>();
  node->next_edges.push_back(edge);
  node->shape = shape;
  node->dtype = dtype;
  node->label = node_name;
  Tensor out = autograd::detach(result);
  set_history(out, node);
  return out;
}

void link_fused_grads(autograd::TensorList& grads, const autograd::Node& node, size_t slot, const Shape& shape, DType dtype,
                      const char* node_name) {
  if (!autograd::GradMode::is_enabled() || slot >= node.next_edges.size() || !node.next_edges[slot].valid()) return;
  for (Tensor& g : grads)
    if (g.defined()) g = zero_grad_through(g, node.next_edges[slot], shape, dtype, node_name);
}

Tensor threshold_backward(const Tensor& grad, const Tensor& x, double threshold) {
  if (any_requires_grad({&grad, &x})) {
    Tensor pass = compare(static_cast<int>(Binary::Gt), x, Scalar(threshold));
    Tensor r = where(pass, grad, Tensor::zeros({}, grad.dtype()));
    return autograd::requires_grad(x) ? zero_grad_through(r, autograd::gradient_edge(x), x.shape(), x.dtype(),
                                                          "ThresholdBackwardBackward0")
                                      : r;
  }
  Tensor out = Tensor::empty(broadcast_shapes(grad.shape(), x.shape()), grad.dtype());
  kernels::threshold_backward(grad, cast_data(x, grad.dtype()), threshold, out);
  return out;
}

// ---- in-place forms --------------------------------------------------------------------------
namespace {
// Runs `fast` (a kernel writing into self) when nothing records, else `recorded` + commit.
template <typename Fast, typename Recorded>
Tensor& inplace(Tensor& self, std::initializer_list<const Tensor*> others, DType result_dtype, const Fast& fast,
                const Recorded& recorded) {
  for (const Tensor* o : others) {  // the result is written into self: it may not grow
    Shape b = broadcast_shapes(self.shape(), o->shape());
    CG_CHECK(b == self.shape(), "output with shape ", shape_str(self.shape()), " doesn't match the broadcast shape ",
             shape_str(b));
  }
  check_can_cast(result_dtype, self.dtype());
  if (inplace_records(self, others)) {
    commit_inplace(self, to_dtype(recorded(), self.dtype()));
  } else {
    fast();
    self.bump_version();
  }
  return self;
}
}  // namespace

Tensor& add_(Tensor& self, const Tensor& other, Scalar alpha) {
  return inplace(self, {&other}, result_type(self, other),
                 [&] { kernels::add_scaled(self, cast_data(other, self.dtype()), alpha.to_double(), self); },
                 [&] { return add(self, other, alpha); });
}
Tensor& add_(Tensor& self, Scalar other, Scalar alpha) {
  return inplace(self, {}, result_type(self, other),
                 [&] { kernels::binary_scalar(Binary::Add, self, scaled(other, alpha), self); },
                 [&] { return add(self, other, alpha); });
}
Tensor& sub_(Tensor& self, const Tensor& other, Scalar alpha) {
  check_sub_bool(self.dtype() == DType::Bool, other.dtype() == DType::Bool);
  return add_(self, other, negated(alpha));
}
Tensor& sub_(Tensor& self, Scalar other, Scalar alpha) {
  check_sub_bool(self.dtype() == DType::Bool, other.kind() == ScalarKind::Bool);
  return add_(self, negated(other), alpha);
}
Tensor& mul_(Tensor& self, const Tensor& other) {
  return inplace(self, {&other}, result_type(self, other),
                 [&] { kernels::binary(Binary::Mul, self, cast_data(other, self.dtype()), self); },
                 [&] { return mul(self, other); });
}
Tensor& mul_(Tensor& self, Scalar other) {
  return inplace(self, {}, result_type(self, other), [&] { kernels::binary_scalar(Binary::Mul, self, other, self); },
                 [&] { return mul(self, other); });
}
Tensor& div_(Tensor& self, const Tensor& other) {
  return inplace(self, {&other}, div_type(result_type(self, other)),
                 [&] { kernels::binary(Binary::Div, self, cast_data(other, self.dtype()), self); },
                 [&] { return div(self, other); });
}
Tensor& div_(Tensor& self, Scalar other) {
  return inplace(self, {}, div_type(result_type(self, other)),
                 [&] { kernels::binary_scalar(Binary::Div, self, other, self); }, [&] { return div(self, other); });
}
Tensor& pow_(Tensor& self, Scalar other) {
  return inplace(self, {}, result_type(self, other), [&] { kernels::binary_scalar(Binary::Pow, self, other, self); },
                 [&] { return pow(self, other); });
}
Tensor& pow_(Tensor& self, const Tensor& other) {
  return inplace(self, {&other}, result_type(self, other),
                 [&] { kernels::binary(Binary::Pow, self, cast_data(other, self.dtype()), self); },
                 [&] { return pow(self, other); });
}
Tensor& clamp_(Tensor& self, std::optional<double> lo, std::optional<double> hi) {
  return inplace(self, {}, self.dtype(), [&] { kernels::clamp(self, lo, hi, self); },
                 [&] { return clamp(self, lo, hi); });
}

struct CopyBackwards : Node {
  InputInfo src;
  TensorList apply(TensorList&& g) override {
    TensorList r(2);
    if (should_compute_output(0)) r[0] = Tensor::zeros(g[0].shape(), g[0].dtype());
    if (should_compute_output(1)) r[1] = reduce(g[0], src);
    return r;
  }
  std::string name() const override { return "CopyBackwards"; }
};

Tensor& copy_(Tensor& self, const Tensor& src) {
  broadcast_shapes(self.shape(), src.shape());
  CG_CHECK(broadcast_shapes(self.shape(), src.shape()) == self.shape(), "output with shape ", shape_str(self.shape()),
           " doesn't match the broadcast shape ", shape_str(broadcast_shapes(self.shape(), src.shape())));
  if (inplace_records(self, {&src})) {
    Tensor result;
    {
      // The new value: src broadcast to self's shape, with a node that routes gradients.
      result = Tensor::empty(self.shape(), self.dtype());
      kernels::copy(result, src);
      auto node = make_grad_node<CopyBackwards>({&self, &src});
      node->src = InputInfo(src);
      set_history(result, node);
    }
    commit_inplace(self, result);
  } else {
    if (src.storage() == self.storage()) {
      Tensor tmp = clone(detach(src));
      kernels::copy(self, tmp);
    } else {
      kernels::copy(self, src);
    }
    self.bump_version();
  }
  return self;
}

// Filling overwrites every element: the old values get a zero gradient.
struct FillBackward0 : Node {
  TensorList apply(TensorList&& g) override { return {Tensor::zeros(g[0].shape(), g[0].dtype())}; }
  std::string name() const override { return "FillBackward0"; }
};

Tensor& fill_(Tensor& self, Scalar value) {
  if (inplace_records(self, {}, true)) {
    Tensor result = Tensor::full(self.shape(), value, self.dtype());
    set_history(result, make_grad_node<FillBackward0>({&self}));
    commit_inplace(self, result);
  } else {
    kernels::fill(self, value);
    self.bump_version();
  }
  return self;
}

Tensor& zero_(Tensor& self) { return fill_(self, 0); }

}  // namespace cg::ops
