#include "kernels/linalg.h"

#include <cblas.h>

#include <type_traits>

#include "kernels/convert.h"
#include "kernels/checks.h"
#include "kernels/elementwise.h"
#include "kernels/linalg_gemv.h"
#include "kernels/parallel.h"

extern "C" void scipy_openblas_set_num_threads(int);

namespace cg::kernels {

namespace {

// How BLAS can read a 2-D operand: row-major with leading dim, possibly transposed.
struct BlasView {
  bool ok = false;
  bool trans = false;
  blasint ld = 0;
};

BlasView blas_view(const Tensor& t) {
  const int64_t r = t.shape()[0], c = t.shape()[1];
  const int64_t s0 = t.strides()[0], s1 = t.strides()[1];
  BlasView v;
  if ((s1 == 1 || c == 1) && s0 >= std::max<int64_t>(1, c)) {
    v.ok = true;
    v.ld = static_cast<blasint>(std::max<int64_t>(s0, std::max<int64_t>(1, c)));
  } else if ((s0 == 1 || r == 1) && s1 >= std::max<int64_t>(1, r)) {
    v.ok = true;
    v.trans = true;
    v.ld = static_cast<blasint>(std::max<int64_t>(s1, std::max<int64_t>(1, r)));
  }
  return v;
}

Tensor packed(const Tensor& t) {
  Tensor c = Tensor::empty(t.shape(), t.dtype());
  copy(c, t);
  return c;
}

template <typename T>
void naive_gemm(const Tensor& a, const Tensor& b, const Tensor& c, double beta) {
  const int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  const T* A = a.data<T>();
  const T* B = b.data<T>();
  T* C = c.data<T>();
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      T acc = 0;
      for (int64_t p = 0; p < k; ++p) acc += A[i * a.strides()[0] + p * a.strides()[1]] * B[p * b.strides()[0] + j * b.strides()[1]];
      T& dst = C[i * c.strides()[0] + j * c.strides()[1]];
      dst = beta == 0.0 ? acc : static_cast<T>(beta) * dst + acc;
    }
}

// (m, k) @ (k, n) -> (m, n) over `batch_dims` leading dims, one dtype; PyTorch's mm message.
void check_matmul_args(const char* op, const Tensor& a, const Tensor& b, const Tensor& c, int64_t batch_dims) {
  const int64_t nd = 2 + batch_dims;
  CG_CHECK(a.dim() == nd && b.dim() == nd && c.dim() == nd, op, ": expected ", nd, "-D operands");
  const int64_t i = batch_dims;
  if (batch_dims == 1)
    CG_CHECK(b.shape()[0] == a.shape()[0] && b.shape()[1] == a.shape()[2],
             "Expected size for first two dimensions of batch2 tensor to be: [", a.shape()[0], ", ", a.shape()[2],
             "] but got: [", b.shape()[0], ", ", b.shape()[1], "].");
  CG_CHECK(a.shape()[i + 1] == b.shape()[i], "mat1 and mat2 shapes cannot be multiplied (", a.shape()[i], "x",
           a.shape()[i + 1], " and ", b.shape()[i], "x", b.shape()[i + 1], ")");
  Shape want = a.shape();
  want[i + 1] = b.shape()[i + 1];
  for (int64_t d = 0; d < batch_dims; ++d)
    CG_CHECK(b.shape()[d] == a.shape()[d], op, ": batch sizes differ: ", shape_str(a.shape()), " and ",
             shape_str(b.shape()));
  check_shapes(op, want, {&c});
  check_buffers(op, c.dtype(), {&a, &b, &c}, false);
}

// BLAS thread policy for small products. OpenBLAS runs sgemm/dgemm single-threaded up to about
// 64^3 multiply-adds and on all threads above. Measured on 2 cores (best of 300 calls, float32,
// square): 96^3 takes 16.8 us on 1 thread and 20.4 us on 2; 128^3 38 vs 31 us; 256^3 279 vs 175.
// Between the two, a second thread only adds its wake-up, and on a loaded machine a descheduled
// worker turns a 20 us product into tens of ms. So products below 128^3 run on the calling thread.
constexpr int64_t kBlasThreadedWork = int64_t{128} * 128 * 128;
constexpr int64_t kBlasOwnSingleThreadWork = int64_t{64} * 64 * 64;  // OpenBLAS's own cut-off

// Holds OpenBLAS to one thread for its lifetime (when it would otherwise use more).
class SingleThreadedBlas {
 public:
  explicit SingleThreadedBlas(int64_t work)
      : active_(work > kBlasOwnSingleThreadWork && work < kBlasThreadedWork && get_num_threads() > 1) {
    if (active_) scipy_openblas_set_num_threads(1);
  }
  ~SingleThreadedBlas() {
    if (active_) scipy_openblas_set_num_threads(get_num_threads());
  }
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  bool active_;
};

// A matrix-vector product as BLAS sees it: y = op(A) x over a row-major stored matrix.
struct GemvCall {
  bool trans;
  blasint rows, cols, ld;  // of the stored matrix
  const void* a;
  const void* x;
  blasint incx;
  void* y;
  blasint incy;
};

template <typename T>
void run_gemv(const GemvCall& g, double beta) {
  if constexpr (std::is_same_v<T, float>) {
    scipy_cblas_sgemv(CblasRowMajor, g.trans ? CblasTrans : CblasNoTrans, g.rows, g.cols, 1.0f,
                      static_cast<const float*>(g.a), g.ld, static_cast<const float*>(g.x), g.incx,
                      static_cast<float>(beta), static_cast<float*>(g.y), g.incy);
  } else {
    scipy_cblas_dgemv(CblasRowMajor, g.trans ? CblasTrans : CblasNoTrans, g.rows, g.cols, 1.0,
                      static_cast<const double*>(g.a), g.ld, static_cast<const double*>(g.x), g.incx, beta,
                      static_cast<double*>(g.y), g.incy);
  }
}

// One output column (n == 1) or row (m == 1) of a product: gemv, or dot when both are 1. sgemm
// with a unit dimension costs 3-4x a gemv (packing for a kernel that cannot fill its tile). Used
// by mv only: mm keeps sgemm even for one column, so its rounding stays PyTorch's (addmm, linear).
// Returns false when the operands do not fit BLAS's vector increments (the caller uses gemm).
template <typename T>
bool vector_product(const Tensor& a, const Tensor& b, const Tensor& c, const BlasView& va, const BlasView& vb,
                    double beta) {
  const int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  T* C = c.data<T>();
  if (m == 1 && n == 1) {
    if (a.strides()[1] <= 0 || b.strides()[0] <= 0) return false;
    T r;
    if constexpr (std::is_same_v<T, float>) r = scipy_cblas_sdot(k, a.data<float>(), a.strides()[1], b.data<float>(), b.strides()[0]);
    else r = scipy_cblas_ddot(k, a.data<double>(), a.strides()[1], b.data<double>(), b.strides()[0]);
    *C = beta == 0.0 ? r : static_cast<T>(beta) * *C + r;
    return true;
  }
  GemvCall g{};
  if (n == 1) {  // y (m) = A x, x = b's column
    if (!va.ok || b.strides()[0] <= 0 || c.strides()[0] <= 0) return false;
    g = {va.trans, static_cast<blasint>(va.trans ? k : m), static_cast<blasint>(va.trans ? m : k), va.ld,
         a.data<T>(), b.data<T>(), static_cast<blasint>(b.strides()[0]), C, static_cast<blasint>(c.strides()[0])};
  } else {  // m == 1: y (n) = B^T x, x = a's row
    if (!vb.ok || a.strides()[1] <= 0 || c.strides()[1] <= 0) return false;
    g = {!vb.trans, static_cast<blasint>(vb.trans ? n : k), static_cast<blasint>(vb.trans ? k : n), vb.ld,
         b.data<T>(), a.data<T>(), static_cast<blasint>(a.strides()[1]), C, static_cast<blasint>(c.strides()[1])};
  }
  // gemv's beta == 0 scales y by 0 (NaN stays NaN in some OpenBLAS versions): y starts as zeros.
  if (beta == 0.0) fill(c, 0);
  run_gemv<T>(g, beta == 0.0 ? 1.0 : beta);
  return true;
}

}  // namespace

