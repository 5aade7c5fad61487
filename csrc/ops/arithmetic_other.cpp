// Binary ops beyond the four operations and pow: maximum/minimum, atan2, remainder, floor_divide,
// comparisons, where and clamp (forward and VJP side by side).
#include "ops/arithmetic.h"

#include <cmath>

#include "ops/arithmetic_internal.h"
#include "ops/common.h"
#include "ops/inplace.h"
#include "ops/ops.h"

namespace cg::ops {

using namespace arith;
using autograd::any_requires_grad;

// ---- maximum / minimum / atan2 / remainder / floor_divide -----------------------------------
struct MaxMinBackward : BackwardNode<MaxMinBackward> {  // ties split the gradient evenly, as in PyTorch
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
  TensorList jvp(const TensorList& t) override {  // the winner's tangent; ties take the mean
    Tensor a = self_.unpack(*this), b = other_.unpack(*this);
    const DType dt = t[0].defined() ? t[0].dtype() : t[1].dtype();
    Tensor ta = t[0].defined() ? t[0] : Tensor::zeros({}, dt), tb = t[1].defined() ? t[1] : Tensor::zeros({}, dt);
    Tensor a_wins = compare(static_cast<int>(is_max ? Binary::Gt : Binary::Lt), a, b);
    Tensor tie = compare(static_cast<int>(Binary::Eq), a, b);
    return {where(tie, mul(add(ta, tb), 0.5), where(a_wins, ta, tb))};
  }
  std::string name() const override { return is_max ? "MaximumBackward0" : "MinimumBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("self", &MaxMinBackward::self_),
                           saved("other", &MaxMinBackward::other_));
  }
};

static Tensor max_min(const Tensor& a, const Tensor& b, bool is_max) {
  DType dt = result_type(a, b);
  Tensor out = binary_data(is_max ? Binary::Maximum : Binary::Minimum, a, b, dt, dt);
  if (any_requires_grad({&a, &b})) {
    auto node = MaxMinBackward::make({&a, &b});
    node->self = InputInfo(a);
    node->other = InputInfo(b);
    node->is_max = is_max;
    node->self_ = SavedTensor(a, false);
    node->other_ = SavedTensor(b, false);
    record(node, out);
  }
  return out;
}
Tensor maximum(const Tensor& a, const Tensor& b) { return max_min(a, b, true); }
Tensor minimum(const Tensor& a, const Tensor& b) { return max_min(a, b, false); }

struct Atan2Backward0 : BackwardNode<Atan2Backward0> {
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
  TensorList jvp(const TensorList& t) override {  // (t_a b - t_b a) / (a^2 + b^2)
    Tensor a = self_.unpack(*this), b = other_.unpack(*this);
    Tensor num = tangent_sum(t[0].defined() ? mul(t[0], b) : Tensor(), t[1].defined() ? neg(mul(t[1], a)) : Tensor());
    return {div(num, add(mul(a, a), mul(b, b)))};
  }
  std::string name() const override { return "Atan2Backward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("self", &Atan2Backward0::self_),
                           saved("other", &Atan2Backward0::other_));
  }
};

Tensor atan2(const Tensor& a, const Tensor& b) {
  DType dt = div_type(result_type(a, b));
  Tensor out = binary_data(Binary::Atan2, a, b, dt, dt);
  if (any_requires_grad({&a, &b})) {
    auto node = Atan2Backward0::make({&a, &b});
    node->self = InputInfo(a);
    node->other = InputInfo(b);
    node->self_ = SavedTensor(a, false);
    node->other_ = SavedTensor(b, false);
    record(node, out);
  }
  return out;
}

// remainder(a, b) = a - floor(a/b) * b: gradient 1 for a, -floor(a/b) for b.
struct RemainderBackward : BackwardNode<RemainderBackward> {
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
  TensorList jvp(const TensorList& t) override {  // t_a - t_b floor(a / b)
    if (!t[1].defined()) return {t[0]};
    return {tangent_sum(t[0], neg(mul(t[1], floor_divide(self_.unpack(*this), other_.unpack(*this)))))};
  }
  std::string name() const override { return "RemainderBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("self", &RemainderBackward::self_),
                           saved("other", &RemainderBackward::other_));
  }
};

Tensor remainder(const Tensor& a, const Tensor& b) {
  DType dt = result_type(a, b);
  Tensor out = binary_data(Binary::Remainder, a, b, dt, dt);
  if (any_requires_grad({&a, &b})) {
    auto node = RemainderBackward::make({&a, &b});
    node->self = InputInfo(a);
    node->other = InputInfo(b);
    node->self_ = save_if(needs(b), a);
    node->other_ = save_if(needs(b), b);
    record(node, out);
  }
  return out;
}

