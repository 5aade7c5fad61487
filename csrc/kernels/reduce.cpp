#include "kernels/reduce.h"


#include <cmath>
#include <limits>
#include <numeric>
#include <type_traits>

#include "kernels/checks.h"
#include "kernels/elementwise.h"
#include "kernels/loop.h"
#include "kernels/parallel.h"

namespace cg::kernels {

namespace {

// Accumulator type: float32 sums accumulate in double (close to numpy's pairwise accuracy).
template <typename T> using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;

template <typename T>
struct Op {
  Reduce kind;
  static constexpr bool is_float = std::is_floating_point_v<T>;
  Acc<T> identity() const {
    switch (kind) {
      case Reduce::Sum: case Reduce::Any: return Acc<T>(0);
      case Reduce::Prod: case Reduce::All: return Acc<T>(1);
      case Reduce::Max:
        if constexpr (is_float) return -std::numeric_limits<Acc<T>>::infinity();
        else return std::numeric_limits<Acc<T>>::lowest();
      case Reduce::Min:
        if constexpr (is_float) return std::numeric_limits<Acc<T>>::infinity();
        else return std::numeric_limits<Acc<T>>::max();
    }
    return Acc<T>(0);
  }
};

// Reduces a strided run of n elements into acc; the contiguous sum is written so it vectorizes.
template <typename T, Reduce K>
inline Acc<T> reduce_run(const T* p, int64_t n, int64_t stride, Acc<T> acc) {
  if constexpr (K == Reduce::Sum) {
    if (stride == 1) {
      // Sixteen independent partial sums: one accumulator would make the loop wait on the
      // latency of each add (for float32 widened to double: ~6 GB/s, a third of a memory pass).
      constexpr int64_t kLanes = 16;
      Acc<T> lanes[kLanes] = {};
      int64_t i = 0;
      for (; i + kLanes <= n; i += kLanes)
        for (int64_t l = 0; l < kLanes; ++l) lanes[l] += static_cast<Acc<T>>(p[i + l]);
      for (; i < n; ++i) lanes[0] += static_cast<Acc<T>>(p[i]);
      for (int64_t w = kLanes / 2; w > 0; w /= 2)
        for (int64_t l = 0; l < w; ++l) lanes[l] += lanes[l + w];
      return acc + lanes[0];
    }
    for (int64_t i = 0; i < n; ++i) acc += static_cast<Acc<T>>(p[i * stride]);
  } else if constexpr (K == Reduce::Prod) {
    for (int64_t i = 0; i < n; ++i) acc *= static_cast<Acc<T>>(p[i * stride]);
  } else if constexpr (K == Reduce::Max) {
    for (int64_t i = 0; i < n; ++i) {
      Acc<T> v = p[i * stride];
      acc = (v != v || v > acc) ? v : acc;
    }
  } else if constexpr (K == Reduce::Min) {
    for (int64_t i = 0; i < n; ++i) {
      Acc<T> v = p[i * stride];
      acc = (v != v || v < acc) ? v : acc;
    }
  } else if constexpr (K == Reduce::Any) {
    for (int64_t i = 0; i < n; ++i) acc = acc || (p[i * stride] != T(0));
  } else {
    for (int64_t i = 0; i < n; ++i) acc = acc && (p[i * stride] != T(0));
  }
  return acc;
}

template <typename T, Reduce K>
inline Acc<T> combine(Acc<T> a, Acc<T> b) {
  if constexpr (K == Reduce::Sum) return a + b;
  else if constexpr (K == Reduce::Prod) return a * b;
  else if constexpr (K == Reduce::Max) return (b != b || b > a) ? b : a;
  else if constexpr (K == Reduce::Min) return (b != b || b < a) ? b : a;
  else if constexpr (K == Reduce::Any) return a || b;
  else return a && b;
}

// Iterates the reduced index space (shape rs, strides rst) of one output element.
template <typename T, Reduce K>
Acc<T> reduce_block(const T* base, const Shape& rs, const Shape& rst, Acc<T> acc) {
  const int64_t nd = static_cast<int64_t>(rs.size());
  if (nd == 0) return combine<T, K>(acc, static_cast<Acc<T>>(*base));
  const int64_t inner_n = rs.back(), inner_s = rst.back();
  int64_t outer = 1;
  for (int64_t d = 0; d < nd - 1; ++d) outer *= rs[d];
  Shape idx(nd > 1 ? nd - 1 : 0, 0);
  for (int64_t o = 0; o < outer; ++o) {
    const T* p = base;
    for (int64_t d = 0; d < nd - 1; ++d) p += idx[d] * rst[d];
    acc = reduce_run<T, K>(p, inner_n, inner_s, acc);
    for (int64_t d = nd - 2; d >= 0; --d) {
      if (++idx[d] < rs[d]) break;
      idx[d] = 0;
    }
  }
  return acc;
}

template <typename T, Reduce K>
void reduce_impl(const Tensor& x, const std::vector<bool>& reduced, const Tensor& out) {
  using A = Acc<T>;
  const A init = Op<T>{K}.identity();
  const int64_t nd = x.dim();
  Shape os, ost, outst, rs, rst;  // output dims (x strides, out strides), reduced dims
  for (int64_t d = 0; d < nd; ++d) {
    if (x.shape()[d] == 1) continue;
    if (reduced[d]) {
      rs.push_back(x.shape()[d]);
      rst.push_back(x.strides()[d]);
    } else {
      os.push_back(x.shape()[d]);
      ost.push_back(x.strides()[d]);
      outst.push_back(out.strides()[d]);
    }
  }
  const T* xb = x.data<T>();
  T* ob = out.data<T>();
  // Sort reduced dims so the smallest stride is innermost (contiguous runs).
  {
    std::vector<size_t> perm(rs.size());
    std::iota(perm.begin(), perm.end(), 0);
    std::stable_sort(perm.begin(), perm.end(), [&](size_t a, size_t b) { return rst[a] > rst[b]; });
    Shape a, b;
    for (size_t i : perm) { a.push_back(rs[i]); b.push_back(rst[i]); }
    rs.swap(a);
    rst.swap(b);
  }
  const int64_t n_out = numel_of(os);
  const int64_t n_red = numel_of(rs);

  if (os.empty()) {
    // Full reduction: split the outermost reduced dim across threads when large.
    if (n_red > kGrainSize && !rs.empty()) {
      // One partial result per fixed-size chunk (chunk c covers [n c / C, n (c + 1) / C)),
      // combined in order: the chunking never depends on the thread count, so results are
      // bit-identical with 1 or 2 threads.
      const bool flat = x.is_contiguous();
      const int64_t n = flat ? n_red : rs[0];
      const int64_t chunks = flat ? (n + kGrainSize - 1) / kGrainSize : n;
      std::vector<A> partial(chunks, init);
      Shape rs1(rs.begin() + 1, rs.end()), rst1(rst.begin() + 1, rst.end());
      parallel_for(chunks, 1, [&](int64_t cb, int64_t ce) {
        for (int64_t c = cb; c < ce; ++c) {
          const int64_t b = n * c / chunks, e = n * (c + 1) / chunks;
          if (flat) {
            partial[c] = reduce_run<T, K>(xb + b, e - b, 1, init);
          } else {
            A acc = init;
            for (int64_t i = b; i < e; ++i) acc = reduce_block<T, K>(xb + i * rst[0], rs1, rst1, acc);
            partial[c] = acc;
          }
        }
      });
      A acc = init;
      for (A v : partial) acc = combine<T, K>(acc, v);
      *ob = static_cast<T>(acc);
    } else {
      *ob = static_cast<T>(reduce_block<T, K>(xb, rs, rst, init));
    }
    return;
  }

  // Is the innermost memory dim an output dim? Then accumulate row by row, vectorized over outputs.
  int64_t min_out_stride = *std::min_element(ost.begin(), ost.end());
  int64_t min_red_stride = rst.empty() ? std::numeric_limits<int64_t>::max() : rst.back();
  const bool outer_reduction = !rs.empty() && min_out_stride < min_red_stride && (K == Reduce::Sum || K == Reduce::Max || K == Reduce::Min || K == Reduce::Prod);
  if (outer_reduction) {
    // out (viewed over os) starts at the first reduced slice, then combines each further slice.
    Tensor out_view = out.as_strided(os, outst, out.offset());
    Tensor first = x.as_strided(os, ost, x.offset());
    copy(out_view, first);
    Shape idx(rs.size(), 0);
    for (int64_t r = 1; r < n_red; ++r) {
      for (int64_t d = static_cast<int64_t>(rs.size()) - 1; d >= 0; --d) {
        if (++idx[d] < rs[d]) break;
        idx[d] = 0;
      }
      int64_t off = 0;
      for (size_t d = 0; d < rs.size(); ++d) off += idx[d] * rst[d];
      Tensor slice = x.as_strided(os, ost, x.offset() + off);
      const std::array<const Tensor*, 2> ops{&out_view, &slice};
      map<T, T, T>(out_view, ops, [](T a, T b) -> T { return static_cast<T>(combine<T, K>(a, b)); });
    }
    return;
  }

  // Inner reduction: each output element reduces its own block; parallel over outputs.
  const int64_t ond = static_cast<int64_t>(os.size());
  parallel_for(n_out, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, n_red)), [&](int64_t b, int64_t e) {
    Shape idx(ond);
    int64_t r = b;
    for (int64_t d = ond - 1; d >= 0; --d) { idx[d] = r % os[d]; r /= os[d]; }
    for (int64_t o = b; o < e; ++o) {
      int64_t xo = 0, oo = 0;
      for (int64_t d = 0; d < ond; ++d) { xo += idx[d] * ost[d]; oo += idx[d] * outst[d]; }
      ob[oo] = static_cast<T>(reduce_block<T, K>(xb + xo, rs, rst, init));
      for (int64_t d = ond - 1; d >= 0; --d) {
        if (++idx[d] < os[d]) break;
        idx[d] = 0;
      }
    }
  });
}

}  // namespace

