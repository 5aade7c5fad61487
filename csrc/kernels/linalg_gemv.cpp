// Matrix-vector products on our own loops rather than BLAS's gemv, for two reasons.
//  - Threads split the *stored* matrix by rows, the same rows to the same thread for S x and for
//    S^T x. A matrix that one computation multiplies again and again, both ways (a forward mv, its
//    backward, their double backward: W7's Hessian-vector product reads its 512x512 weight four
//    times), then stays in each core's L2: one float32 512x512 matrix is 1 MB, a whole Zen 4 L2,
//    which one core cannot keep, but half of it per core fits. OpenBLAS splits S x by rows and
//    S^T x by columns, and wakes its threads slower than the OpenMP team that is already spinning.
//  - The result does not depend on the thread count: an output of S x is one row's dot product
//    (rows go to threads in groups of 4, and the remainder is always the last rows), and S^T x
//    sums the partial products of a number of row blocks fixed by the shape, in a fixed order.
#include <algorithm>
#include <memory>

#include "kernels/linalg.h"
#include "kernels/loop.h"
#include "kernels/parallel.h"

namespace cg::kernels {

namespace {

constexpr int64_t kRowsPerGroup = 4;
// Multiply-adds a thread (and a row block of S^T x) gets at least. chaingrad's OpenMP workers wait
// passively (OMP_WAIT_POLICY=PASSIVE, python/chaingrad/__init__.py): each parallel loop wakes
// them through futexes, ~10 us and more on a busy machine. A 512x512 float product took 11 us on
// one thread and 19-50 us on two that way (5.5 us with a spinning team, in C++), so only products
// of millions of multiply-adds are split.
constexpr int64_t kGemvWorkPerThread = int64_t{1} << 20;
constexpr int64_t kMaxRowBlocks = 8;
// Narrower matrices keep BLAS: a 4-row group's dot products would be a few scalar steps each.
constexpr int64_t kMinCols = 16;

// The loops, forced inline so that each target's copy below compiles them with its own lanes.
// y[r0, r1) = S[r0, r1) x.
template <typename T>
inline __attribute__((always_inline)) void rows_times_vector(const T* S, int64_t ld, int64_t cols,
                                                             const T* __restrict x, T* __restrict y, int64_t r0,
                                                             int64_t r1) {
  int64_t i = r0;
  for (; i + kRowsPerGroup <= r1; i += kRowsPerGroup) {
    const T *a0 = S + i * ld, *a1 = a0 + ld, *a2 = a1 + ld, *a3 = a2 + ld;
    T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
    for (int64_t j = 0; j < cols; ++j) {
      const T v = x[j];
      s0 += a0[j] * v;
      s1 += a1[j] * v;
      s2 += a2[j] * v;
      s3 += a3[j] * v;
    }
    y[i] = s0;
    y[i + 1] = s1;
    y[i + 2] = s2;
    y[i + 3] = s3;
  }
  for (; i < r1; ++i) {
    const T* a0 = S + i * ld;
    T s0 = 0;
#pragma omp simd reduction(+ : s0)
    for (int64_t j = 0; j < cols; ++j) s0 += a0[j] * x[j];
    y[i] = s0;
  }
}

// p = S[r0, r1)^T a[r0, r1).
template <typename T>
inline __attribute__((always_inline)) void rows_transposed_times_vector(const T* S, int64_t ld, int64_t cols,
                                                                        const T* __restrict a, T* __restrict p,
                                                                        int64_t r0, int64_t r1) {
  for (int64_t j = 0; j < cols; ++j) p[j] = T(0);
  int64_t i = r0;
  for (; i + kRowsPerGroup <= r1; i += kRowsPerGroup) {
    const T *a0 = S + i * ld, *a1 = a0 + ld, *a2 = a1 + ld, *a3 = a2 + ld;
    const T b0 = a[i], b1 = a[i + 1], b2 = a[i + 2], b3 = a[i + 3];
#pragma omp simd
    for (int64_t j = 0; j < cols; ++j) p[j] = p[j] + a0[j] * b0 + a1[j] * b1 + a2[j] * b2 + a3[j] * b3;
  }
  for (; i < r1; ++i) {
    const T* a0 = S + i * ld;
    const T b0 = a[i];
#pragma omp simd
    for (int64_t j = 0; j < cols; ++j) p[j] += a0[j] * b0;
  }
}

template <typename T>
using RowsFn = void (*)(const T*, int64_t, int64_t, const T*, T*, int64_t, int64_t);

template <typename T>
void n_base(const T* S, int64_t ld, int64_t cols, const T* x, T* y, int64_t r0, int64_t r1) {
  rows_times_vector(S, ld, cols, x, y, r0, r1);
}
template <typename T>
void t_base(const T* S, int64_t ld, int64_t cols, const T* a, T* p, int64_t r0, int64_t r1) {
  rows_transposed_times_vector(S, ld, cols, a, p, r0, r1);
}
#ifdef CG_HAVE_AVX2_KERNELS
template <typename T>
__attribute__((target("avx2,fma"))) void n_avx2(const T* S, int64_t ld, int64_t cols, const T* x, T* y, int64_t r0,
                                                int64_t r1) {
  rows_times_vector(S, ld, cols, x, y, r0, r1);
}
template <typename T>
__attribute__((target("avx2,fma"))) void t_avx2(const T* S, int64_t ld, int64_t cols, const T* a, T* p, int64_t r0,
                                                int64_t r1) {
  rows_transposed_times_vector(S, ld, cols, a, p, r0, r1);
}
template <typename T>
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma,prefer-vector-width=512"))) void n_avx512(
    const T* S, int64_t ld, int64_t cols, const T* x, T* y, int64_t r0, int64_t r1) {
  rows_times_vector(S, ld, cols, x, y, r0, r1);
}
template <typename T>
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma,prefer-vector-width=512"))) void t_avx512(
    const T* S, int64_t ld, int64_t cols, const T* a, T* p, int64_t r0, int64_t r1) {
  rows_transposed_times_vector(S, ld, cols, a, p, r0, r1);
}
#endif

