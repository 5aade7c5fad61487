// The one strided-loop engine every elementwise kernel runs on. Operands (output first) share
// one shape; broadcast inputs carry stride 0. Dimensions that are contiguous across all operands
// are merged, so the common case collapses to a single flat loop the compiler vectorizes.
#pragma once
#include <array>
#include <cstdint>
#include <utility>

#include "core/tensor.h"
#include "kernels/convert.h"
#include "kernels/parallel.h"

namespace cg::kernels {

template <size_t N>
struct LoopPlan {
  Shape shape;                       // merged shape
  std::array<char*, N> base{};       // first element of each operand
  std::array<Shape, N> strides;      // byte strides per operand, per merged dim
};

// Views `t` with the strides it would have when broadcast to `shape` (stride 0 where expanded).
Shape broadcast_strides(const Tensor& t, const Shape& shape);

template <size_t N>
LoopPlan<N> plan_loop(const Shape& shape, const std::array<const Tensor*, N>& ops) {
  LoopPlan<N> plan;
  std::array<Shape, N> st;
  for (size_t k = 0; k < N; ++k) {
    st[k] = broadcast_strides(*ops[k], shape);
    plan.base[k] = ops[k]->data_bytes();
    for (auto& s : st[k]) s *= static_cast<int64_t>(ops[k]->itemsize());
  }
  // Drop size-1 dims, then merge dim d into d+1 when every operand is contiguous across them.
  Shape sh;
  std::array<Shape, N> ms;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    sh.push_back(shape[d]);
    for (size_t k = 0; k < N; ++k) ms[k].push_back(st[k][d]);
  }
  for (size_t k = 0; k < N; ++k) plan.strides[k].clear();
  for (size_t d = 0; d < sh.size(); ++d) {
    if (!plan.shape.empty()) {
      bool mergeable = true;
      for (size_t k = 0; k < N; ++k)
        if (plan.strides[k].back() != sh[d] * ms[k][d]) { mergeable = false; break; }
      if (mergeable) {
        plan.shape.back() *= sh[d];
        for (size_t k = 0; k < N; ++k) plan.strides[k].back() = ms[k][d];
        continue;
      }
    }
    plan.shape.push_back(sh[d]);
    for (size_t k = 0; k < N; ++k) plan.strides[k].push_back(ms[k][d]);
  }
  if (plan.shape.empty()) {
    plan.shape.push_back(1);
    for (size_t k = 0; k < N; ++k) plan.strides[k].push_back(0);
  }
  return plan;
}

// Runs inner(ptrs, inner_strides, n) over every innermost row of the plan, in parallel when large.
// `cost` scales the grain for expensive per-element work (transcendentals).
template <size_t N, typename Inner>
void run_loop(const LoopPlan<N>& plan, const Inner& inner, int64_t cost = 1) {
  const int64_t ndim = static_cast<int64_t>(plan.shape.size());
  const int64_t n_inner = plan.shape.back();
  std::array<int64_t, N> inner_strides;
  for (size_t k = 0; k < N; ++k) inner_strides[k] = plan.strides[k].back();
  const int64_t grain = std::max<int64_t>(1, kGrainSize / cost);

  if (ndim == 1) {
    parallel_for(n_inner, grain, [&](int64_t b, int64_t e) {
      std::array<char*, N> p;
      for (size_t k = 0; k < N; ++k) p[k] = plan.base[k] + b * inner_strides[k];
      inner(p, inner_strides, e - b);
    });
    return;
  }
  int64_t rows = 1;
  for (int64_t d = 0; d < ndim - 1; ++d) rows *= plan.shape[d];
  parallel_for(rows, std::max<int64_t>(1, grain / n_inner), [&](int64_t b, int64_t e) {
    // Decompose the first row index once, then step an odometer.
    Shape idx(ndim - 1);
    int64_t r = b;
    for (int64_t d = ndim - 2; d >= 0; --d) {
      idx[d] = r % plan.shape[d];
      r /= plan.shape[d];
    }
    for (int64_t row = b; row < e; ++row) {
      std::array<char*, N> p = plan.base;
      for (int64_t d = 0; d < ndim - 1; ++d)
        for (size_t k = 0; k < N; ++k) p[k] += idx[d] * plan.strides[k][d];
      inner(p, inner_strides, n_inner);
      for (int64_t d = ndim - 2; d >= 0; --d) {
        if (++idx[d] < plan.shape[d]) break;
        idx[d] = 0;
      }
    }
  });
}