Tensor remainder(const Tensor& a, Scalar b) {
  DType dt = result_type(a, b);
  Tensor out = scalar_data(Binary::Remainder, a, b, dt, dt);
  if (any_requires_grad({&a})) {
    auto node = ScalarAddBackward::make({&a});
    node->kind = ScalarAddBackward::Kind::Remainder;
    record(node, out);
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
struct WhereBackward0 : BackwardNode<WhereBackward0> {
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
  std::string name() const override { return "WhereBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("condition", &WhereBackward0::cond_));
  }
};

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  CG_CHECK(cond.dtype() == DType::Bool, "where expected condition to be a boolean tensor, but got a tensor with dtype ",
           cond.dtype() == DType::Int64 ? "Long" : cond.dtype() == DType::Float32 ? "Float" : "Double");
  DType dt = result_type(a, b);
  Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape()), b.shape());
  Tensor out = Tensor::empty(shape, dt);
  kernels::where(cond, cast_data(a, dt), cast_data(b, dt), out);
  if (any_requires_grad({&a, &b})) {
    auto node = WhereBackward0::make({&cond, &a, &b});
    node->self = InputInfo(a);
    node->other = InputInfo(b);
    node->cond_ = SavedTensor(cond, false);
    record(node, out);
  }
  return out;
}

struct ClampBackward1 : BackwardNode<ClampBackward1> {
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
  std::string name() const override { return "ClampBackward1"; }
  static auto saved_fields() {
    return std::make_tuple(saved("self", &ClampBackward1::self_),
                           saved("min", &ClampBackward1::lo),
                           saved("max", &ClampBackward1::hi));
  }
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
    auto node = ClampBackward1::make({&x});
    node->lo = lo;
    node->hi = hi;
    node->self_ = SavedTensor(x, false);
    record(node, out);
  }
  return out;
}

// Tensor bounds: each of x, min, max gets the gradient where it is the value chosen (min > max picks max).
struct ClampBackward0 : BackwardNode<ClampBackward0> {
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
  TensorList jvp(const TensorList& t) override {  // each tangent where its tensor is the value chosen (the VJP's masks)
    Tensor x = self_.unpack(*this);
    Tensor lo = has_lo ? min_.unpack(*this) : Tensor(), hi = has_hi ? max_.unpack(*this) : Tensor();
    auto cmp = [](Binary op, const Tensor& a, const Tensor& b) { return compare(static_cast<int>(op), a, b); };
    auto land = [&](const Tensor& a, const Tensor& b) { return cmp(Binary::LogicalAnd, a, b); };
    Tensor out;
    auto take = [&](const Tensor& pick, const Tensor& tangent) {
      if (!tangent.defined()) return;
      Tensor part = where(pick, tangent, Tensor::zeros({}, tangent.dtype()));
      out = tangent_sum(out, part);
    };
    if (t[0].defined()) {
      Tensor pass;
      if (has_lo) pass = cmp(Binary::Ge, x, lo);
      if (has_hi) pass = pass.defined() ? land(pass, cmp(Binary::Le, x, hi)) : cmp(Binary::Le, x, hi);
      take(pass, t[0]);
    }
    if (has_lo && t[1].defined()) {
      Tensor pick = cmp(Binary::Lt, x, lo);
      if (has_hi) pick = land(pick, cmp(Binary::Lt, lo, hi));
      take(pick, t[1]);
    }
    if (has_hi && t[2].defined()) {
      Tensor pick = cmp(Binary::Gt, x, hi);
      if (has_lo) pick = cmp(Binary::LogicalOr, pick, cmp(Binary::Lt, hi, lo));
      take(pick, t[2]);
    }
    return {out};
  }
  std::string name() const override { return "ClampBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("self", &ClampBackward0::self_),
                           saved("min", &ClampBackward0::min_),
                           saved("max", &ClampBackward0::max_));
  }
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
    auto node = ClampBackward0::make({&x, &lo, &hi});
    node->self = InputInfo(x);
    node->self_ = SavedTensor(x, false);
    node->has_lo = lo.defined();
    node->has_hi = hi.defined();
    if (lo.defined()) { node->lo_info = InputInfo(lo); node->min_ = SavedTensor(lo, false); }
    if (hi.defined()) { node->hi_info = InputInfo(hi); node->max_ = SavedTensor(hi, false); }
    record(node, out);
  }
  return out;
}

}  // namespace cg::ops