// This CPU's copy (the widest it has, as map_wide chooses).
template <typename T>
RowsFn<T> rows_fn(bool trans) {
#ifdef CG_HAVE_AVX2_KERNELS
  if (cpu_has_avx512()) return trans ? &t_avx512<T> : &n_avx512<T>;
  if (cpu_has_avx2_fma()) return trans ? &t_avx2<T> : &n_avx2<T>;
#endif
  return trans ? &t_base<T> : &n_base<T>;
}

template <typename T>
void stored_gemv(const T* S, int64_t rows, int64_t cols, int64_t ld, bool trans, const T* x, T* y) {
  const RowsFn<T> fn = rows_fn<T>(trans);
  const int64_t groups = (rows + kRowsPerGroup - 1) / kRowsPerGroup;
  auto group_rows = [&](int64_t g0, int64_t g1) {
    return std::make_pair(g0 * kRowsPerGroup, std::min(rows, g1 * kRowsPerGroup));
  };
  if (!trans) {
    const int64_t grain = std::max<int64_t>(1, kGemvWorkPerThread / (kRowsPerGroup * cols));
    parallel_for(groups, grain, [&](int64_t g0, int64_t g1) {
      const auto [r0, r1] = group_rows(g0, g1);
      fn(S, ld, cols, x, y, r0, r1);
    });
    return;
  }
  // Row blocks fixed by the shape (not the thread count); block 0 writes y, the others their own
  // partial sums, added to y in block order.
  const int64_t blocks = std::clamp<int64_t>(rows * cols / kGemvWorkPerThread, 1, std::min(kMaxRowBlocks, groups));
  std::unique_ptr<T[]> partial(blocks > 1 ? new T[static_cast<size_t>((blocks - 1) * cols)] : nullptr);
  parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const auto [r0, r1] = group_rows(groups * b / blocks, groups * (b + 1) / blocks);
      fn(S, ld, cols, x, b == 0 ? y : partial.get() + (b - 1) * cols, r0, r1);
    }
  });
  for (int64_t b = 1; b < blocks; ++b) {
    const T* p = partial.get() + (b - 1) * cols;
#pragma omp simd
    for (int64_t j = 0; j < cols; ++j) y[j] += p[j];
  }
}

}  // namespace

template <typename T>
bool stored_matrix_vector(const T* S, int64_t rows, int64_t cols, int64_t ld, bool trans, const T* x, T* y) {
  if (cols < kMinCols) return false;
  stored_gemv(S, rows, cols, ld, trans, x, y);
  return true;
}
template bool stored_matrix_vector(const float*, int64_t, int64_t, int64_t, bool, const float*, float*);
template bool stored_matrix_vector(const double*, int64_t, int64_t, int64_t, bool, const double*, double*);

}  // namespace cg::kernels
