// The losses of nn.functional, each a single node named like PyTorch's whose VJP is a
// differentiable composition (so gradients of every order exist).
#include "ops/losses.h"

#include <cmath>

#include "ops/common.h"
#include "ops/ops.h"

namespace cg::ops {

using kernels::Binary;

Reduction reduction_from(const std::string& name) {
  if (name == "mean") return Reduction::Mean;
  if (name == "sum") return Reduction::Sum;
  if (name == "none") return Reduction::None;
  throw ValueError(name + " is not a valid value for reduction");
}

namespace {
Tensor reduce(const Tensor& t, Reduction r) {
  switch (r) {
    case Reduction::None: return t;
    case Reduction::Sum: return sum(t);
    case Reduction::Mean: return mean(t);
  }
  return t;
}
}  // namespace

// Each loss computes its value without recording and gets one node named like PyTorch's, whose
// VJP is written with differentiable ops (so second derivatives exist).
namespace {
// The gradient of the reduction: g itself (none), or g broadcast (sum) and scaled by 1/n (mean).
Tensor reduction_grad(const Tensor& g, Reduction r, int64_t n) {
  return r == Reduction::Mean ? div(g, static_cast<double>(std::max<int64_t>(n, 1))) : g;
}
}  // namespace

// The argument checks of nn.functional's losses, here so the fused kernels (chaingrad._C._*_loss)
// validate exactly as the public functions do.
namespace {
// The dtype both operands of a pointwise loss compute in (floating: its kernels have no integer
// or bool case), and optionally castable to the loss's output dtype.
DType loss_compute_dtype(const Tensor& input, const Tensor& target, const char* kernel,
                         std::optional<DType> out = std::nullopt) {
  const DType dt = promote_types(input.dtype(), target.dtype());
  CG_CHECK(!out || dtype_category(dt) <= dtype_category(*out), "result type ", scalar_type_name(dt),
           " can't be cast to the desired output type ", scalar_type_name(*out));
  if (!is_floating(dt)) throw_not_implemented(kernel, dt);
  return dt;
}

void refuse_grad(const char* function, const char* name, const std::optional<Tensor>& t) {
  CG_CHECK(!(t && autograd::GradMode::is_enabled() && autograd::requires_grad(*t)), "The function '", function,
           "' is not differentiable with respect to argument '", name, "'. This input cannot have requires_grad True.");
}

void check_class_weight(const std::optional<Tensor>& weight, int64_t classes, const Tensor& input) {
  if (!weight) return;
  CG_CHECK(weight->dim() == 1 && weight->numel() == classes, "weight tensor should be defined either for all ",
           classes, " classes or no classes but got weight tensor of shape: ", shape_str(weight->shape()));
  CG_CHECK(weight->dtype() == input.dtype(), "expected scalar type ", scalar_type_name(input.dtype()), " but found ",
           scalar_type_name(weight->dtype()));
}

bool all_in_unit_interval(const Tensor& t) {
  autograd::GradModeGuard no_grad(false);
  Tensor d = autograd::detach(t);
  Tensor ok = compare(static_cast<int>(Binary::LogicalAnd), compare(static_cast<int>(Binary::Ge), d, Scalar(0.0)),
                      compare(static_cast<int>(Binary::Le), d, Scalar(1.0)));
  return d.numel() == 0 || all(ok, std::nullopt, false).item_double() != 0;
}
}  // namespace

// The state every pointwise loss of (input, target) saves, and the one way its gradient `gd`
// (d loss / d input, before broadcasting) is handed to both operands.
struct PointwiseLossNode : BackwardNode<PointwiseLossNode> {
  SavedTensor self_, target_;
  Shape self_shape, target_shape;
  DType self_dtype = DType::Float32, target_dtype = DType::Float32;
  Reduction reduction = Reduction::Mean;
  int64_t n = 1;
  void save(const Tensor& input, const Tensor& target, Reduction r, int64_t numel) {
    self_ = SavedTensor(input, false);
    target_ = SavedTensor(target, false);
    self_shape = input.shape();
    target_shape = target.shape();
    self_dtype = input.dtype();
    target_dtype = target.dtype();
    reduction = r;
    n = numel;
  }
  TensorList input_and_target_grads(const Tensor& gd) {
    TensorList r(2);
    if (should_compute_output(0)) r[0] = sum_to(gd, self_shape, self_dtype);
    if (should_compute_output(1)) r[1] = sum_to(neg(gd), target_shape, target_dtype);
    return r;
  }
  // Forward mode: `slope` is d loss / d input elementwise (d / d target is its negation), so the
  // tangent is slope (t_input - t_target), reduced like the loss.
  Tensor pointwise_jvp(const Tensor& slope, const TensorList& t) const {
    Tensor d = !t[1].defined() ? t[0] : t[0].defined() ? sub(t[0], t[1]) : neg(t[1]);
    return reduce(mul(slope, d), reduction);
  }
  static auto saved_fields() {
    return std::make_tuple(saved("self", &PointwiseLossNode::self_),
                           saved("target", &PointwiseLossNode::target_),
                           saved("reduction", [](const PointwiseLossNode& n) { return SavedValue(static_cast<int64_t>(n.reduction)); }));
  }
};

struct MseLossBackward0 : PointwiseLossNode {
  TensorList apply(TensorList&& g) override {
    return input_and_target_grads(
        mul(sub(self_.unpack(*this), target_.unpack(*this)), reduction_grad(mul(g[0], 2.0), reduction, n)));
  }
  TensorList jvp(const TensorList& t) override {
    return {pointwise_jvp(mul(sub(self_.unpack(*this), target_.unpack(*this)), 2.0), t)};
  }
  std::string name() const override { return "MseLossBackward0"; }
};

Tensor mse_loss(const Tensor& input_in, const Tensor& target_in, Reduction r) {
  const DType dt = loss_compute_dtype(input_in, target_in, "mse_cpu");
  const Tensor input = to_dtype(input_in, dt), target = to_dtype(target_in, dt);
  Tensor out;
  int64_t n = 0;
  {
    autograd::GradModeGuard no_grad(false);
    Tensor d = sub(input, target);
    n = d.numel();
    out = reduce(mul(d, d), r);
  }
  if (autograd::any_requires_grad({&input, &target})) {
    auto node = autograd::make_grad_node<MseLossBackward0>({&input, &target});
    node->save(input, target, r, n);
    record(node, out);
  }
  return out;
}

// PyTorch composes l1_loss: |input - target| then the reduction (AbsBackward0 / MeanBackward0).
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction r) { return reduce(abs(sub(input, target)), r); }

