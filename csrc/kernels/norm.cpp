#include "kernels/norm.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "kernels/parallel.h"

namespace cg::kernels {

namespace {
template <typename T> using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;

// Rows of `n` elements per parallel chunk: about kGrainSize elements of work each.
inline int64_t row_grain(int64_t n) { return std::max<int64_t>(1, kGrainSize / std::max<int64_t>(n, 1)); }

template <typename T>
const T* ptr_or_null(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }

// sum(f(i)) over [0, n) with 8 independent accumulators: without -ffast-math one running sum is a
// serial dependency chain; eight let the compiler vectorize and pipeline the adds.
template <typename A, typename F>
inline A lane_sum(int64_t n, const F& f) {
  A acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += f(i + k);
  for (; i < n; ++i) acc[0] += f(i);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}
}  // namespace

void layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, double eps, int64_t n, const Tensor& out,
                const Tensor& mean, const Tensor& rstd) {
  const int64_t rows = n > 0 ? x.numel() / n : 0;
  CG_DISPATCH_FLOAT(x.dtype(), "LayerNormKernelImpl", [&] {
    using T = scalar_t;
    const T* xp = x.data<T>();
    const T* wp = ptr_or_null<T>(w);
    const T* bp = ptr_or_null<T>(b);
    T* op = out.data<T>();
    T* mp = mean.data<T>();
    T* rp = rstd.data<T>();
    parallel_for(rows, row_grain(n), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const T* row = xp + r * n;
        const Acc<T> mu = lane_sum<Acc<T>>(n, [&](int64_t i) { return Acc<T>(row[i]); }) / static_cast<Acc<T>>(n);
        const Acc<T> ss = lane_sum<Acc<T>>(n, [&](int64_t i) {
          const Acc<T> d = row[i] - mu;
          return d * d;
        });
        const Acc<T> inv = 1 / std::sqrt(ss / static_cast<Acc<T>>(n) + static_cast<Acc<T>>(eps));
        mp[r] = static_cast<T>(mu);
        rp[r] = static_cast<T>(inv);
        T* o = op + r * n;
        const T m = static_cast<T>(mu), iv = static_cast<T>(inv);
        for (int64_t i = 0; i < n; ++i) {
          T y = (row[i] - m) * iv;
          if (wp) y *= wp[i];
          if (bp) y += bp[i];
          o[i] = y;
        }
      }
    });
  });
}

// dx = rstd * (g w - mean(g w) - xhat * mean(g w xhat)) per row; dw = sum_rows g xhat, db = sum_rows g.
// One pass over g and x: rows are split into blocks, each block also sums its dw/db partials, and
// the partials are added at the end (no strided column walks, no atomics).
void layer_norm_backward(const Tensor& g, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& w, int64_t n, const Tensor& dx, const Tensor& dw, const Tensor& db) {
  const int64_t rows = n > 0 ? x.numel() / n : 0;
  CG_DISPATCH_FLOAT(x.dtype(), "layer_norm_backward", [&] {
    using T = scalar_t;
    const T* gp = g.data<T>();
    const T* xp = x.data<T>();
    const T* mp = mean.data<T>();
    const T* rp = rstd.data<T>();
    const T* wp = ptr_or_null<T>(w);
    T* dp = dx.defined() ? dx.data<T>() : nullptr;
    const bool params = dw.defined() || db.defined();
    const int64_t blocks = std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), rows / row_grain(n)));
    std::vector<Acc<T>> pw(params ? blocks * n : 0, 0), pb(params ? blocks * n : 0, 0);
    std::vector<T> ones(wp ? 0 : n, T(1));  // no weight: multiply by ones, keeping the loops branch-free
    const T* wq = wp ? wp : ones.data();
    parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t blk = b0; blk < b1; ++blk) {
        Acc<T>* sw = params ? pw.data() + blk * n : nullptr;
        Acc<T>* sb = params ? pb.data() + blk * n : nullptr;
        for (int64_t r = rows * blk / blocks; r < rows * (blk + 1) / blocks; ++r) {
          const T* gr = gp + r * n;
          const T* xr = xp + r * n;
          const T m = mp[r], iv = rp[r];
          if (params)
            for (int64_t i = 0; i < n; ++i) {
              sw[i] += gr[i] * ((xr[i] - m) * iv);
              sb[i] += gr[i];
            }
          if (!dp) continue;
          // sum(g w), sum(g w xhat)
          const Acc<T> s1 = lane_sum<Acc<T>>(n, [&](int64_t i) { return Acc<T>(gr[i] * wq[i]); });
          const Acc<T> s2 = lane_sum<Acc<T>>(n, [&](int64_t i) { return Acc<T>(gr[i] * wq[i] * ((xr[i] - m) * iv)); });
          const T a = static_cast<T>(s1 / static_cast<Acc<T>>(n)), c = static_cast<T>(s2 / static_cast<Acc<T>>(n));
          T* dr = dp + r * n;
          for (int64_t i = 0; i < n; ++i) dr[i] = iv * (gr[i] * wq[i] - a - (xr[i] - m) * iv * c);
        }
      }
    });
    for (int64_t i = 0; params && i < n; ++i) {
      Acc<T> tw = 0, tb = 0;
      for (int64_t blk = 0; blk < blocks; ++blk) {
        tw += pw[blk * n + i];
        tb += pb[blk * n + i];
      }
      if (dw.defined()) dw.data<T>()[i] = static_cast<T>(tw);
      if (db.defined()) db.data<T>()[i] = static_cast<T>(tb);
    }
  });
}

