#include "kernels/loop.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "core/errors.h"

namespace cg::kernels {

Shape broadcast_strides(const Tensor& t, const Shape& shape) {
  // Callers size `out` by broadcasting; an operand that does not broadcast to it is a bug upstream,
  // reported instead of reading or writing out of bounds.
  bool ok = t.shape().size() <= shape.size();
  for (size_t i = 0; ok && i < t.shape().size(); ++i) {
    const int64_t have = t.shape()[i], want = shape[shape.size() - t.shape().size() + i];
    ok = have == want || have == 1;
  }
  if (!ok)
    throw RuntimeError(msg("output with shape ", shape_str(shape), " doesn't match the broadcast shape ",
                           shape_str(broadcast_shapes(shape, t.shape()))));
  Shape out(shape.size(), 0);
  size_t off = shape.size() - t.shape().size();
  for (size_t i = 0; i < t.shape().size(); ++i)
    out[off + i] = t.shape()[i] == 1 && shape[off + i] != 1 ? 0 : t.strides()[i];
  return out;
}

// ---- non-temporal stores ----------------------------------------------------------------------

int64_t stream_threshold() {
  static const int64_t bytes = [] {
    const char* env = std::getenv("CHAINGRAD_STREAM_BYTES");
    return env && *env ? std::atoll(env) : int64_t{16} << 20;
  }();
  return bytes;
}

bool worth_streaming(int64_t bytes) {
#ifdef __SSE2__
  const int64_t limit = stream_threshold();
  return limit > 0 && bytes >= limit;
#else
  (void)bytes;
  return false;
#endif
}

void stream_copy(char* dst, const char* src, int64_t n) {
#ifdef __SSE2__
  const int64_t head = std::min<int64_t>(n, (16 - static_cast<int64_t>(reinterpret_cast<uintptr_t>(dst) & 15)) & 15);
  std::memcpy(dst, src, static_cast<size_t>(head));
  int64_t i = head;
  for (; i + 16 <= n; i += 16)
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i), _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
  std::memcpy(dst + i, src + i, static_cast<size_t>(n - i));
#else
  std::memcpy(dst, src, static_cast<size_t>(n));
#endif
}

void stream_fence() {
#ifdef __SSE2__
  _mm_sfence();
#endif
}