// log-probs laid out as [rows, C] (class dim last, the rest flattened), and back.
namespace {
std::vector<int64_t> class_last_perm(int64_t ndim) {
  std::vector<int64_t> perm{0};
  for (int64_t d = 2; d < ndim; ++d) perm.push_back(d);
  perm.push_back(1);
  return perm;
}
}  // namespace

// d loss / d log_probs[i, c] = -w[t_i] [t_i == c] (0 where ignored), divided by the total weight
// for 'mean'. The log-probs' weight is the only differentiable input (as in PyTorch).
struct NllLossBackward0 : BackwardNode<NllLossBackward0> {
  SavedTensor target_, coef_;  // target as [rows], coef = -w[t] * valid (/ total weight) as [rows]
  Shape self_shape;
  int64_t C = 1;
  TensorList apply(TensorList&& g) override {
    Tensor t = target_.unpack(*this), coef = coef_.unpack(*this);
    const int64_t rows = t.numel();
    Tensor gr = g[0].dim() == 0 ? mul(coef, g[0]) : mul(coef, reshape(g[0], {rows}));
    Tensor grad = scatter(Tensor::zeros({rows, C}, gr.dtype()), 1, unsqueeze(t, 1), unsqueeze(gr, 1));
    // The formula reads no log-prob, yet PyTorch records it as depending on them (zero derivative).
    grad = zero_grad_through(grad, next_edges[0], self_shape, grad.dtype(), "NllLossBackwardBackward0");
    if (self_shape.size() <= 2) return {reshape(grad, self_shape)};
    Shape permuted{self_shape[0]};  // [N, d1, ..., C] -> [N, C, d1, ...]
    for (size_t d = 2; d < self_shape.size(); ++d) permuted.push_back(self_shape[d]);
    permuted.push_back(C);
    std::vector<int64_t> perm = class_last_perm(static_cast<int64_t>(self_shape.size())), inv(perm.size());
    for (size_t i = 0; i < perm.size(); ++i) inv[perm[i]] = static_cast<int64_t>(i);
    return {permute(reshape(grad, permuted), inv)};
  }
  // Linear in the log-probs: coef times the tangent's entry at each row's target, summed unless unreduced.
  TensorList jvp(const TensorList& tt) override {
    if (!tt[0].defined()) return TensorList(1);  // only the weight has a tangent: not differentiated (as the VJP)
    Tensor t = target_.unpack(*this), coef = coef_.unpack(*this);
    Tensor lp = self_shape.size() == 1 ? unsqueeze(tt[0], 0) : tt[0];
    if (lp.dim() > 2) lp = reshape(permute(lp, class_last_perm(lp.dim())), {-1, C});
    Tensor per = mul(coef, squeeze(gather(lp, 1, unsqueeze(t, 1)), {1}));
    const Shape& out_shape = output_meta[0].shape;
    return {out_shape.empty() ? sum(per) : reshape(per, out_shape)};
  }
  // PyTorch runs >= 3-D inputs through nll_loss2d.
  std::string name() const override { return self_shape.size() >= 3 ? "NllLoss2DBackward0" : "NllLossBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("target", &NllLossBackward0::target_), saved(nullptr, &NllLossBackward0::coef_));
  }
};

