// The one strided-loop engine every elementwise kernel runs on. Operands (output first) share
// one shape; broadcast inputs carry stride 0. Dimensions that are contiguous across all operands
// are merged, so the common case collapses to a single flat loop the compiler vectorizes.
//
// Compile time matters here (dtypes x ops x loop shapes multiply), so only one loop is
// instantiated per operation: the contiguous one, which the compiler vectorizes. Planning, the
// odometer over outer dimensions, the parallel split and strided rows (gathered into small
// contiguous buffers and scattered back) are compiled once in loop.cpp and call that loop
// through a function pointer, once per chunk.
#pragma once
#include <array>
#include <cstdint>
#include <tuple>
#include <utility>

#include "core/tensor.h"
#include "kernels/convert.h"
#include "kernels/parallel.h"

namespace cg::kernels {

// Views `t` with the strides it would have when broadcast to `shape` (stride 0 where expanded).
Shape broadcast_strides(const Tensor& t, const Shape& shape);

// Outputs and inputs: where(cond, a, b) has one output and three inputs, a fused VJP such as
// mul_backward two outputs and three inputs.
constexpr size_t kMaxOperands = 5;

// Processes n contiguous elements: ptrs[k] is operand k's first element. `ctx` is the
// operation's function object.
using RowFn = void (*)(const void* ctx, char* const* ptrs, int64_t n);

// Runs `row` over every element of ops[0]'s shape (ops[0..n_out) are the outputs, all of that
// shape; the inputs broadcast to it), on several threads when large. `cost` scales the grain
// for expensive per-element work.
void run_elementwise(const Tensor* const* ops, size_t n_ops, RowFn row, const void* ctx, int64_t cost,
                     size_t n_out = 1);

// Outputs this large are far beyond what the caches keep until the next op reads them, so
// loops write them with non-temporal stores: a plain store first reads each line it writes (the
// write-allocate), a third more traffic on a two-operand pass. Below it the next op's reads hit
// the cache and plain stores win. CHAINGRAD_STREAM_BYTES sets the size (0: never stream).
bool worth_streaming(int64_t output_bytes);
// dst = src (n bytes), non-temporal where dst is 16-byte aligned; stream_fence() before anyone
// else may read what was stored (the stores are weakly ordered).
void stream_copy(char* dst, const char* src, int64_t n);
void stream_fence();

namespace detail {
// Forced inline so that each caller compiles it for its own target (see map_row_fn_avx2).
template <typename Out, typename... In, typename F, size_t... I>
inline __attribute__((always_inline)) void map_row(const F& f, char* const* p, int64_t n, std::index_sequence<I...>) {
  Out* __restrict o = reinterpret_cast<Out*>(p[0]);
  std::tuple<const In*...> in{reinterpret_cast<const In*>(p[I + 1])...};
  for (int64_t i = 0; i < n; ++i) o[i] = f(std::get<I>(in)[i]...);
}

template <typename F, typename Out, typename... In>
void map_row_fn(const void* ctx, char* const* p, int64_t n) {
  map_row<Out, In...>(*static_cast<const F*>(ctx), p, n, std::index_sequence_for<In...>{});
}

#if defined(__GNUC__) && defined(__x86_64__)
#define CG_HAVE_AVX2_KERNELS 1
// The same row compiled for AVX2+FMA (twice the lanes of the SSE2 baseline). Everything it
// inlines (the op's lambda, vecmath.h) is compiled for that target inside it; it has its own
// symbol, so no baseline code ever links to AVX2 code. Called only when the CPU has AVX2 and FMA.
template <typename F, typename Out, typename... In>
__attribute__((target("avx2,fma"))) void map_row_fn_avx2(const void* ctx, char* const* p, int64_t n) {
  map_row<Out, In...>(*static_cast<const F*>(ctx), p, n, std::index_sequence_for<In...>{});
}
// And for AVX-512 (F/DQ/BW/VL: every AVX-512 CPU since Skylake-SP and Zen 4): 16 float lanes.
template <typename F, typename Out, typename... In>
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma,prefer-vector-width=512"))) void map_row_fn_avx512(
    const void* ctx, char* const* p, int64_t n) {
  map_row<Out, In...>(*static_cast<const F*>(ctx), p, n, std::index_sequence_for<In...>{});
}
#endif
}  // namespace detail

