#include "kernels/sort.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>
#include <vector>

#include "kernels/parallel.h"

namespace cg::kernels {

namespace {
template <typename T>
inline bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
  else return false;
}

// Strict orders with NaN above everything.
template <typename T>
struct Before {
  bool descending;
  bool operator()(T a, T b) const {
    if (descending) return !is_nan(b) && (is_nan(a) || a > b);
    return !is_nan(a) && (is_nan(b) || a < b);
  }
};

// Calls f(row_values, order) for each row, where `order` is the row's index permutation (first
// `keep` entries sorted), in parallel over rows.
template <typename T, typename F>
void for_each_sorted_row(const Tensor& x, int64_t n, int64_t keep, bool descending, const F& f) {
  const int64_t rows = n > 0 ? x.numel() / n : 0;
  const T* xp = x.data<T>();
  const int64_t grain = std::max<int64_t>(1, kGrainSize / std::max<int64_t>(n * 8, 1));
  parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
    std::vector<int64_t> order(n);
    const Before<T> before{descending};
    for (int64_t r = r0; r < r1; ++r) {
      const T* row = xp + r * n;
      std::iota(order.begin(), order.end(), int64_t{0});
      auto cmp = [&](int64_t i, int64_t j) { return before(row[i], row[j]); };
      if (keep < n) {
        // Partial selection, then a stable order of the kept part (ties by position).
        auto by_value_then_pos = [&](int64_t i, int64_t j) { return cmp(i, j) || (!cmp(j, i) && i < j); };
        std::partial_sort(order.begin(), order.begin() + keep, order.end(), by_value_then_pos);
      } else {
        std::stable_sort(order.begin(), order.end(), cmp);
      }
      f(r, row, order);
    }
  });
}
}  // namespace

void sort_rows(const Tensor& x, int64_t n, bool descending, const Tensor& values, const Tensor& indices) {
  CG_DISPATCH_ALL(x.dtype(), [&] {
    using T = scalar_t;
    T* vp = values.data<T>();
    int64_t* ip = indices.data<int64_t>();
    for_each_sorted_row<T>(x, n, n, descending, [&](int64_t r, const T* row, const std::vector<int64_t>& order) {
      for (int64_t i = 0; i < n; ++i) {
        vp[r * n + i] = row[order[i]];
        ip[r * n + i] = order[i];
      }
    });
  });
}

void topk_rows(const Tensor& x, int64_t n, int64_t k, bool largest, const Tensor& values, const Tensor& indices) {
  CG_DISPATCH_ALL(x.dtype(), [&] {
    using T = scalar_t;
    T* vp = values.data<T>();
    int64_t* ip = indices.data<int64_t>();
    for_each_sorted_row<T>(x, n, k, largest, [&](int64_t r, const T* row, const std::vector<int64_t>& order) {
      for (int64_t i = 0; i < k; ++i) {
        vp[r * k + i] = row[order[i]];
        ip[r * k + i] = order[i];
      }
    });
  });
}

}  // namespace cg::kernels