Tensor nll_loss(const Tensor& log_probs, const Tensor& target_in, const std::optional<Tensor>& weight, Reduction r,
                int64_t ignore_index) {
  CG_CHECK_VALUE(log_probs.dim() >= 1, "Expected 1 or more dimensions (got ", log_probs.dim(), ")");
  if (log_probs.dim() >= 2)
    CG_CHECK_VALUE(target_in.dim() >= 1 && target_in.shape()[0] == log_probs.shape()[0], "Expected input batch_size (",
                   log_probs.shape()[0], ") to match target batch_size (",
                   target_in.dim() ? std::to_string(target_in.shape()[0]) : std::string("got a 0-d target"), ").");
  CG_CHECK(target_in.dtype() == DType::Int64 || target_in.dtype() == DType::UInt8,
           "expected target dtype to be Long or Byte, but got ", scalar_type_name(target_in.dtype()));
  // PyTorch's 2-d kernel (inputs of 3 or more dims) takes Long targets only.
  CG_CHECK(log_probs.dim() < 3 || target_in.dtype() == DType::Int64, "expected scalar type Long but found ",
           scalar_type_name(target_in.dtype()));
  const Tensor target = cast_data(target_in, DType::Int64);
  if (!is_floating(log_probs.dtype()))
    throw_not_implemented(log_probs.dim() >= 3 ? "nll_loss2d_forward_out_frame" : "nll_loss_out_frame",
                          log_probs.dtype());
  check_class_weight(weight, log_probs.shape()[log_probs.dim() == 1 ? 0 : 1], log_probs);
  refuse_grad("nll_loss_forward", "weight", weight);
  // Class dim is 1 (or 0 for an unbatched 1-D input); move it last and flatten the rest.
  Tensor lp = log_probs.dim() == 1 ? unsqueeze(autograd::detach(log_probs), 0) : autograd::detach(log_probs);
  Tensor tg = log_probs.dim() == 1 ? reshape(target, {1}) : target;
  const int64_t C = lp.shape()[1];
  if (lp.dim() > 2) {
    lp = reshape(permute(lp, class_last_perm(lp.dim())), {-1, C});
    tg = reshape(tg, {-1});
  }
  CG_CHECK(tg.dim() == 1 && tg.shape()[0] == lp.shape()[0], "Expected input batch_size (", lp.shape()[0],
           ") to match target batch_size (", tg.numel(), ").");
  Tensor out, coef, safe_t;
  {
    autograd::GradModeGuard no_grad(false);
    Tensor valid = compare(static_cast<int>(Binary::Ne), tg, Scalar(ignore_index));
    safe_t = contiguous(where(valid, tg, Tensor::zeros({}, DType::Int64)));
    const int64_t* tp = safe_t.data<int64_t>();
    for (int64_t i = 0; i < safe_t.numel(); ++i)
      CG_CHECK_INDEX(tp[i] >= 0 && tp[i] < C, "Target ", tp[i], " is out of bounds.");
    Tensor picked = squeeze(gather(lp, 1, unsqueeze(safe_t, 1)), {1});
    Tensor w = to_dtype(valid, lp.dtype());
    if (weight) w = mul(w, index_select(*weight, 0, safe_t));
    Tensor losses = neg(mul(picked, w));
    if (r == Reduction::None) {
      out = reshape(losses, target.shape());
      coef = neg(w);
    } else if (r == Reduction::Sum) {
      out = sum(losses);
      coef = neg(w);
    } else {
      Tensor total = sum(w);
      out = div(sum(losses), total);
      coef = div(neg(w), total);
    }
  }
  if (autograd::any_requires_grad({&log_probs})) {
    // 3-D and > 4-D inputs: PyTorch's unreduced result is a view of nll_loss2d's [N, 1, -1] one.
    const bool viewed = r == Reduction::None && (log_probs.dim() == 3 || log_probs.dim() > 4);
    if (viewed) out = reshape(out, {log_probs.shape()[0], 1, numel_of(Shape(target.shape().begin() + 1, target.shape().end()))});
    auto node = NllLossBackward0::make({&log_probs, &target, weight ? &*weight : nullptr});
    node->target_ = SavedTensor(safe_t, false);
    node->coef_ = SavedTensor(coef, false);
    node->self_shape = log_probs.shape();
    node->C = C;
    record(node, out);
    if (viewed) out = view(out, target.shape());
  }
  return out;
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const std::optional<Tensor>& weight, Reduction r,
                     int64_t ignore_index, double label_smoothing) {
  const int64_t class_dim = logits.dim() == 1 ? 0 : 1;
  Tensor lp = log_softmax(logits, class_dim);
  if (is_floating(target.dtype())) {
    // Class probabilities.
    CG_CHECK(target.shape() == logits.shape(), "Expected target size ", shape_str(logits.shape()), ", got ",
             shape_str(target.shape()));
    Tensor tgt = target;
    const int64_t C = logits.shape()[class_dim];
    if (label_smoothing > 0) tgt = add(mul(tgt, 1 - label_smoothing), label_smoothing / static_cast<double>(C));
    Tensor prod = mul(lp, tgt);
    if (weight) {
      Shape ws(logits.dim(), 1);
      ws[class_dim] = C;
      prod = mul(prod, reshape(*weight, ws));
    }
    Tensor per = neg(sum(prod, {class_dim}, false));
    if (r == Reduction::Mean) return div(sum(per), static_cast<double>(logits.dim() == 1 ? 1 : per.numel()));
    return r == Reduction::Sum ? sum(per) : per;
  }
  Tensor loss = nll_loss(lp, target, weight, r, ignore_index);
  if (label_smoothing <= 0) return loss;
  const int64_t C = logits.shape()[class_dim];
  Tensor valid = compare(static_cast<int>(Binary::Ne), target, Scalar(ignore_index));
  Tensor smooth_terms = lp;
  if (weight) {
    Shape ws(logits.dim(), 1);
    ws[class_dim] = C;
    smooth_terms = mul(smooth_terms, reshape(*weight, ws));
  }
  Tensor smooth = mul(neg(sum(smooth_terms, {class_dim}, false)), to_dtype(valid, lp.dtype()));
  Tensor smooth_r;
  if (r == Reduction::None) smooth_r = smooth;
  else if (r == Reduction::Sum) smooth_r = sum(smooth);
  else {
    // Flat: the class weight of each valid target entry (any target rank).
    Tensor safe = reshape(where(valid, target, Tensor::zeros({}, DType::Int64)), {-1});
    Tensor denom = weight ? sum(mul(reshape(to_dtype(valid, lp.dtype()), {-1}), index_select(*weight, 0, safe)))
                          : sum(to_dtype(valid, lp.dtype()));
    smooth_r = div(sum(smooth), denom);
  }
  return add(mul(loss, 1 - label_smoothing), mul(smooth_r, label_smoothing / static_cast<double>(C)));
}