// Runs `f` over out and inputs (the op's row function `row`), widening operands of a storage
// dtype (int32 read as int64_t, float16 as float) to the kernel's types first and narrowing the
// result back: every kernel accepts every dtype without being instantiated for it.
template <typename Out, typename... In, typename F>
void run_map(const Tensor& out, const std::array<const Tensor*, sizeof...(In)>& inputs, const F& f, int64_t cost,
             RowFn row) {
  static_assert(sizeof...(In) + 1 <= kMaxOperands, "map: too many operands");
  const DType want[] = {dtype_of<In>()..., DType::Bool};
  // 0-d operands of the kernel's own types (every VJP of a scalar graph): the row on one element,
  // none of the loop planning. The same row function, so the same bits as any other size.
  if (out.dim() == 0 && out.dtype() == dtype_of<Out>()) {
    bool plain = true;
    for (size_t k = 0; k < sizeof...(In); ++k) plain = plain && inputs[k]->dim() == 0 && inputs[k]->dtype() == want[k];
    if (plain) {
      char* p[sizeof...(In) + 1] = {out.data_bytes()};
      for (size_t k = 0; k < sizeof...(In); ++k) p[k + 1] = inputs[k]->data_bytes();
      return row(&f, p, 1);
    }
  }
  if (out.numel() == 0) return;
  bool widen = out.dtype() != dtype_of<Out>();
  for (size_t k = 0; k < sizeof...(In); ++k) widen = widen || inputs[k]->dtype() != want[k];
  if (widen) {
    std::array<Tensor, sizeof...(In)> w;
    std::array<const Tensor*, sizeof...(In)> wp;
    for (size_t k = 0; k < sizeof...(In); ++k) {
      w[k] = converted(*inputs[k], want[k]);
      wp[k] = &w[k];
    }
    Tensor o = out.dtype() == dtype_of<Out>() ? out : Tensor::empty(out.shape(), dtype_of<Out>());
    run_map<Out, In...>(o, wp, f, cost, row);
    narrow_into(out, o);
    return;
  }
  std::array<const Tensor*, sizeof...(In) + 1> ops;
  ops[0] = &out;
  for (size_t k = 0; k < sizeof...(In); ++k) ops[k + 1] = inputs[k];
  run_elementwise(ops.data(), ops.size(), row, &f, cost);
}

// out[i] = f(in_0[i], ...) for inputs of the C++ types In... (others are widened); they broadcast to out.
template <typename Out, typename... In, typename F>
void map(const Tensor& out, const std::array<const Tensor*, sizeof...(In)>& inputs, const F& f,
         int64_t cost = 1) {
  run_map<Out, In...>(out, inputs, f, cost, &detail::map_row_fn<F, Out, In...>);
}

// map() with the row compiled for AVX-512 or AVX2+FMA when this CPU has them (chosen at run
// time, never by -march): for loops whose body is heavy arithmetic (the vecmath
// transcendentals), where two or four times the lanes pay.
bool cpu_has_avx2_fma();
bool cpu_has_avx512();
// The row function map_wide() runs for F on this CPU.
template <typename F, typename Out, typename... In>
RowFn wide_row_fn() {
#ifdef CG_HAVE_AVX2_KERNELS
  if (cpu_has_avx512()) return &detail::map_row_fn_avx512<F, Out, In...>;
  if (cpu_has_avx2_fma()) return &detail::map_row_fn_avx2<F, Out, In...>;
#endif
  return &detail::map_row_fn<F, Out, In...>;
}
template <typename Out, typename... In, typename F>
void map_wide(const Tensor& out, const std::array<const Tensor*, sizeof...(In)>& inputs, const F& f,
              int64_t cost = 1) {
  run_map<Out, In...>(out, inputs, f, cost, wide_row_fn<F, Out, In...>());
}

}  // namespace cg::kernels
