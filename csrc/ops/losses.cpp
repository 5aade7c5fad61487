// Losses of nn.functional, composed from fused primitives (log_softmax, gather, ...), so their
// gradients of every order come from those primitives' VJPs.
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

void check_same_size(const Tensor& input, const Tensor& target, const char* op) {
  CG_CHECK(broadcast_shapes(input.shape(), target.shape()) == input.shape() || input.shape() == target.shape(),
           op, ": The size of tensor a (", input.numel(), ") must match the size of tensor b (", target.numel(), ")");
}
}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction r) {
  Tensor d = sub(input, target);
  return reduce(mul(d, d), r);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction r) { return reduce(abs(sub(input, target)), r); }

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const std::optional<Tensor>& weight, Reduction r,
                int64_t ignore_index) {
  CG_CHECK(log_probs.dim() >= 1 && log_probs.dim() <= 2 ? true : log_probs.dim() > 2, "input tensor should be 1D or 2D");
  CG_CHECK(target.dtype() == DType::Int64, "expected scalar type Long but found ",
           target.dtype() == DType::Float32 ? "Float" : target.dtype() == DType::Float64 ? "Double" : "Bool");
  // Class dim is 1 (or 0 for an unbatched 1-D input); move it last and flatten the rest.
  Tensor lp = log_probs.dim() == 1 ? unsqueeze(log_probs, 0) : log_probs;
  Tensor tg = log_probs.dim() == 1 ? unsqueeze(target, 0) : target;
  const int64_t C = lp.shape()[1];
  if (lp.dim() > 2) {
    std::vector<int64_t> perm{0};
    for (int64_t d = 2; d < lp.dim(); ++d) perm.push_back(d);
    perm.push_back(1);
    lp = reshape(permute(lp, perm), {-1, C});
    tg = reshape(tg, {-1});
  }
  CG_CHECK(tg.dim() == 1 && tg.shape()[0] == lp.shape()[0], "Expected input batch_size (", lp.shape()[0],
           ") to match target batch_size (", tg.numel(), ").");
  Tensor valid = compare(static_cast<int>(Binary::Ne), tg, Scalar(ignore_index));
  Tensor safe_t = where(valid, tg, Tensor::zeros({}, DType::Int64));
  {
    const int64_t* tp = contiguous(safe_t).data<int64_t>();
    for (int64_t i = 0; i < safe_t.numel(); ++i)
      CG_CHECK_INDEX(tp[i] >= 0 && tp[i] < C, "Target ", tp[i], " is out of bounds.");
  }
  Tensor picked = squeeze(gather(lp, 1, unsqueeze(safe_t, 1)), {1});
  Tensor w = to_dtype(valid, lp.dtype());
  if (weight) w = mul(w, index_select(*weight, 0, safe_t));
  Tensor losses = neg(mul(picked, w));
  if (r == Reduction::None) return reshape(losses, target.shape());
  if (r == Reduction::Sum) return sum(losses);
  return div(sum(losses), sum(w));
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
    Tensor denom = weight ? sum(mul(to_dtype(valid, lp.dtype()), index_select(*weight, 0, where(valid, target, Tensor::zeros({}, DType::Int64)))))
                          : sum(to_dtype(valid, lp.dtype()));
    smooth_r = div(sum(smooth), denom);
  }
  return add(mul(loss, 1 - label_smoothing), mul(smooth_r, label_smoothing / static_cast<double>(C)));
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const std::optional<Tensor>& weight,
                            Reduction r) {
  CG_CHECK(input.shape() == target.shape(), "Using a target size (", size_str(target.shape()),
           ") that is different to the input size (", size_str(input.shape()), ") is deprecated. Please ensure they have the same size.");
  // PyTorch clamps the logs at -100 so that log(0) stays finite.
  Tensor log_p = clamp(log(input), -100.0, std::nullopt);
  Tensor log_1mp = clamp(log(rsub(input, 1)), -100.0, std::nullopt);
  Tensor l = neg(add(mul(target, log_p), mul(rsub(target, 1), log_1mp)));
  if (weight) l = mul(l, *weight);
  return reduce(l, r);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const std::optional<Tensor>& weight,
                                        const std::optional<Tensor>& pos_weight, Reduction r) {
  CG_CHECK(input.shape() == target.shape(), "Target size (", size_str(target.shape()),
           ") must be the same as input size (", size_str(input.shape()), ")");
  // loss = (1 - t) x + (1 + (pw - 1) t) * softplus(-x), stable for large |x|.
  Tensor sp = unary(kernels::Unary::Softplus, neg(input));
  Tensor l;
  if (pos_weight) {
    Tensor coef = add(mul(sub(*pos_weight, 1), target), 1);
    l = add(mul(rsub(target, 1), input), mul(coef, sp));
  } else {
    l = add(mul(rsub(target, 1), input), sp);
  }
  if (weight) l = mul(l, *weight);
  return reduce(l, r);
}

Tensor dropout(const Tensor& x, double p, bool training) {
  CG_CHECK_VALUE(p >= 0 && p <= 1, "dropout probability has to be between 0 and 1, but got ", p);
  if (!training || p == 0) return x;
  if (p == 1) return mul(x, 0.0);
  Tensor keep = bernoulli(Tensor::full(x.shape(), 1 - p, is_floating(x.dtype()) ? x.dtype() : DType::Float32));
  return mul(x, mul(keep, 1.0 / (1 - p)));
}

}  // namespace cg::ops