// d/dx = w (x - t) / max(x (1 - x), 1e-12) and d/dt = w (log(1 - x) - log(x)), logs clamped at -100
// like the forward (PyTorch's formulas).
struct BinaryCrossEntropyBackward0 : BackwardNode<BinaryCrossEntropyBackward0> {
  SavedTensor self_, target_, weight_;
  Reduction reduction = Reduction::Mean;
  int64_t n = 1;
  DType target_dtype = DType::Float32;
  TensorList apply(TensorList&& g) override {
    Tensor x = self_.unpack(*this), t = target_.unpack(*this);
    Tensor gw = reduction_grad(g[0], reduction, n);
    if (weight_.defined()) gw = mul(gw, weight_.unpack(*this));
    TensorList r(3);
    if (should_compute_output(0)) {
      Tensor denom = clamp(mul(x, rsub(x, 1)), 1e-12, std::nullopt);
      r[0] = sum_to(div(mul(gw, sub(x, t)), denom), x);
    }
    if (should_compute_output(1)) {
      Tensor d = sub(clamp(log(rsub(x, 1)), -100.0, std::nullopt), clamp(log(x), -100.0, std::nullopt));
      r[1] = sum_to(mul(gw, d), t.shape(), target_dtype);
    }
    return r;
  }
  TensorList jvp(const TensorList& tt) override {  // w (d/dx t_x + d/dt t_t), reduced like the loss
    Tensor x = self_.unpack(*this), t = target_.unpack(*this);
    Tensor per;
    if (tt[0].defined()) per = div(mul(tt[0], sub(x, t)), clamp(mul(x, rsub(x, 1)), 1e-12, std::nullopt));
    if (tt[1].defined())
      per = tangent_sum(per, mul(tt[1], sub(clamp(log(rsub(x, 1)), -100.0, std::nullopt), clamp(log(x), -100.0, std::nullopt))));
    if (!per.defined()) return TensorList(1);  // only the weight has a tangent: not differentiated (as the VJP)
    if (weight_.defined()) per = mul(per, weight_.unpack(*this));
    return {reduce(per, reduction)};
  }
  std::string name() const override { return "BinaryCrossEntropyBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("self", &BinaryCrossEntropyBackward0::self_),
                           saved("target", &BinaryCrossEntropyBackward0::target_),
                           saved("weight", &BinaryCrossEntropyBackward0::weight_),
                           saved("reduction", [](const BinaryCrossEntropyBackward0& n) { return SavedValue(static_cast<int64_t>(n.reduction)); }));
  }
};

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const std::optional<Tensor>& weight,
                            Reduction r) {
  CG_CHECK(input.shape() == target.shape(), "Using a target size (", size_str(target.shape()),
           ") that is different to the input size (", size_str(input.shape()), ") is deprecated. Please ensure they have the same size.");
  CG_CHECK(target.dtype() == input.dtype(), "Found dtype ", scalar_type_name(target.dtype()), " but expected ",
           scalar_type_name(input.dtype()));
  if (!is_floating(input.dtype())) throw_not_implemented("binary_cross_entropy", input.dtype());
  CG_CHECK(all_in_unit_interval(input), "all elements of input should be between 0 and 1");
  CG_CHECK(all_in_unit_interval(target), "all elements of target should be between 0 and 1");
  refuse_grad("binary_cross_entropy", "weight", weight);
  Tensor out;
  {
    autograd::GradModeGuard no_grad(false);
    // PyTorch clamps the logs at -100 so that log(0) stays finite.
    Tensor log_p = clamp(log(input), -100.0, std::nullopt);
    Tensor log_1mp = clamp(log(rsub(input, 1)), -100.0, std::nullopt);
    Tensor l = neg(add(mul(target, log_p), mul(rsub(target, 1), log_1mp)));
    if (weight) l = mul(l, *weight);
    out = reduce(l, r);
  }
  if (autograd::any_requires_grad({&input, &target})) {
    auto node = BinaryCrossEntropyBackward0::make({&input, &target, weight ? &*weight : nullptr});
    node->self_ = SavedTensor(input, false);
    node->target_ = SavedTensor(target, false);
    if (weight) node->weight_ = SavedTensor(*weight, false);
    node->reduction = r;
    node->n = input.numel();
    node->target_dtype = target.dtype();
    record(node, out);
  }
  return out;
}

