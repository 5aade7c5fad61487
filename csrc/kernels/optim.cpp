#include "kernels/optim.h"

#include <cmath>

#include "kernels/checks.h"
#include "kernels/parallel.h"

namespace cg::kernels {

void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& buf, const SgdOptions& o) {
  // The shape checks follow PyTorch's update order (buf.mul_(m).add_(g); param.add_(buf)), so a
  // mismatched state gets the error PyTorch's step raises.
  check_inplace_shapes(param.shape(), grad.shape());
  if (buf.defined()) {
    check_inplace_shapes(buf.shape(), grad.shape());
    check_inplace_shapes(param.shape(), buf.shape());
  }
  check_buffers("sgd_step", param.dtype(), {&param, &grad, &buf}, true);
  CG_DISPATCH_FLOAT(param.dtype(), "sgd_step", [&] {
    using T = scalar_t;
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* b = buf.defined() ? buf.data<T>() : nullptr;
    const T lr = T(o.lr), mom = T(o.momentum), damp = T(1 - o.dampening), wd = T(o.weight_decay);
    const T sign = o.maximize ? T(-1) : T(1);
    const bool first = o.first_step, nesterov = o.nesterov;
    parallel_for(param.numel(), kGrainSize, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) {
        T d = sign * g[i] + wd * p[i];
        if (b) {
          b[i] = first ? d : mom * b[i] + damp * d;
          d = nesterov ? d + mom * b[i] : b[i];
        }
        p[i] -= lr * d;
      }
    });
  });
}

void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
               const Tensor& max_exp_avg_sq, const AdamOptions& o) {
  // In PyTorch's update order: exp_avg.lerp_(g), exp_avg_sq.mul_().addcmul_(g, g),
  // maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq), param.addcdiv_(exp_avg, denom).
  CG_CHECK(exp_avg.defined() && exp_avg_sq.defined(), "adam_step: exp_avg and exp_avg_sq are required");
  CG_CHECK(!o.amsgrad || max_exp_avg_sq.defined(), "adam_step: amsgrad needs max_exp_avg_sq");
  check_inplace_shapes(param.shape(), grad.shape());
  check_inplace_shapes(exp_avg.shape(), grad.shape());
  check_inplace_shapes(exp_avg_sq.shape(), grad.shape());
  const Tensor& second = o.amsgrad ? max_exp_avg_sq : exp_avg_sq;
  if (o.amsgrad) broadcast_shapes(max_exp_avg_sq.shape(), exp_avg_sq.shape());
  check_inplace_shapes(second.shape(), exp_avg_sq.shape());
  check_inplace_shapes(param.shape(), broadcast_shapes(exp_avg.shape(), second.shape()));
  check_buffers("adam_step", param.dtype(), {&param, &grad, &exp_avg, &exp_avg_sq, o.amsgrad ? &max_exp_avg_sq : nullptr},
                true);
  CG_DISPATCH_FLOAT(param.dtype(), "adam_step", [&] {
    using T = scalar_t;
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* m = exp_avg.data<T>();
    T* v = exp_avg_sq.data<T>();
    T* vmax = o.amsgrad ? max_exp_avg_sq.data<T>() : nullptr;
    const double bc1 = 1 - std::pow(o.beta1, static_cast<double>(o.step));
    const double bc2 = 1 - std::pow(o.beta2, static_cast<double>(o.step));
    const T step_size = T(o.lr / bc1), bc2_sqrt = T(std::sqrt(bc2));
    const T b1 = T(o.beta1), b2 = T(o.beta2), eps = T(o.eps), wd = T(o.weight_decay);
    const T decay = o.decoupled_weight_decay ? T(1 - o.lr * o.weight_decay) : T(1);
    const bool coupled = !o.decoupled_weight_decay && o.weight_decay != 0;
    const T sign = o.maximize ? T(-1) : T(1);
    parallel_for(param.numel(), kGrainSize, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) {
        T gi = sign * g[i];
        if (coupled) gi += wd * p[i];
        p[i] *= decay;
        m[i] = b1 * m[i] + (T(1) - b1) * gi;
        v[i] = b2 * v[i] + (T(1) - b2) * gi * gi;
        T vv = v[i];
        if (vmax) {
          vmax[i] = vmax[i] > vv ? vmax[i] : vv;
          vv = vmax[i];
        }
        p[i] -= step_size * m[i] / (std::sqrt(vv) / bc2_sqrt + eps);
      }
    });
  });
}

}  // namespace cg::kernels