void gemm(const Tensor& a, const Tensor& b, const Tensor& c, double beta) {
  check_matmul_args("mm", a, b, c, 0);
  if (any_storage_only({&a, &b, &c})) {  // float16/bfloat16/small ints multiply widened (kernels/convert.h)
    Tensor o = widened(c);
    gemm(widened(a), widened(b), o, beta);
    return narrow_into(c, o);
  }
  const int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (beta == 0.0) fill(c, 0);
    return;
  }
  if (!is_floating(a.dtype())) {
    CG_DISPATCH_NUMERIC(a.dtype(), "mm", [&] { naive_gemm<scalar_t>(a, b, c, beta); });
    return;
  }
  BlasView va = blas_view(a), vb = blas_view(b), vc = blas_view(c);
  if (!vc.ok || vc.trans) {
    Tensor tmp = packed(c);
    gemm(a, b, tmp, beta);
    copy(c, tmp);
    return;
  }
  Tensor ap = va.ok ? a : packed(a), bp = vb.ok ? b : packed(b);
  if (!va.ok) va = blas_view(ap);
  if (!vb.ok) vb = blas_view(bp);
  SingleThreadedBlas policy(m * n * k);
  const auto ta = va.trans ? CblasTrans : CblasNoTrans;
  const auto tb = vb.trans ? CblasTrans : CblasNoTrans;
  if (a.dtype() == DType::Float32) {
    scipy_cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.0f, ap.data<float>(), va.ld, bp.data<float>(), vb.ld,
                static_cast<float>(beta), c.data<float>(), vc.ld);
  } else {
    scipy_cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, 1.0, ap.data<double>(), va.ld, bp.data<double>(), vb.ld, beta,
                c.data<double>(), vc.ld);
  }
}