// loss = (1 - t) x + c softplus(-x) with c = 1 + (pw - 1) t, times w:
//   d/dx = w ((1 - t) - c sigmoid(-x)),  d/dt = w ((pw - 1) softplus(-x) - x).
struct BinaryCrossEntropyWithLogitsBackward0 : BackwardNode<BinaryCrossEntropyWithLogitsBackward0> {
  SavedTensor self_, target_, weight_, pos_weight_;
  Reduction reduction = Reduction::Mean;
  int64_t n = 1;
  Shape self_shape, target_shape;
  DType self_dtype = DType::Float32, target_dtype = DType::Float32;
  TensorList apply(TensorList&& g) override {
    Tensor x = self_.unpack(*this), t = target_.unpack(*this);
    Tensor gw = reduction_grad(g[0], reduction, n);
    if (weight_.defined()) gw = mul(gw, weight_.unpack(*this));
    Tensor pw_minus_1 = pos_weight_.defined() ? sub(pos_weight_.unpack(*this), 1) : Tensor();
    TensorList r(4);
    if (should_compute_output(0)) {
      Tensor c = pw_minus_1.defined() ? add(mul(pw_minus_1, t), 1) : Tensor();
      Tensor s = sigmoid(neg(x));
      r[0] = sum_to(mul(gw, sub(rsub(t, 1), c.defined() ? mul(c, s) : s)), self_shape, self_dtype);
    }
    if (should_compute_output(1)) {
      Tensor d = pw_minus_1.defined() ? sub(mul(pw_minus_1, softplus(neg(x))), x) : neg(x);
      r[1] = sum_to(mul(gw, d), target_shape, target_dtype);
    }
    return r;
  }
  TensorList jvp(const TensorList& tt) override {  // w (d/dx t_x + d/dt t_t), reduced like the loss
    Tensor x = self_.unpack(*this), t = target_.unpack(*this);
    Tensor pw_minus_1 = pos_weight_.defined() ? sub(pos_weight_.unpack(*this), 1) : Tensor();
    Tensor per;
    if (tt[0].defined()) {
      Tensor c = pw_minus_1.defined() ? add(mul(pw_minus_1, t), 1) : Tensor();
      Tensor s = sigmoid(neg(x));
      per = mul(tt[0], sub(rsub(t, 1), c.defined() ? mul(c, s) : s));
    }
    if (tt[1].defined())
      per = tangent_sum(per, mul(tt[1], pw_minus_1.defined() ? sub(mul(pw_minus_1, softplus(neg(x))), x) : neg(x)));
    if (!per.defined()) return TensorList(1);  // only the weight has a tangent: not differentiated (as the VJP)
    if (weight_.defined()) per = mul(per, weight_.unpack(*this));
    return {reduce(per, reduction)};
  }
  std::string name() const override { return "BinaryCrossEntropyWithLogitsBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("self", &BinaryCrossEntropyWithLogitsBackward0::self_),
                           saved("target", &BinaryCrossEntropyWithLogitsBackward0::target_),
                           saved("weight", &BinaryCrossEntropyWithLogitsBackward0::weight_),
                           saved("pos_weight", &BinaryCrossEntropyWithLogitsBackward0::pos_weight_),
                           saved("reduction", [](const BinaryCrossEntropyWithLogitsBackward0& n) { return SavedValue(static_cast<int64_t>(n.reduction)); }));
  }
};