void reduce(Reduce op, const Tensor& x, const std::vector<bool>& reduced, const Tensor& out) {
  CG_CHECK(static_cast<int64_t>(reduced.size()) == x.dim() && out.dim() == x.dim(),
           "reduce: expected the output and the reduced-dims mask to have the input's ", x.dim(), " dims");
  for (int64_t d = 0; d < x.dim(); ++d)
    CG_CHECK(out.shape()[d] == (reduced[d] ? 1 : x.shape()[d]), "reduce: output of shape ", shape_str(out.shape()),
             " does not fit input of shape ", shape_str(x.shape()));
  check_in_storage(x, "reduce");
  check_in_storage(out, "reduce");
  CG_CHECK(out.dtype() == x.dtype() || ((op == Reduce::Any || op == Reduce::All) && out.dtype() == DType::Bool),
           "reduce: output dtype ", scalar_type_name(out.dtype()), " does not match input dtype ",
           scalar_type_name(x.dtype()));
  if (any_storage_only({&x, &out})) {  // storage dtypes reduce in their compute dtype (kernels/convert.h)
    Tensor o = widened(out);
    reduce(op, widened(x), reduced, o);
    return narrow_into(out, o);
  }
  if (x.numel() == 0) {
    if (out.numel() == 0) return;
    CG_CHECK(op == Reduce::Sum || op == Reduce::Prod || op == Reduce::Any || op == Reduce::All,
             "Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument.");
    fill(out, (op == Reduce::Prod || op == Reduce::All) ? 1 : 0);
    return;
  }
  if (op == Reduce::Any || op == Reduce::All) {
    // Logical reductions run on a bool copy so the output type is bool throughout.
    CG_DISPATCH_ALL(x.dtype(), [&] {
      Tensor xb = x;
      if (x.dtype() != DType::Bool) {
        xb = Tensor::empty(x.shape(), DType::Bool);
        copy(xb, x);
      }
      if (op == Reduce::Any) reduce_impl<bool, Reduce::Any>(xb, reduced, out);
      else reduce_impl<bool, Reduce::All>(xb, reduced, out);
    });
    return;
  }
  CG_DISPATCH_NUMERIC(x.dtype(), "reduce", [&] {
    switch (op) {
      case Reduce::Sum: return reduce_impl<scalar_t, Reduce::Sum>(x, reduced, out);
      case Reduce::Prod: return reduce_impl<scalar_t, Reduce::Prod>(x, reduced, out);
      case Reduce::Max: return reduce_impl<scalar_t, Reduce::Max>(x, reduced, out);
      case Reduce::Min: return reduce_impl<scalar_t, Reduce::Min>(x, reduced, out);
      default: break;
    }
  });
}