namespace {

// (B, m, k) seen as one (B*m, k) matrix, when its batches follow each other row by row.
bool rows_fold(const Tensor& t) {
  return t.shape()[1] == 1 || t.strides()[0] == t.shape()[1] * t.strides()[1];
}

Tensor folded_rows(const Tensor& t) {
  const int64_t row_stride = t.shape()[1] == 1 ? t.strides()[0] : t.strides()[1];
  return t.as_strided({t.shape()[0] * t.shape()[1], t.shape()[2]}, {row_stride, t.strides()[2]}, t.offset());
}

// c = a @ b for a tiny product with unit-stride rows in b and c: BLAS's per-call cost (about
// 1 us) is several times the arithmetic, e.g. the per-sample outer products of vmap(grad).
template <typename T>
void small_gemm(const Tensor& a, const Tensor& b, const Tensor& c) {
  const int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  const int64_t sa0 = a.strides()[0], sa1 = a.strides()[1], sb0 = b.strides()[0], sc0 = c.strides()[0];
  const T* A = a.data<T>();
  const T* B = b.data<T>();
  T* C = c.data<T>();
  for (int64_t i = 0; i < m; ++i) {
    T* ci = C + i * sc0;
    for (int64_t j = 0; j < n; ++j) ci[j] = T(0);
    for (int64_t p = 0; p < k; ++p) {
      const T aip = A[i * sa0 + p * sa1];
      const T* bp = B + p * sb0;
      for (int64_t j = 0; j < n; ++j) ci[j] += aip * bp[j];
    }
  }
}
constexpr int64_t kSmallGemmWork = 4096;  // multiply-adds below which small_gemm beats a BLAS call

}  // namespace

void gemv(const Tensor& a, const Tensor& x, const Tensor& y) {
  CG_CHECK(a.dim() == 2 && x.dim() == 1 && y.dim() == 1, "mv: expected a matrix and two vectors");
  const bool blas = is_floating(a.dtype()) && !any_storage_only({&a, &x, &y}) && a.shape()[0] > 0 &&
                    a.shape()[1] > 0 && a.dtype() == x.dtype() && a.dtype() == y.dtype();
  // float32 with unit-stride rows (or columns: a transposed view) and vectors: our own loops.
  if (blas && a.dtype() == DType::Float32 && x.strides()[0] == 1 && y.strides()[0] == 1) {
    const int64_t m = a.shape()[0], k = a.shape()[1], s0 = a.strides()[0], s1 = a.strides()[1];
    const float* A = a.data<float>();
    if ((s1 == 1 || k == 1) && s0 >= k && stored_gemv_f32(A, m, k, s0, false, x.data<float>(), y.data<float>()))
      return;
    if ((s0 == 1 || m == 1) && s1 >= m && stored_gemv_f32(A, k, m, s1, true, x.data<float>(), y.data<float>()))
      return;
  }
  // BLAS and gemm see the vectors as one-column matrices (made only here: views cost allocations).
  const Tensor col = x.as_strided({x.shape()[0], 1}, {x.strides()[0], 1}, x.offset());
  const Tensor out = y.as_strided({y.shape()[0], 1}, {y.strides()[0], 1}, y.offset());
  if (blas) {
    const Tensor ap = blas_view(a).ok ? a : packed(a);
    const BlasView va = blas_view(ap), vb = blas_view(col);
    const bool done = a.dtype() == DType::Float32 ? vector_product<float>(ap, col, out, va, vb, 0.0)
                                                  : vector_product<double>(ap, col, out, va, vb, 0.0);
    if (done) return;
  }
  gemm(a, col, out);
}

