// float32 matrix-vector products on our own AVX2+FMA loops instead of BLAS's gemv. A product of
// a matrix that is not small is bound by reading the matrix: a 512x512 float32 matrix (1 MB) does
// not fit one core's L2 (512 KB on Zen 3), and one pass from L3 runs at ~65 GB/s (15-16 us) against
// ~88 GB/s from L2. A forward mv, its backward and their double backward read the same matrix
// several times in a row (W7's Hessian-vector product: S x, S^T a, S x, S^T a). So:
//  - S x walks its rows first to last and S^T a last to first: each pass starts on the rows the
//    previous one read last, which are still in L2 (about half of the matrix). BLAS walks both
//    first to last, so every pass starts on rows evicted long ago.
//  - Products of kChunkWork multiply-adds and more are cut into row blocks fixed by the shape,
//    which this thread and a helper thread (chunk_helper.h) take in turn: two cores then read
//    the matrix, each from its own L2 and L3 port. The blocks run in the same row order as the
//    whole pass would (S^T a's from the last block to the first).
//  - The bits never depend on the thread count: an output of S x is one row's dot product, and
//    S^T a adds the blocks' partial sums to the first block's in block order, whichever thread
//    ran which block.
#include "kernels/linalg_gemv.h"

#include <algorithm>
#include <vector>

#include "kernels/chunk_helper.h"
#include "kernels/loop.h"
#include "kernels/parallel.h"

#ifdef CG_HAVE_AVX2_KERNELS
#include <immintrin.h>
#endif

namespace cg::kernels {

#ifdef CG_HAVE_AVX2_KERNELS
namespace {

constexpr int64_t kMinCols = 16;  // narrower rows keep BLAS (a row would be a few scalar steps)
constexpr int64_t kTRows = 8;  // rows S^T a adds per pass over the output

__attribute__((target("avx2,fma"))) inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// One row's dot product with x, in the same order as four_rows's (so a row's bits do not depend
// on whether it fell into a group of four).
__attribute__((target("avx2,fma"))) inline float one_row(const float* a, const float* x, int64_t cols) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 16 <= cols; j += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(x + j), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 8), _mm256_loadu_ps(x + j + 8), s1);
  }
  if (j + 8 <= cols) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(x + j), s0);
    j += 8;
  }
  float r = hsum(_mm256_add_ps(s0, s1));
  for (; j < cols; ++j) r = __builtin_fmaf(a[j], x[j], r);
  return r;
}

// y[r0, r1) = S[r0, r1) x, rows first to last, four at a time with two accumulators each (eight
// independent FMA chains keep both FMA units busy).
__attribute__((target("avx2,fma"))) void rows_times_vector(const float* S, int64_t ld, int64_t cols,
                                                           const float* x, float* y, int64_t r0, int64_t r1) {
  int64_t i = r0;
  for (; i + 4 <= r1; i += 4) {
    const float *a0 = S + i * ld, *a1 = a0 + ld, *a2 = a1 + ld, *a3 = a2 + ld;
    __m256 s00 = _mm256_setzero_ps(), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00;
    int64_t j = 0;
    for (; j + 16 <= cols; j += 16) {
      const __m256 v0 = _mm256_loadu_ps(x + j), v1 = _mm256_loadu_ps(x + j + 8);
      s00 = _mm256_fmadd_ps(_mm256_loadu_ps(a0 + j), v0, s00);
      s01 = _mm256_fmadd_ps(_mm256_loadu_ps(a0 + j + 8), v1, s01);
      s10 = _mm256_fmadd_ps(_mm256_loadu_ps(a1 + j), v0, s10);
      s11 = _mm256_fmadd_ps(_mm256_loadu_ps(a1 + j + 8), v1, s11);
      s20 = _mm256_fmadd_ps(_mm256_loadu_ps(a2 + j), v0, s20);
      s21 = _mm256_fmadd_ps(_mm256_loadu_ps(a2 + j + 8), v1, s21);
      s30 = _mm256_fmadd_ps(_mm256_loadu_ps(a3 + j), v0, s30);
      s31 = _mm256_fmadd_ps(_mm256_loadu_ps(a3 + j + 8), v1, s31);
    }
    if (j + 8 <= cols) {
      const __m256 v0 = _mm256_loadu_ps(x + j);
      s00 = _mm256_fmadd_ps(_mm256_loadu_ps(a0 + j), v0, s00);
      s10 = _mm256_fmadd_ps(_mm256_loadu_ps(a1 + j), v0, s10);
      s20 = _mm256_fmadd_ps(_mm256_loadu_ps(a2 + j), v0, s20);
      s30 = _mm256_fmadd_ps(_mm256_loadu_ps(a3 + j), v0, s30);
      j += 8;
    }
    float r[4] = {hsum(_mm256_add_ps(s00, s01)), hsum(_mm256_add_ps(s10, s11)), hsum(_mm256_add_ps(s20, s21)),
                  hsum(_mm256_add_ps(s30, s31))};
    for (; j < cols; ++j) {
      r[0] = __builtin_fmaf(a0[j], x[j], r[0]);
      r[1] = __builtin_fmaf(a1[j], x[j], r[1]);
      r[2] = __builtin_fmaf(a2[j], x[j], r[2]);
      r[3] = __builtin_fmaf(a3[j], x[j], r[3]);
    }
    for (int k = 0; k < 4; ++k) y[i + k] = r[k];
  }
  for (; i < r1; ++i) y[i] = one_row(S + i * ld, x, cols);
}