Lanes lanes_of(const Tensor& t, int64_t dim) {
  Lanes l;
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (d == dim) continue;
    l.outer_shape.push_back(t.shape()[d]);
    l.outer_strides.push_back(t.strides()[d]);
  }
  l.length = t.dim() ? t.shape()[dim] : 1;
  l.stride = t.dim() ? t.strides()[dim] : 1;
  return l;
}

namespace {
// Runs f(lane_index, offsets...) over every lane of the given tensors (same shape) along dim.
template <size_t N, typename F>
void for_each_lane(const std::array<const Tensor*, N>& ts, int64_t dim, int64_t cost, const F& f) {
  std::array<Lanes, N> ls;
  for (size_t k = 0; k < N; ++k) ls[k] = lanes_of(*ts[k], dim);
  const Shape& os = ls[0].outer_shape;
  const int64_t n = numel_of(os);
  const int64_t ond = static_cast<int64_t>(os.size());
  parallel_for(n, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, ls[0].length * cost)),
               [&](int64_t b, int64_t e) {
    Shape idx(ond);
    int64_t r = b;
    for (int64_t d = ond - 1; d >= 0; --d) { idx[d] = r % os[d]; r /= os[d]; }
    for (int64_t o = b; o < e; ++o) {
      std::array<int64_t, N> off{};
      for (size_t k = 0; k < N; ++k)
        for (int64_t d = 0; d < ond; ++d) off[k] += idx[d] * ls[k].outer_strides[d];
      f(off, ls);
      for (int64_t d = ond - 1; d >= 0; --d) {
        if (++idx[d] < os[d]) break;
        idx[d] = 0;
      }
    }
  });
}
}  // namespace