namespace {
struct NCS {
  int64_t N, C, S;
};
NCS ncs_of(const Tensor& x, int64_t channels) {
  const int64_t N = x.dim() > 0 ? x.shape()[0] : 1;
  const int64_t S = (N * channels) > 0 ? x.numel() / (N * channels) : 0;
  return {N, channels, S};
}
}  // namespace

void batch_norm_stats(const Tensor& x, int64_t channels, const Tensor& mean, const Tensor& var) {
  const NCS d = ncs_of(x, channels);
  CG_DISPATCH_FLOAT(x.dtype(), "batch_norm", [&] {
    using T = scalar_t;
    const T* xp = x.data<T>();
    T* mp = mean.data<T>();
    T* vp = var.data<T>();
    const int64_t count = d.N * d.S;
    parallel_for(d.C, row_grain(count), [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        Acc<T> s = 0;
        for (int64_t i = 0; i < d.N; ++i) {
          const T* p = xp + (i * d.C + c) * d.S;
          s += lane_sum<Acc<T>>(d.S, [&](int64_t j) { return Acc<T>(p[j]); });
        }
        const Acc<T> mu = count ? s / static_cast<Acc<T>>(count) : Acc<T>(0);
        Acc<T> ss = 0;
        for (int64_t i = 0; i < d.N; ++i) {
          const T* p = xp + (i * d.C + c) * d.S;
          ss += lane_sum<Acc<T>>(d.S, [&](int64_t j) {
            const Acc<T> v = p[j] - mu;
            return v * v;
          });
        }
        mp[c] = static_cast<T>(mu);
        vp[c] = static_cast<T>(count ? ss / static_cast<Acc<T>>(count) : Acc<T>(0));
      }
    });
  });
}

void batch_norm_apply(const Tensor& x, int64_t channels, const Tensor& mean, const Tensor& invstd, const Tensor& w,
                      const Tensor& b, const Tensor& out) {
  const NCS d = ncs_of(x, channels);
  CG_DISPATCH_FLOAT(x.dtype(), "batch_norm", [&] {
    using T = scalar_t;
    const T* xp = x.data<T>();
    const T* mp = mean.data<T>();
    const T* ip = invstd.data<T>();
    const T* wp = ptr_or_null<T>(w);
    const T* bp = ptr_or_null<T>(b);
    T* op = out.data<T>();
    parallel_for(d.N * d.C, row_grain(d.S), [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const int64_t c = p % d.C;
        // y = x * scale + shift with the channel's constants folded once.
        const T scale = ip[c] * (wp ? wp[c] : T(1));
        const T shift = (bp ? bp[c] : T(0)) - mp[c] * scale;
        const T* xr = xp + p * d.S;
        T* o = op + p * d.S;
        for (int64_t j = 0; j < d.S; ++j) o[j] = xr[j] * scale + shift;
      }
    });
  });
}

// Training: dx = invstd w (g - mean(g) - xhat mean(g xhat)) per channel; eval: dx = invstd w g.
void batch_norm_backward(const Tensor& g, const Tensor& x, int64_t channels, const Tensor& mean,
                         const Tensor& invstd, const Tensor& w, bool batch_stats, const Tensor& dx,
                         const Tensor& dw, const Tensor& db) {
  const NCS d = ncs_of(x, channels);
  CG_DISPATCH_FLOAT(x.dtype(), "batch_norm_backward", [&] {
    using T = scalar_t;
    const T* gp = g.data<T>();
    const T* xp = x.data<T>();
    const T* mp = mean.data<T>();
    const T* ip = invstd.data<T>();
    const T* wp = ptr_or_null<T>(w);
    T* dxp = dx.defined() ? dx.data<T>() : nullptr;
    T* dwp = dw.defined() ? dw.data<T>() : nullptr;
    T* dbp = db.defined() ? db.data<T>() : nullptr;
    const int64_t count = d.N * d.S;
    parallel_for(d.C, row_grain(count), [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const T m = mp[c], iv = ip[c];
        Acc<T> sg = 0, sgx = 0;  // sum(g), sum(g xhat)
        for (int64_t i = 0; i < d.N; ++i) {
          const T* gr = gp + (i * d.C + c) * d.S;
          const T* xr = xp + (i * d.C + c) * d.S;
          sg += lane_sum<Acc<T>>(d.S, [&](int64_t j) { return Acc<T>(gr[j]); });
          sgx += lane_sum<Acc<T>>(d.S, [&](int64_t j) { return Acc<T>(gr[j] * ((xr[j] - m) * iv)); });
        }
        if (dwp) dwp[c] = static_cast<T>(sgx);
        if (dbp) dbp[c] = static_cast<T>(sg);
        if (!dxp) continue;
        const T scale = iv * (wp ? wp[c] : T(1));
        const T a = batch_stats && count ? static_cast<T>(sg / static_cast<Acc<T>>(count)) : T(0);
        const T k = batch_stats && count ? static_cast<T>(sgx / static_cast<Acc<T>>(count)) : T(0);
        for (int64_t i = 0; i < d.N; ++i) {
          const int64_t o = (i * d.C + c) * d.S;
          for (int64_t j = 0; j < d.S; ++j) dxp[o + j] = scale * (gp[o + j] - a - (xp[o + j] - m) * iv * k);
        }
      }
    });
  });
}

}  // namespace cg::kernels
