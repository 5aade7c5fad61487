#include "kernels/fused_chain.h"

#include <algorithm>
#include <cstring>

#include "core/errors.h"
#include "kernels/loop.h"
#include "kernels/parallel.h"

namespace cg::kernels {

namespace {
// 2048 elements: the gradient and side blocks of float32 (8 KB each) stay in L1/L2 with the
// operands' lines; large enough that the per-block dispatch costs nothing.
constexpr int64_t kBlock = 2048;

#define CG_CHAIN_INLINE inline __attribute__((always_inline))

template <typename T, typename F>
CG_CHAIN_INLINE void block(T* __restrict out, const T* __restrict g, const T* __restrict s, int64_t n, const F& f) {
  for (int64_t i = 0; i < n; ++i) out[i] = f(g[i], s[i]);
}

// out = op(g, s) on n elements. The expressions are those of the unfused kernels.
template <typename T>
CG_CHAIN_INLINE void apply_op(GradOp op, T* __restrict out, const T* __restrict g, const T* s, const Scalar& c, int64_t n) {
  switch (op) {
    case GradOp::None: return;
    case GradOp::Pass: std::memcpy(out, g, static_cast<size_t>(n) * sizeof(T)); return;
    case GradOp::Neg:
      for (int64_t i = 0; i < n; ++i) out[i] = -g[i];
      return;
    case GradOp::Scale: {
      const T k = c.to<T>();
      for (int64_t i = 0; i < n; ++i) out[i] = g[i] * k;
      return;
    }
    case GradOp::DivScale: {
      const T k = c.to<T>();
      for (int64_t i = 0; i < n; ++i) out[i] = g[i] / k;
      return;
    }
    case GradOp::Mul: return block(out, g, s, n, [](T a, T b) { return a * b; });
    case GradOp::TanhGrad: return block(out, g, s, n, TanhGrad{});
    case GradOp::SigmoidGrad: return block(out, g, s, n, SigmoidGrad{});
    case GradOp::ReluGrad: return block(out, g, s, n, [](T a, T b) { return b > T(0) ? a : T(0); });
  }
}

struct Chain {
  const ChainStep* steps;
  size_t n_steps;
  const char* g0;
  bool g0_broadcast;
  bool stream;  // side outputs through a block buffer and non-temporal stores
};

template <typename T>
CG_CHAIN_INLINE void run_range(const Chain& c, int64_t begin, int64_t end) {
  alignas(64) T grad[2][kBlock];
  alignas(64) T side[ChainStep::kMaxOutputs][kBlock];
  alignas(64) T bcast[kBlock];
  alignas(64) T held[ChainStep::kMaxHeld][kBlock];
  if (c.g0_broadcast) std::fill(bcast, bcast + kBlock, *reinterpret_cast<const T*>(c.g0));
  for (int64_t b = begin; b < end;) {
    // Blocks start at multiples of kBlock (but the first), so streamed blocks cover whole lines.
    const int64_t m = std::min(end, (b / kBlock + 1) * kBlock) - b;
    const T* g = c.g0_broadcast ? bcast : reinterpret_cast<const T*>(c.g0) + b;
    int cur = 0;
    for (size_t j = 0; j < c.n_steps; ++j) {
      const ChainStep& s = c.steps[j];
      // g passes on unchanged (add's gradient): the next step reads this block again.
      const bool pass = s.next >= 0 && s.op[s.next] == GradOp::Pass;
      for (int i = 0; i < ChainStep::kMaxOutputs; ++i) {
        const bool off_chain = i != s.next;
        if (s.op[i] == GradOp::None || (off_chain && !s.side[i] && s.hold[i] < 0) || (pass && !off_chain)) continue;
        if (s.op[i] == GradOp::Pass && off_chain && c.stream && s.hold[i] < 0 && s.add[i] < 0) {
          stream_copy(s.side[i] + b * static_cast<int64_t>(sizeof(T)), reinterpret_cast<const char*>(g),
                      m * static_cast<int64_t>(sizeof(T)));
          continue;
        }
        T* dst = !off_chain ? grad[cur] : s.hold[i] >= 0 ? held[s.hold[i]] : reinterpret_cast<T*>(s.side[i]) + b;
        T* out = off_chain && s.hold[i] < 0 && c.stream ? side[i] : dst;
        const T* operand = s.operand[i] ? reinterpret_cast<const T*>(s.operand[i]) + b : nullptr;
        apply_op<T>(s.op[i], out, g, operand, s.scalar[i], m);
        if (s.add[i] >= 0) {
          const T* __restrict h = held[s.add[i]];
          for (int64_t k = 0; k < m; ++k) out[k] = h[k] + out[k];
        }
        if (off_chain && s.hold[i] < 0 && c.stream)
          stream_copy(reinterpret_cast<char*>(dst), reinterpret_cast<const char*>(out), m * static_cast<int64_t>(sizeof(T)));
      }
      if (s.next >= 0 && !pass) {
        g = grad[cur];
        cur ^= 1;
      }
    }
    b += m;
  }
  if (c.stream) stream_fence();
}
template <typename T>
void run_range_baseline(const Chain& c, int64_t begin, int64_t end) { run_range<T>(c, begin, end); }
#if defined(__GNUC__) && defined(__x86_64__)
// Twice the lanes where the CPU has AVX2. Without FMA: a fused multiply-add would round once
// where the unfused kernels round twice, and the bits must match theirs.
template <typename T>
__attribute__((target("avx2"))) void run_range_avx2(const Chain& c, int64_t begin, int64_t end) {
  run_range<T>(c, begin, end);
}
#endif
template <typename T>
void run_range_best(const Chain& c, int64_t begin, int64_t end) {
#if defined(__GNUC__) && defined(__x86_64__)
  if (cpu_has_avx2_fma()) return run_range_avx2<T>(c, begin, end);
#endif
  run_range_baseline<T>(c, begin, end);
}
}  // namespace

void run_chain(const ChainStep* steps, size_t n_steps, const char* g0, bool g0_broadcast, int64_t n, bool is_double) {
  CG_CHECK(n_steps > 0, "run_chain: no steps");
  const int64_t item = is_double ? 8 : 4;
  int64_t side_bytes = 0;
  for (size_t j = 0; j < n_steps; ++j)
    for (int i = 0; i < ChainStep::kMaxOutputs; ++i)
      if (i != steps[j].next && steps[j].side[i]) side_bytes += n * item;
  const Chain c{steps, n_steps, g0, g0_broadcast, worth_streaming(side_bytes)};
  // A chain is as much work as its steps: split it as a cheap loop of n * steps elements.
  const int64_t grain = std::max<int64_t>(kBlock, kGrainSize / static_cast<int64_t>(n_steps));
  parallel_for(n, grain, [&](int64_t b, int64_t e) {
    if (is_double) run_range_best<double>(c, b, e);
    else run_range_best<float>(c, b, e);
  });
}

}  // namespace cg::kernels