Tensor binary_cross_entropy_with_logits(const Tensor& input_in, const Tensor& target_in,
                                        const std::optional<Tensor>& weight, const std::optional<Tensor>& pos_weight,
                                        Reduction r) {
  CG_CHECK_VALUE(input_in.shape() == target_in.shape(), "Target size (", size_str(target_in.shape()),
                 ") must be the same as input size (", size_str(input_in.shape()), ")");
  refuse_grad("binary_cross_entropy_with_logits", "weight", weight);
  refuse_grad("binary_cross_entropy_with_logits", "pos_weight", pos_weight);
  if (!is_floating(input_in.dtype())) throw_not_implemented("log_sigmoid_cpu", input_in.dtype());
  CG_CHECK(target_in.dtype() != DType::Bool, "Subtraction, the `-` operator, with two bool tensors is not supported. "
           "Use the `^` or `logical_xor()` operator instead.");
  // PyTorch computes in the operands' promoted dtype and writes the loss in the target's.
  const DType dt = loss_compute_dtype(input_in, target_in, "log_sigmoid_cpu", target_in.dtype());
  if (dt != target_in.dtype())
    return to_dtype(binary_cross_entropy_with_logits(to_dtype(input_in, dt), to_dtype(target_in, dt), weight,
                                                     pos_weight, r), target_in.dtype());
  const Tensor input = to_dtype(input_in, dt), target = target_in;
  Tensor out;
  int64_t n = 0;
  {
    autograd::GradModeGuard no_grad(false);
    Tensor sp = softplus(neg(input));  // stable for large |x|
    Tensor l = pos_weight ? add(mul(rsub(target, 1), input), mul(add(mul(sub(*pos_weight, 1), target), 1), sp))
                          : add(mul(rsub(target, 1), input), sp);
    if (weight) l = mul(l, *weight);
    n = l.numel();
    out = reduce(l, r);
  }
  if (autograd::any_requires_grad({&input, &target})) {
    auto node = BinaryCrossEntropyWithLogitsBackward0::make(
        {&input, &target, weight ? &*weight : nullptr, pos_weight ? &*pos_weight : nullptr});
    node->self_ = SavedTensor(input, false);
    node->target_ = SavedTensor(target, false);
    if (weight) node->weight_ = SavedTensor(*weight, false);
    if (pos_weight) node->pos_weight_ = SavedTensor(*pos_weight, false);
    node->reduction = r;
    node->n = n;
    node->self_shape = input.shape();
    node->target_shape = target.shape();
    node->self_dtype = input.dtype();
    node->target_dtype = target.dtype();
    record(node, out);
  }
  return out;
}