// p = S[r0, r1)^T a[r0, r1), rows last to first: the odd rows past the last full group of
// kTRows one by one, then the groups, each group's rows added to p in ascending order.
__attribute__((target("avx2,fma"))) void rows_transposed_times_vector(const float* S, int64_t ld, int64_t cols,
                                                                      const float* a, float* p, int64_t r0,
                                                                      int64_t r1) {
  std::fill(p, p + cols, 0.0f);
  const int64_t full_end = r0 + (r1 - r0) / kTRows * kTRows;
  for (int64_t i = r1 - 1; i >= full_end; --i) {
    const float* row = S + i * ld;
    const __m256 b = _mm256_set1_ps(a[i]);
    int64_t j = 0;
    for (; j + 8 <= cols; j += 8)
      _mm256_storeu_ps(p + j, _mm256_fmadd_ps(_mm256_loadu_ps(row + j), b, _mm256_loadu_ps(p + j)));
    for (; j < cols; ++j) p[j] = __builtin_fmaf(row[j], a[i], p[j]);
  }
  for (int64_t i = full_end - kTRows; i >= r0; i -= kTRows) {
    const float* row = S + i * ld;
    __m256 b[kTRows];
    for (int k = 0; k < kTRows; ++k) b[k] = _mm256_set1_ps(a[i + k]);
    int64_t j = 0;
    for (; j + 8 <= cols; j += 8) {
      __m256 acc = _mm256_loadu_ps(p + j);
      for (int k = 0; k < kTRows; ++k) acc = _mm256_fmadd_ps(_mm256_loadu_ps(row + k * ld + j), b[k], acc);
      _mm256_storeu_ps(p + j, acc);
    }
    for (; j < cols; ++j) {
      float acc = p[j];
      for (int k = 0; k < kTRows; ++k) acc = __builtin_fmaf(row[k * ld + j], a[i + k], acc);
      p[j] = acc;
    }
  }
}

// Products of kChunkWork multiply-adds and more are cut into row blocks fixed by the shape:
// each block (a "chunk") is one call of the loops above, run by this thread or its helper.
constexpr int64_t kChunkWork = int64_t{1} << 15;   // multiply-adds per block at least
constexpr int64_t kMaxChunks = 16;
constexpr int64_t kOpenMPWork = int64_t{1} << 21;  // above this, more than 2 threads pay off

struct Chunked {
  const float *S, *x;
  float *y, *partial;  // partial: S^T a's block sums, (chunks - 1) * cols
  int64_t rows, cols, ld, chunks;
  int64_t row_begin(int64_t b) const { return rows / kTRows * b / chunks * kTRows; }
  int64_t row_end(int64_t b) const { return b + 1 == chunks ? rows : row_begin(b + 1); }
};

void chunk_n(const void* ctx, int64_t b) {
  const Chunked& c = *static_cast<const Chunked*>(ctx);
  rows_times_vector(c.S, c.ld, c.cols, c.x, c.y, c.row_begin(b), c.row_end(b));
}

// Chunk k of S^T a is block chunks-1-k: claimed in order, the pass runs from the last row to the first.
void chunk_t(const void* ctx, int64_t k) {
  const Chunked& c = *static_cast<const Chunked*>(ctx);
  const int64_t b = c.chunks - 1 - k;
  float* out = b == 0 ? c.y : c.partial + (b - 1) * c.cols;
  rows_transposed_times_vector(c.S, c.ld, c.cols, c.x, out, c.row_begin(b), c.row_end(b));
}

void run_chunked(const Chunked& c, ChunkFn fn) {
  const int threads = intra_op_threads();
  if (threads > 2 && c.rows * c.cols >= kOpenMPWork) {
    parallel_for(c.chunks, 1, [&](int64_t k0, int64_t k1) {
      for (int64_t k = k0; k < k1; ++k) fn(&c, k);
    });
  } else if (threads >= 2) {
    run_chunks(c.chunks, fn, &c);
  } else {
    for (int64_t k = 0; k < c.chunks; ++k) fn(&c, k);
  }
}

}  // namespace
#endif

bool stored_gemv_f32(const float* S, int64_t rows, int64_t cols, int64_t ld, bool trans, const float* x, float* y) {
#ifdef CG_HAVE_AVX2_KERNELS
  if (!cpu_has_avx2_fma() || cols < kMinCols || rows < 1) return false;
  const int64_t chunks = std::min({kMaxChunks, rows * cols / kChunkWork, rows / kTRows});
  if (chunks < 2) {
    if (trans) rows_transposed_times_vector(S, ld, cols, x, y, 0, rows);
    else rows_times_vector(S, ld, cols, x, y, 0, rows);
    return true;
  }
  if (!trans) {
    run_chunked(Chunked{S, x, y, nullptr, rows, cols, ld, chunks}, &chunk_n);
    return true;
  }
  // Block 0 writes y, the others their partial sums, added to y in block order: the same
  // additions whichever thread ran which block.
  thread_local std::vector<float> partial;
  partial.resize(static_cast<size_t>((chunks - 1) * cols));
  run_chunked(Chunked{S, x, y, partial.data(), rows, cols, ld, chunks}, &chunk_t);
  for (int64_t b = 1; b < chunks; ++b) {
    const float* p = partial.data() + (b - 1) * cols;
    for (int64_t j = 0; j < cols; ++j) y[j] += p[j];
  }
  return true;
#else
  (void)S, (void)rows, (void)cols, (void)ld, (void)trans, (void)x, (void)y;
  return false;
#endif
}

}  // namespace cg::kernels