namespace detail {
template <typename Out, typename... In, typename F, size_t... I>
inline void map_inner(const std::array<char*, sizeof...(In) + 1>& p,
                      const std::array<int64_t, sizeof...(In) + 1>& s, int64_t n, const F& f,
                      std::index_sequence<I...>) {
  Out* __restrict o = reinterpret_cast<Out*>(p[0]);
  bool contiguous = s[0] == sizeof(Out) && ((s[I + 1] == sizeof(In)) && ...);
  if (contiguous) {
    std::tuple<const In*...> in{reinterpret_cast<const In*>(p[I + 1])...};
    for (int64_t i = 0; i < n; ++i) o[i] = f(std::get<I>(in)[i]...);
  } else {
    for (int64_t i = 0; i < n; ++i)
      *reinterpret_cast<Out*>(p[0] + i * s[0]) = f(*reinterpret_cast<const In*>(p[I + 1] + i * s[I + 1])...);
  }
}
}  // namespace detail

// out[i] = f(in_0[i], ...): inputs must already have the C++ types In...; they broadcast to out.
template <typename Out, typename... In, typename F>
void map(const Tensor& out, const std::array<const Tensor*, sizeof...(In)>& inputs, const F& f,
         int64_t cost = 1) {
  constexpr size_t N = sizeof...(In) + 1;
  std::array<const Tensor*, N> ops;
  ops[0] = &out;
  for (size_t k = 0; k < sizeof...(In); ++k) ops[k + 1] = inputs[k];
  const int64_t n = out.numel();
  if (n == 0) return;
  // Operands of a storage dtype (int32 read as int64_t, float16 as float) run widened.
  bool widen = out.dtype() != dtype_of<Out>();
  {
    const DType want[] = {dtype_of<In>()..., DType::Bool};
    for (size_t k = 0; k < sizeof...(In); ++k) widen = widen || inputs[k]->dtype() != want[k];
    if (widen) {
      std::array<Tensor, sizeof...(In)> w;
      std::array<const Tensor*, sizeof...(In)> wp;
      for (size_t k = 0; k < sizeof...(In); ++k) {
        w[k] = converted(*inputs[k], want[k]);
        wp[k] = &w[k];
      }
      Tensor o = out.dtype() == dtype_of<Out>() ? out : Tensor::empty(out.shape(), dtype_of<Out>());
      map<Out, In...>(o, wp, f, cost);
      narrow_into(out, o);
      return;
    }
  }
  // Fast path: every operand is contiguous with out's shape (or a single element), so the whole
  // loop is one flat run; no plan (and none of its small allocations) is needed.
  bool flat = out.is_contiguous();
  for (size_t k = 1; k < N && flat; ++k)
    flat = ops[k]->numel() == n && ops[k]->is_contiguous() && (n == 1 || ops[k]->shape() == out.shape());
  if (flat) {
    std::array<int64_t, N> s;
    for (size_t k = 0; k < N; ++k) s[k] = static_cast<int64_t>(ops[k]->itemsize());
    auto inner = [&](int64_t b, int64_t e) {
      std::array<char*, N> p;
      for (size_t k = 0; k < N; ++k) p[k] = ops[k]->data_bytes() + b * s[k];
      detail::map_inner<Out, In...>(p, s, e - b, f, std::index_sequence_for<In...>{});
    };
    parallel_for(n, std::max<int64_t>(1, kGrainSize / cost), inner);
    return;
  }
  auto plan = plan_loop<N>(out.shape(), ops);
  run_loop<N>(plan, [&](const std::array<char*, N>& p, const std::array<int64_t, N>& s, int64_t n) {
    detail::map_inner<Out, In...>(p, s, n, f, std::index_sequence_for<In...>{});
  }, cost);
}

}  // namespace cg::kernels