Tensor dropout(const Tensor& x, double p, bool training) {
  CG_CHECK_VALUE(p >= 0 && p <= 1, "dropout probability has to be between 0 and 1, but got ", p);
  if (!training || p == 0) return x;
  if (p == 1) return mul(x, 0.0);
  Tensor keep = bernoulli(Tensor::full(x.shape(), 1 - p, is_floating(x.dtype()) ? x.dtype() : DType::Float32));
  return mul(x, mul(keep, 1.0 / (1 - p)));
}

// smooth_l1 (beta) and huber (delta) share one node: with d = input - target,
//   smooth_l1 = 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta;   d/dd = d / beta, or sign(d)
//   huber     = 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta); d/dd = d, or delta sign(d)
struct SmoothL1LossBackward0 : PointwiseLossNode {
  double beta = 1.0;
  bool huber = false;
  TensorList apply(TensorList&& g) override {
    Tensor d = sub(self_.unpack(*this), target_.unpack(*this));
    Tensor inner = compare(static_cast<int>(Binary::Lt), abs(d), Scalar(beta));
    Tensor slope = where(inner, huber ? d : div(d, beta), huber ? mul(sign(d), beta) : sign(d));
    return input_and_target_grads(mul(slope, reduction_grad(g[0], reduction, n)));
  }
  TensorList jvp(const TensorList& t) override {
    Tensor d = sub(self_.unpack(*this), target_.unpack(*this));
    Tensor inner = compare(static_cast<int>(Binary::Lt), abs(d), Scalar(beta));
    return {pointwise_jvp(where(inner, huber ? d : div(d, beta), huber ? mul(sign(d), beta) : sign(d)), t)};
  }
  std::string name() const override { return huber ? "HuberLossBackward0" : "SmoothL1LossBackward0"; }
};

namespace {
Tensor smooth_l1_impl(const Tensor& input, const Tensor& target, Reduction r, double beta, bool huber) {
  Tensor out;
  int64_t n = 0;
  {
    autograd::GradModeGuard no_grad(false);
    Tensor d = sub(input, target);
    Tensor ad = abs(d);
    n = d.numel();
    Tensor quad = huber ? mul(mul(d, d), 0.5) : div(mul(mul(d, d), 0.5), beta);
    Tensor lin = huber ? mul(sub(ad, 0.5 * beta), beta) : sub(ad, 0.5 * beta);
    out = reduce(where(compare(static_cast<int>(Binary::Lt), ad, Scalar(beta)), quad, lin), r);
  }
  if (autograd::any_requires_grad({&input, &target})) {
    auto node = autograd::make_grad_node<SmoothL1LossBackward0>({&input, &target});
    node->save(input, target, r, n);
    node->beta = beta;
    node->huber = huber;
    record(node, out);
  }
  return out;
}
}  // namespace

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction r, double beta) {
  CG_CHECK(beta >= 0, "smooth_l1_loss does not support negative values for beta.");
  if (beta == 0) return l1_loss(input, target, r);  // PyTorch's special case: plain L1
  return smooth_l1_impl(input, target, r, beta, false);
}

Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction r, double delta) {
  CG_CHECK(delta > 0, "huber_loss does not support non-positive values for delta.");
  return smooth_l1_impl(input, target, r, delta, true);
}

}  // namespace cg::ops