// Lane kernels: every buffer has x's shape along the lanes (`dim` may be 1 in reduced outputs).
static void check_lanes(const char* op, const Tensor& x, int64_t dim, std::initializer_list<const Tensor*> ts,
                        bool reduced_out) {
  CG_CHECK(x.dim() == 0 || (dim >= 0 && dim < x.dim()), op, ": dim ", dim, " out of range for ", x.dim(), " dims");
  Shape s = x.shape();
  if (reduced_out && x.dim()) s[dim] = 1;
  check_in_storage(x, op);
  for (const Tensor* t : ts) {
    check_in_storage(*t, op);
    CG_CHECK(t->shape() == x.shape() || t->shape() == s, op, ": expected a tensor of shape ", shape_str(x.shape()),
             ", but got one of shape ", shape_str(t->shape()));
  }
}

void arg_reduce(bool is_max, const Tensor& x, int64_t dim, const Tensor& values, const Tensor& indices) {
  check_lanes(is_max ? "max" : "min", x, dim, {&values, &indices}, true);
  CG_CHECK(values.dtype() == x.dtype() && indices.dtype() == DType::Int64,
           "max/min: expected values of the input's dtype and int64 indices");
  if (any_storage_only({&x, &values})) {
    Tensor v = widened(values);
    arg_reduce(is_max, widened(x), dim, v, indices);
    return narrow_into(values, v);
  }
  CG_CHECK_INDEX(x.dim() == 0 || x.shape()[dim] > 0, (is_max ? "max" : "min"),
                 "(): Expected reduction dim ", dim, " to have non-zero size.");
  CG_DISPATCH_NUMERIC(x.dtype(), is_max ? "max" : "min", [&] {
    using T = scalar_t;
    const T* xb = x.data<T>();
    T* vb = values.data<T>();
    int64_t* ib = indices.data<int64_t>();
    std::array<const Tensor*, 3> ts{&x, &values, &indices};
    for_each_lane<3>(ts, dim, 1, [&](const std::array<int64_t, 3>& off, const std::array<Lanes, 3>& ls) {
      const T* p = xb + off[0];
      T best = p[0];
      int64_t bi = 0;
      for (int64_t i = 1; i < ls[0].length && best == best; ++i) {
        T v = p[i * ls[0].stride];
        if (v != v || (is_max ? v > best : v < best)) { best = v; bi = i; }
      }
      vb[off[1]] = best;
      ib[off[2]] = bi;
    });
  });
}

void scan(Scan op, const Tensor& x, int64_t dim, const Tensor& out) {
  check_lanes("scan", x, dim, {&out}, false);
  check_shapes("scan", x.shape(), {&out});
  check_buffers("scan", x.dtype(), {&out}, false);
  if (any_storage_only({&x, &out})) {
    Tensor o = widened(out);
    scan(op, widened(x), dim, o);
    return narrow_into(out, o);
  }
  CG_DISPATCH_NUMERIC(x.dtype(), op == Scan::Sum ? "cumsum" : "cumprod", [&] {
    using T = scalar_t;
    const T* xb = x.data<T>();
    T* ob = out.data<T>();
    std::array<const Tensor*, 2> ts{&x, &out};
    for_each_lane<2>(ts, dim, 1, [&](const std::array<int64_t, 2>& off, const std::array<Lanes, 2>& ls) {
      Acc<T> acc = op == Scan::Sum ? Acc<T>(0) : Acc<T>(1);
      for (int64_t i = 0; i < ls[0].length; ++i) {
        T v = xb[off[0] + i * ls[0].stride];
        acc = op == Scan::Sum ? acc + v : acc * v;
        ob[off[1] + i * ls[1].stride] = static_cast<T>(acc);
      }
    });
  });
}