namespace {

using Ptrs = std::array<char*, kMaxOperands>;
using Steps = std::array<int64_t, kMaxOperands>;

// The loop after dropping size-1 dims and merging dims that are contiguous across all operands.
struct LoopPlan {
  Shape shape;                                  // merged shape
  Ptrs base{};                                  // first element of each operand
  std::array<Shape, kMaxOperands> strides;      // byte strides per operand, per merged dim
};

LoopPlan plan_loop(const Shape& shape, const Tensor* const* ops, size_t n_ops) {
  LoopPlan plan;
  std::array<Shape, kMaxOperands> st;
  for (size_t k = 0; k < n_ops; ++k) {
    st[k] = broadcast_strides(*ops[k], shape);
    plan.base[k] = ops[k]->data_bytes();
    for (auto& s : st[k]) s *= static_cast<int64_t>(ops[k]->itemsize());
  }
  // The innermost loop runs along the dim where most operands are contiguous (the output's last
  // dim on ties): adding two transposed tensors into a row-major output then reads both inputs
  // in order and buffers only the output, instead of the other way round.
  std::vector<size_t> order;
  for (size_t d = 0; d < shape.size(); ++d)
    if (shape[d] != 1) order.push_back(d);
  if (order.size() > 1) {
    auto contiguous_operands = [&](size_t d) {
      int c = 0;
      for (size_t k = 0; k < n_ops; ++k) c += st[k][d] == static_cast<int64_t>(ops[k]->itemsize());
      return c;
    };
    size_t best = order.size() - 1;
    for (size_t i = order.size() - 1; i-- > 0;)
      if (contiguous_operands(order[i]) > contiguous_operands(order[best])) best = i;
    std::rotate(order.begin() + static_cast<std::ptrdiff_t>(best), order.begin() + static_cast<std::ptrdiff_t>(best) + 1,
                order.end());
  }
  // Merge dim d into the previous one when every operand steps contiguously across them.
  for (size_t d : order) {
    if (!plan.shape.empty()) {
      bool mergeable = true;
      for (size_t k = 0; k < n_ops && mergeable; ++k) mergeable = plan.strides[k].back() == shape[d] * st[k][d];
      if (mergeable) {
        plan.shape.back() *= shape[d];
        for (size_t k = 0; k < n_ops; ++k) plan.strides[k].back() = st[k][d];
        continue;
      }
    }
    plan.shape.push_back(shape[d]);
    for (size_t k = 0; k < n_ops; ++k) plan.strides[k].push_back(st[k][d]);
  }
  if (plan.shape.empty()) {
    plan.shape.push_back(1);
    for (size_t k = 0; k < n_ops; ++k) plan.strides[k].push_back(0);
  }
  return plan;
}

// Strided rows are computed in chunks through contiguous buffers, so each operation compiles a
// single (vectorized) loop; the copies are cheap next to the strided memory traffic itself.
constexpr int64_t kChunk = 512;
constexpr size_t kMaxItemsize = 8;
// Tiles of strided loops: 16 rows cover a 64-byte line of float32; 256 columns of two strided
// operands (16 KB each) stay within L1.
constexpr int64_t kTileRows = 16;
constexpr int64_t kTileCols = 256;

template <typename W>
void gather_as(char* dst, const char* src, int64_t stride, int64_t n) {
  W* d = reinterpret_cast<W*>(dst);
  for (int64_t i = 0; i < n; ++i) std::memcpy(d + i, src + i * stride, sizeof(W));
}
template <typename W>
void scatter_as(char* dst, int64_t stride, const char* src, int64_t n) {
  const W* s = reinterpret_cast<const W*>(src);
  for (int64_t i = 0; i < n; ++i) std::memcpy(dst + i * stride, s + i, sizeof(W));
}
void gather(char* dst, const char* src, int64_t stride, size_t itemsize, int64_t n) {
  switch (itemsize) {
    case 1: return gather_as<uint8_t>(dst, src, stride, n);
    case 2: return gather_as<uint16_t>(dst, src, stride, n);
    case 4: return gather_as<uint32_t>(dst, src, stride, n);
    case 8: return gather_as<uint64_t>(dst, src, stride, n);
    default: throw std::logic_error("gather: unsupported itemsize");
  }
}
void scatter(char* dst, int64_t stride, const char* src, size_t itemsize, int64_t n) {
  switch (itemsize) {
    case 1: return scatter_as<uint8_t>(dst, stride, src, n);
    case 2: return scatter_as<uint16_t>(dst, stride, src, n);
    case 4: return scatter_as<uint32_t>(dst, stride, src, n);
    case 8: return scatter_as<uint64_t>(dst, stride, src, n);
    default: throw std::logic_error("scatter: unsupported itemsize");
  }
}

struct Operands {
  size_t n = 0;
  size_t n_out = 1;  // the first n_out operands are outputs
  Steps itemsize{};
  bool stream = false;  // contiguous outputs written with non-temporal stores (see stream_outputs)
};

bool stream_outputs(const Tensor* const* ops, size_t n_ops, size_t n_out) {
#ifdef __SSE2__
  int64_t bytes = 0;
  for (size_t k = 0; k < n_out; ++k) bytes += ops[k]->numel() * static_cast<int64_t>(ops[k]->itemsize());
  if (!worth_streaming(bytes)) return false;
  // Only for memory-bound loops (cost 1: the transcendentals' rows lose more to the detour through
  // a buffer than they gain). An output that is also an input (x.add_(y)) has its lines in cache
  // already: no write-allocate to save.
  for (size_t k = 0; k < n_out; ++k)
    for (size_t j = n_out; j < n_ops; ++j)
      if (ops[j]->storage() == ops[k]->storage()) return false;
  return true;
#else
  (void)ops, (void)n_ops, (void)n_out;
  return false;
#endif
}

// One row of n elements starting at p with byte strides s.
void run_row(const Operands& ops, RowFn row, const void* ctx, const Ptrs& p, const Steps& s, int64_t n) {
  bool contiguous = true;
  for (size_t k = 0; k < ops.n; ++k) contiguous = contiguous && s[k] == ops.itemsize[k];
  if (contiguous && !ops.stream) return row(ctx, p.data(), n);
  alignas(64) char buf[kMaxOperands][kChunk * kMaxItemsize];
  // A broadcast input (stride 0, e.g. the expanded gradient of a sum) is one value repeated:
  // its buffer is filled once per row, not once per chunk.
  for (size_t k = ops.n_out; k < ops.n; ++k)
    if (s[k] == 0) gather(buf[k], p[k], 0, ops.itemsize[k], std::min(kChunk, n));
  // Streamed rows: the first chunk ends where output 0 reaches a cache line, so every later
  // chunk's stores cover whole lines.
  int64_t first = kChunk;
  if (ops.stream && s[0] == ops.itemsize[0]) {
    const int64_t mis = static_cast<int64_t>(reinterpret_cast<uintptr_t>(p[0]) & 63);
    if (mis != 0 && (64 - mis) % ops.itemsize[0] == 0) first = (64 - mis) / ops.itemsize[0];
  }
  for (int64_t off = 0; off < n;) {
    const int64_t m = std::min(off == 0 ? first : kChunk, n - off);
    Ptrs q{};
    for (size_t k = 0; k < ops.n; ++k) {
      char* at = p[k] + off * s[k];
      if (s[k] == ops.itemsize[k] && !(ops.stream && k < ops.n_out)) {
        q[k] = at;
      } else {
        q[k] = buf[k];
        if (k >= ops.n_out && s[k] != 0) gather(buf[k], at, s[k], ops.itemsize[k], m);
      }
    }
    row(ctx, q.data(), m);
    for (size_t k = 0; k < ops.n_out; ++k) {
      if (q[k] != buf[k]) continue;
      if (s[k] == ops.itemsize[k]) stream_copy(p[k] + off * s[k], buf[k], m * s[k]);
      else scatter(p[k] + off * s[k], s[k], buf[k], ops.itemsize[k], m);
    }
    off += m;
  }
  if (ops.stream) stream_fence();
}

void run_planned(const LoopPlan& plan, const Operands& ops, RowFn row, const void* ctx, int64_t grain) {
  const int64_t ndim = static_cast<int64_t>(plan.shape.size());
  const int64_t n_inner = plan.shape.back();
  Steps inner{};
  for (size_t k = 0; k < ops.n; ++k) inner[k] = plan.strides[k].back();
  if (ndim == 1) {
    parallel_for(n_inner, grain, [&](int64_t b, int64_t e) {
      Ptrs p{};
      for (size_t k = 0; k < ops.n; ++k) p[k] = plan.base[k] + b * inner[k];
      run_row(ops, row, ctx, p, inner, e - b);
    });
    return;
  }
  int64_t rows = 1;
  for (int64_t d = 0; d < ndim - 1; ++d) rows *= plan.shape[d];
  bool strided = false;
  for (size_t k = 0; k < ops.n; ++k) strided = strided || inner[k] != ops.itemsize[k];
  const int64_t last = plan.shape[ndim - 2];
  parallel_for(rows, std::max<int64_t>(1, grain / n_inner), [&](int64_t b, int64_t e) {
    // Decompose the first row index once, then step an odometer.
    Shape idx(ndim - 1);
    int64_t r = b;
    for (int64_t d = ndim - 2; d >= 0; --d) {
      idx[d] = r % plan.shape[d];
      r /= plan.shape[d];
    }
    for (int64_t i = b; i < e;) {
      Ptrs p = plan.base;
      for (int64_t d = 0; d < ndim - 1; ++d)
        for (size_t k = 0; k < ops.n; ++k) p[k] += idx[d] * plan.strides[k][d];
      // Strided rows (a transposed operand) go in tiles of kTileRows neighbouring rows by
      // kTileCols columns: the cache lines a strided operand touches in one tile row are then
      // used by the tile's next rows while still in L1, instead of being refetched per row.
      const int64_t block = strided ? std::min({kTileRows, e - i, last - idx[ndim - 2]}) : 1;
      if (block == 1) {
        run_row(ops, row, ctx, p, inner, n_inner);
      } else {
        for (int64_t off = 0; off < n_inner; off += kTileCols) {
          const int64_t m = std::min(kTileCols, n_inner - off);
          for (int64_t j = 0; j < block; ++j) {
            Ptrs q{};
            for (size_t k = 0; k < ops.n; ++k) q[k] = p[k] + j * plan.strides[k][ndim - 2] + off * inner[k];
            run_row(ops, row, ctx, q, inner, m);
          }
        }
      }
      i += block;
      idx[ndim - 2] += block - 1;
      for (int64_t d = ndim - 2; d >= 0; --d) {
        if (++idx[d] < plan.shape[d]) break;
        idx[d] = 0;
      }
    }
  });
}

}  // namespace