void batched_gemm(const Tensor& a, const Tensor& b, const Tensor& c) {
  check_matmul_args("bmm", a, b, c, 1);
  const int64_t batch = c.shape()[0];
  auto slice = [](const Tensor& t, int64_t i) {
    return t.as_strided({t.shape()[1], t.shape()[2]}, {t.strides()[1], t.strides()[2]},
                        t.offset() + i * t.strides()[0]);
  };
  // One right operand for every batch (a stride-0 batch, as vmap's unbatched weights): one gemm
  // over the stacked rows of a.
  if (batch > 1 && b.strides()[0] == 0 && rows_fold(a) && rows_fold(c) && !any_storage_only({&a, &b, &c}) &&
      is_floating(a.dtype())) {
    gemm(folded_rows(a), slice(b, 0), folded_rows(c));
    return;
  }
  const int64_t work = a.shape()[1] * a.shape()[2] * b.shape()[2];
  const bool small = work <= kSmallGemmWork && b.strides()[2] == 1 && c.strides()[2] == 1 &&
                     (a.dtype() == DType::Float32 || a.dtype() == DType::Float64) && a.numel() > 0 && c.numel() > 0;
  if (small) {
    parallel_for(batch, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, work)), [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) {
        if (a.dtype() == DType::Float32) small_gemm<float>(slice(a, i), slice(b, i), slice(c, i));
        else small_gemm<double>(slice(a, i), slice(b, i), slice(c, i));
      }
    });
    return;
  }
  // Small matrices: one thread per batch entry beats threading inside each tiny gemm.
  if (work < 64 * 64 * 64 && batch > 1) {
    parallel_for(batch, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, work)), [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) gemm(slice(a, i), slice(b, i), slice(c, i));
    });
  } else {
    for (int64_t i = 0; i < batch; ++i) gemm(slice(a, i), slice(b, i), slice(c, i));
  }
}

void dot(const Tensor& a, const Tensor& b, const Tensor& out) {
  CG_CHECK(a.dim() == 1 && b.dim() == 1, "1D tensors expected, but got ", a.dim(), "D and ", b.dim(), "D tensors");
  CG_CHECK(a.numel() == b.numel(), "inconsistent tensor size, expected tensor [", a.numel(),
           "] and src [", b.numel(), "] to have the same number of elements, but got ", a.numel(), " and ", b.numel(),
           " elements respectively");
  CG_CHECK(out.numel() == 1, "dot: expected a one-element output");
  check_buffers("dot", a.dtype(), {&a, &b, &out}, false);
  if (any_storage_only({&a, &b, &out})) {
    Tensor o = widened(out);
    dot(widened(a), widened(b), o);
    return narrow_into(out, o);
  }
  const int64_t n = a.shape()[0];
  // BLAS reads negative or zero increments differently from strides: those take the plain loop.
  const bool blas_ok = n > 0 && a.strides()[0] > 0 && b.strides()[0] > 0;
  if (blas_ok && a.dtype() == DType::Float32) {
    *out.data<float>() = scipy_cblas_sdot(n, a.data<float>(), a.strides()[0], b.data<float>(), b.strides()[0]);
  } else if (blas_ok && a.dtype() == DType::Float64) {
    *out.data<double>() = scipy_cblas_ddot(n, a.data<double>(), a.strides()[0], b.data<double>(), b.strides()[0]);
  } else {
    CG_DISPATCH_NUMERIC(a.dtype(), "dot", [&] {
      using Acc = std::conditional_t<std::is_same_v<scalar_t, float>, double, scalar_t>;
      Acc acc = 0;
      for (int64_t i = 0; i < n; ++i)
        acc += static_cast<Acc>(a.data<scalar_t>()[i * a.strides()[0]]) * b.data<scalar_t>()[i * b.strides()[0]];
      *out.data<scalar_t>() = static_cast<scalar_t>(acc);
    });
  }
}

}  // namespace cg::kernels