void softmax(const Tensor& x, int64_t dim, bool log, const Tensor& out) {
  check_lanes("softmax", x, dim, {&out}, false);
  check_shapes("softmax", x.shape(), {&out});
  check_buffers("softmax", x.dtype(), {&out}, false);
  if (any_storage_only({&x, &out})) {
    Tensor o = widened(out);
    softmax(widened(x), dim, log, o);
    return narrow_into(out, o);
  }
  CG_DISPATCH_FLOAT(x.dtype(), log ? "log_softmax_lastdim_kernel_impl" : "softmax_lastdim_kernel_impl", [&] {
    using T = scalar_t;
    const T* xb = x.data<T>();
    T* ob = out.data<T>();
    std::array<const Tensor*, 2> ts{&x, &out};
    for_each_lane<2>(ts, dim, 8, [&](const std::array<int64_t, 2>& off, const std::array<Lanes, 2>& ls) {
      const T* p = xb + off[0];
      T* q = ob + off[1];
      const int64_t n = ls[0].length, sx = ls[0].stride, so = ls[1].stride;
      T m = -std::numeric_limits<T>::infinity();
      for (int64_t i = 0; i < n; ++i) { T v = p[i * sx]; m = (v != v || v > m) ? v : m; }
      if (std::isinf(m) && m < 0) m = 0;  // all -inf lane: avoid inf - inf
      Acc<T> s = 0;
      for (int64_t i = 0; i < n; ++i) {
        T e = std::exp(p[i * sx] - m);
        if (!log) q[i * so] = e;
        s += e;
      }
      if (log) {
        T ls_ = m + static_cast<T>(std::log(s));
        for (int64_t i = 0; i < n; ++i) q[i * so] = p[i * sx] - ls_;
      } else {
        T inv = static_cast<T>(1 / s);
        for (int64_t i = 0; i < n; ++i) q[i * so] *= inv;
      }
    });
  });
}

void softmax_backward(const Tensor& grad, const Tensor& y, int64_t dim, bool log, const Tensor& out) {
  check_lanes("softmax_backward", y, dim, {&grad, &out}, false);
  check_shapes("softmax_backward", y.shape(), {&grad, &out});
  check_buffers("softmax_backward", y.dtype(), {&grad, &out}, false);
  if (any_storage_only({&grad, &y, &out})) {
    Tensor o = widened(out);
    softmax_backward(widened(grad), widened(y), dim, log, o);
    return narrow_into(out, o);
  }
  CG_DISPATCH_FLOAT(y.dtype(), log ? "log_softmax_backward" : "softmax_backward", [&] {
    using T = scalar_t;
    const T* gb = grad.data<T>();
    const T* yb = y.data<T>();
    T* ob = out.data<T>();
    std::array<const Tensor*, 3> ts{&grad, &y, &out};
    for_each_lane<3>(ts, dim, 4, [&](const std::array<int64_t, 3>& off, const std::array<Lanes, 3>& ls) {
      const int64_t n = ls[0].length, sg = ls[0].stride, sy = ls[1].stride, so = ls[2].stride;
      Acc<T> s = 0;
      if (log) {
        for (int64_t i = 0; i < n; ++i) s += gb[off[0] + i * sg];
        for (int64_t i = 0; i < n; ++i)
          ob[off[2] + i * so] = gb[off[0] + i * sg] - std::exp(yb[off[1] + i * sy]) * static_cast<T>(s);
      } else {
        for (int64_t i = 0; i < n; ++i) s += gb[off[0] + i * sg] * yb[off[1] + i * sy];
        for (int64_t i = 0; i < n; ++i)
          ob[off[2] + i * so] = yb[off[1] + i * sy] * (gb[off[0] + i * sg] - static_cast<T>(s));
      }
    });
  });
}

}  // namespace cg::kernels
