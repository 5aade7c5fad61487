// clamp and the parametrised activations, with the fused gradient kernels of the activations.
#include <limits>

#include "kernels/elementwise_impl.h"
#include "kernels/fused_chain.h"

namespace cg::kernels {

void clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi, const Tensor& out) {
  const std::array<const Tensor*, 1> in{&x};
  const bool nan_bound = (lo && std::isnan(*lo)) || (hi && std::isnan(*hi));
  CG_DISPATCH_NUMERIC(x.dtype(), "clamp", [&] {
    using T = scalar_t;
    if (nan_bound) {
      // A NaN bound makes every element NaN, as in PyTorch (callers promote integers to float).
      if constexpr (std::is_floating_point_v<T>) return fill(out, std::numeric_limits<double>::quiet_NaN());
      else throw RuntimeError("clamp: a NaN bound needs a floating point tensor");
    }
    const T l = lo ? static_cast<T>(*lo) : T(0);
    const T h = hi ? static_cast<T>(*hi) : T(0);
    // min(max(v, lo), hi): when lo > hi every element becomes hi, as in PyTorch.
    if (lo && hi) map<T, T>(out, in, [l, h](T v) { return v != v ? v : ((v < l ? l : v) > h ? h : (v < l ? l : v)); });
    else if (lo) map<T, T>(out, in, [l](T v) { return v != v ? v : (v < l ? l : v); });
    else if (hi) map<T, T>(out, in, [h](T v) { return v != v ? v : (v > h ? h : v); });
    else copy(out, x);
  });
}
void leaky_relu(const Tensor& x, double slope, const Tensor& out) {
  const std::array<const Tensor*, 1> in{&x};
  CG_DISPATCH_FLOAT(x.dtype(), "leaky_relu_cpu", [&] {
    using T = scalar_t;
    const T s = static_cast<T>(slope);
    map<T, T>(out, in, [s](T v) { return v > T(0) ? v : v * s; });
  });
}

void elu(const Tensor& x, double alpha, const Tensor& out) {
  const std::array<const Tensor*, 1> in{&x};
  CG_DISPATCH_FLOAT(x.dtype(), "elu_cpu", [&] {
    using T = scalar_t;
    const T a = static_cast<T>(alpha);
    map<T, T>(out, in, [a](T v) { return v > T(0) ? v : a * std::expm1(v); }, 8);
  });
}

namespace {
template <typename F>
void grad_map(const char* name, const Tensor& g, const Tensor& x, const Tensor& out, const F& f) {
  const std::array<const Tensor*, 2> in{&g, &x};
  CG_DISPATCH_FLOAT(g.dtype(), name, [&] {
    using T = scalar_t;
    map<T, T, T>(out, in, [&f](T gv, T xv) { return f(gv, xv); });
  });
}
}  // namespace

void tanh_backward(const Tensor& grad, const Tensor& y, const Tensor& out) {
  grad_map("tanh_backward", grad, y, out, TanhGrad{});  // the formula fused chains use too
}
void sigmoid_backward(const Tensor& grad, const Tensor& y, const Tensor& out) {
  grad_map("sigmoid_backward", grad, y, out, SigmoidGrad{});
}
void threshold_backward(const Tensor& grad, const Tensor& x, double threshold, const Tensor& out) {
  grad_map("threshold_backward", grad, x, out, [threshold](auto g, auto v) {
    return v > static_cast<decltype(v)>(threshold) ? g : decltype(g)(0);
  });
}


namespace {
// The operations in the order of their composed (differentiable) form in ops/fused_grad.cpp, so
// both give the same bits.
template <typename F>
void grad_grad_map(const char* name, const Tensor& gg, const Tensor& g, const Tensor& y, const Tensor& out, const F& f) {
  const std::array<const Tensor*, 3> in{&gg, &g, &y};
  CG_CHECK(out.dtype() == DType::Float32 || out.dtype() == DType::Float64, name, ": float32 or float64 expected");
  CG_DISPATCH_FLOAT(out.dtype(), name, [&] {
    using T = scalar_t;
    map<T, T, T, T>(out, in, [&f](T ggv, T gv, T yv) { return f(ggv, gv, yv); });
  });
}
}  // namespace

void tanh_backward_backward(const Tensor& gg, const Tensor& grad, const Tensor& y, const Tensor& out) {
  grad_grad_map("tanh_backward_backward", gg, grad, y, out,
                [](auto ggv, auto gv, auto yv) { return ggv * ((yv * decltype(yv)(-2)) * gv); });
}
void sigmoid_backward_backward(const Tensor& gg, const Tensor& grad, const Tensor& y, const Tensor& out) {
  grad_grad_map("sigmoid_backward_backward", gg, grad, y, out,
                [](auto ggv, auto gv, auto yv) { return ggv * (gv * (decltype(yv)(1) - yv * decltype(yv)(2))); });
}

}  // namespace cg::kernels

namespace cg::kernels {

namespace {
// grad_a = g * b and grad_b = g * a in one pass (operands: grad_a, grad_b, g, a, b).
template <typename T>
void mul_backward_row(const void*, char* const* p, int64_t n) {
  T* __restrict ga = reinterpret_cast<T*>(p[0]);
  T* __restrict gb = reinterpret_cast<T*>(p[1]);
  const T* g = reinterpret_cast<const T*>(p[2]);
  const T* a = reinterpret_cast<const T*>(p[3]);
  const T* b = reinterpret_cast<const T*>(p[4]);
  for (int64_t i = 0; i < n; ++i) {
    const T gv = g[i];
    ga[i] = gv * b[i];
    gb[i] = gv * a[i];
  }
}
}  // namespace

void mul_backward(const Tensor& grad, const Tensor& a, const Tensor& b, const Tensor& grad_a, const Tensor& grad_b) {
  const DType dt = grad_a.dtype();
  CG_CHECK((dt == DType::Float32 || dt == DType::Float64) && grad_b.dtype() == dt && grad.dtype() == dt &&
               a.dtype() == dt && b.dtype() == dt && grad_a.shape() == grad_b.shape(),
           "mul_backward: operands of one float dtype and one output shape expected");
  const Tensor* ops[] = {&grad_a, &grad_b, &grad, &a, &b};
  run_elementwise(ops, 5, dt == DType::Float32 ? &mul_backward_row<float> : &mul_backward_row<double>, nullptr, 1, 2);
}

}  // namespace cg::kernels
