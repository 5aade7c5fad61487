#include "kernels/sort.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>
#include <vector>

#include "kernels/checks.h"
#include "kernels/convert.h"
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

// Calls f(row, row_values, order) for each row, where `order` is the row's index permutation,
// in parallel over rows. The permutation is the one PyTorch's CPU kernels produce, ties included:
// they order (value, index) pairs comparing values only, with std::sort (unstable sort),
// std::stable_sort, or for topk std::partial_sort when k * 64 <= n, else std::nth_element then
// std::sort of the first k - 1 (the k-th is in place). The standard algorithms are deterministic,
// so the same calls on the same comparisons give the same tie order.
enum class Order { Sort, StableSort, TopK, TopKUnsorted };

template <typename T, typename F>
void for_each_sorted_row(const Tensor& x, int64_t n, int64_t k, bool descending, Order how, const F& f) {
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
      if (how == Order::Sort) {
        std::sort(order.begin(), order.end(), cmp);
      } else if (how == Order::StableSort) {
        std::stable_sort(order.begin(), order.end(), cmp);
      } else if (k > 0 && k * 64 <= n) {
        std::partial_sort(order.begin(), order.begin() + k, order.end(), cmp);
      } else if (k > 0) {
        std::nth_element(order.begin(), order.begin() + (k - 1), order.end(), cmp);
        if (how == Order::TopK) std::sort(order.begin(), order.begin() + (k - 1), cmp);
      }
      f(r, row, order);
    }
  });
}

void check_rows(const char* op, const Tensor& x, int64_t n, int64_t k, const Tensor& values, const Tensor& indices) {
  check_buffers(op, x.dtype(), {&x, &values}, true);
  check_buffers(op, DType::Int64, {&indices}, true);
  CG_CHECK(n >= 0 && k >= 0 && k <= n && (n == 0 || x.numel() % n == 0), op, ": bad row length");
  const Shape out{n ? x.numel() / n : 0, k};
  CG_CHECK(values.numel() == numel_of(out) && indices.numel() == numel_of(out), op, ": outputs of the wrong size");
}

template <typename T>
void select_rows(const Tensor& x, int64_t n, int64_t k, bool descending, Order how, const Tensor& values,
                 const Tensor& indices) {
  T* vp = values.data<T>();
  int64_t* ip = indices.data<int64_t>();
  for_each_sorted_row<T>(x, n, k, descending, how, [&](int64_t r, const T* row, const std::vector<int64_t>& order) {
    for (int64_t i = 0; i < k; ++i) {
      vp[r * k + i] = row[order[i]];
      ip[r * k + i] = order[i];
    }
  });
}

void select(const char* op, const Tensor& x, int64_t n, int64_t k, bool descending, Order how, const Tensor& values,
            const Tensor& indices) {
  check_rows(op, x, n, k, values, indices);
  if (any_storage_only({&x})) {  // int32, float16, ...: through the compute dtype (kernels/convert.h)
    Tensor v = widened(values);
    select(op, widened(x), n, k, descending, how, v, indices);
    return narrow_into(values, v);
  }
  CG_DISPATCH_ALL(x.dtype(), [&] { select_rows<scalar_t>(x, n, k, descending, how, values, indices); });
}
}  // namespace

void sort_rows(const Tensor& x, int64_t n, bool descending, const Tensor& values, const Tensor& indices, bool stable) {
  select("sort", x, n, n, descending, stable ? Order::StableSort : Order::Sort, values, indices);
}

void topk_rows(const Tensor& x, int64_t n, int64_t k, bool largest, const Tensor& values, const Tensor& indices,
               bool sorted) {
  select("topk", x, n, k, largest, sorted ? Order::TopK : Order::TopKUnsorted, values, indices);
}

}  // namespace cg::kernels