bool cpu_has_avx2_fma() {
#ifdef CG_HAVE_AVX2_KERNELS
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
#else
  return false;
#endif
}

bool cpu_has_avx512() {
#ifdef CG_HAVE_AVX2_KERNELS
  static const bool has = cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f") &&
                          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && !std::getenv("CHAINGRAD_NO_AVX512");
  return has;
#else
  return false;
#endif
}

void run_elementwise(const Tensor* const* ops, size_t n_ops, RowFn row, const void* ctx, int64_t cost, size_t n_out) {
  CG_CHECK(n_ops >= 1 && n_ops <= kMaxOperands && n_out >= 1 && n_out <= n_ops, "run_elementwise: bad operand count ",
           n_ops);
  const Tensor& out = *ops[0];
  const int64_t n = out.numel();
  if (n == 0) return;
  const int64_t grain = std::max<int64_t>(1, kGrainSize / cost);
  Operands info;
  info.n = n_ops;
  info.n_out = n_out;
  for (size_t k = 0; k < n_ops; ++k) {
    info.itemsize[k] = static_cast<int64_t>(ops[k]->itemsize());
    CG_CHECK(ops[k]->itemsize() <= kMaxItemsize, "run_elementwise: unsupported itemsize");
  }
  // Fast path: every operand is contiguous with out's shape (or a single element), so the whole
  // loop is one flat run; no plan (and none of its small allocations) is needed.
  bool flat = out.is_contiguous();
  for (size_t k = 1; k < n_ops && flat; ++k)
    flat = ops[k]->numel() == n && ops[k]->is_contiguous() && (n == 1 || ops[k]->shape() == out.shape());
  if (flat) {
    Ptrs base{};
    for (size_t k = 0; k < n_ops; ++k) base[k] = ops[k]->data_bytes();
    if (n <= grain) return row(ctx, base.data(), n);
    info.stream = cost == 1 && stream_outputs(ops, n_ops, n_out);
    parallel_for(n, grain, [&](int64_t b, int64_t e) {
      Ptrs p{};
      for (size_t k = 0; k < n_ops; ++k) p[k] = base[k] + b * info.itemsize[k];
      run_row(info, row, ctx, p, info.itemsize, e - b);
    });
    return;
  }
  info.stream = cost == 1 && stream_outputs(ops, n_ops, n_out);
  run_planned(plan_loop(out.shape(), ops, n_ops), info, row, ctx, grain);
}

}  // namespace cg::kernels
