// Unit tests of csrc/kernels against naive loops: elementwise (contiguous, strided, broadcast,
// every dtype), reductions over dim sets, arg-reductions and scans, gemm/batched gemm/dot, and
// the parallel loop (every index exactly once, identical results for any thread count).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "core/tensor.h"
#include "kernels/elementwise.h"
#include "kernels/linalg.h"
#include "kernels/parallel.h"
#include "kernels/reduce.h"

namespace cg {
namespace {

using kernels::Binary;
using kernels::Unary;

// ---- helpers -------------------------------------------------------------------------------------
std::mt19937_64& rng() {
  static std::mt19937_64 g(1234);
  return g;
}

Tensor random_tensor(const Shape& shape, DType dt) {
  Tensor t = Tensor::empty(shape, dt);
  std::normal_distribution<double> normal(0.0, 2.0);
  std::uniform_int_distribution<int64_t> ints(-5, 5);
  CG_DISPATCH_ALL(dt, [&] {
    scalar_t* p = t.data<scalar_t>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      if constexpr (std::is_same_v<scalar_t, bool>) p[i] = ints(rng()) > 0;
      else if constexpr (std::is_integral_v<scalar_t>) p[i] = ints(rng());
      else p[i] = static_cast<scalar_t>(normal(rng()));
    }
  });
  return t;
}

// Element at a multi-index of any strided tensor, as double.
double at(const Tensor& t, const Shape& idx) {
  int64_t off = 0;
  for (size_t d = 0; d < idx.size(); ++d) off += idx[d] * t.strides()[d];
  return CG_DISPATCH_ALL(t.dtype(), [&]() -> double { return static_cast<double>(t.data<scalar_t>()[off]); });
}

// Calls f(idx) for every multi-index of `shape`.
void for_each_index(const Shape& shape, const std::function<void(const Shape&)>& f) {
  if (numel_of(shape) == 0) return;
  Shape idx(shape.size(), 0);
  while (true) {
    f(idx);
    int64_t d = static_cast<int64_t>(shape.size()) - 1;
    for (; d >= 0; --d) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

// The index of `idx` (in `shape`) seen by an operand of `op_shape` broadcast to `shape`.
Shape broadcast_index(const Shape& idx, const Shape& op_shape) {
  Shape out(op_shape.size());
  const size_t lead = idx.size() - op_shape.size();
  for (size_t d = 0; d < op_shape.size(); ++d) out[d] = op_shape[d] == 1 ? 0 : idx[lead + d];
  return out;
}

// A copy of `t` laid out with every other element of a buffer twice as large (non-contiguous).
Tensor strided_copy(const Tensor& t) {
  Shape big, strides;
  for (int64_t s : t.shape()) big.push_back(2 * std::max<int64_t>(s, 1));
  Tensor buf = Tensor::zeros(big, t.dtype());
  for (size_t d = 0; d < big.size(); ++d) strides.push_back(2 * buf.strides()[d]);
  Tensor v = buf.as_strided(t.shape(), strides, 0);
  kernels::copy(v, t);
  return v;
}

// A copy of 2-D `t` stored column-major (a transposed view).
Tensor transposed_copy(const Tensor& t) {
  Tensor buf = Tensor::empty({t.shape()[1], t.shape()[0]}, t.dtype());
  Tensor v = buf.as_strided(t.shape(), {1, t.shape()[0]}, 0);
  kernels::copy(v, t);
  return v;
}

void expect_near_all(const Tensor& got, const std::function<double(const Shape&)>& want, double rtol, const char* what) {
  for_each_index(got.shape(), [&](const Shape& idx) {
    const double g = at(got, idx), w = want(idx);
    if (std::isnan(w)) {
      EXPECT_TRUE(std::isnan(g)) << what << " at " << shape_str(idx);
    } else {
      EXPECT_NEAR(g, w, rtol * std::max(1.0, std::fabs(w))) << what << " at " << shape_str(idx);
    }
  });
}

double rtol_of(DType dt) { return dt == DType::Float32 ? 2e-6 : 1e-13; }

// ---- elementwise --------------------------------------------------------------------------------
struct UnaryRef {
  Unary op;
  double (*f)(double);
};

TEST(Elementwise, UnaryMatchesNaiveLoops) {
  const std::vector<UnaryRef> ops = {
      {Unary::Neg, [](double v) { return -v; }},
      {Unary::Abs, [](double v) { return std::fabs(v); }},
      {Unary::Square, [](double v) { return v * v; }},
      {Unary::Exp, [](double v) { return std::exp(v); }},
      {Unary::Tanh, [](double v) { return std::tanh(v); }},
      {Unary::Sigmoid, [](double v) { return 1.0 / (1.0 + std::exp(-v)); }},
      {Unary::Sin, [](double v) { return std::sin(v); }},
      {Unary::Relu, [](double v) { return v > 0 ? v : 0.0; }},
      {Unary::Floor, [](double v) { return std::floor(v); }},
      {Unary::Sign, [](double v) { return static_cast<double>((v > 0) - (v < 0)); }},
      {Unary::Log, [](double v) { return std::log(std::fabs(v) + 0.5); }},
  };
  for (DType dt : {DType::Float32, DType::Float64}) {
    for (const auto& r : ops) {
      for (bool strided : {false, true}) {
        Tensor x = random_tensor({7, 9}, dt);
        if (r.op == Unary::Log) {  // keep the input positive
          Tensor shifted = Tensor::empty(x.shape(), dt);
          kernels::unary(Unary::Abs, x, shifted);
          kernels::binary_scalar(Binary::Add, shifted, Scalar(0.5), shifted);
          x = shifted;
        }
        Tensor in = strided ? strided_copy(x) : x;
        Tensor out = Tensor::empty(x.shape(), dt);
        kernels::unary(r.op, in, out);
        const bool is_log = r.op == Unary::Log;
        expect_near_all(out, [&](const Shape& idx) {
          const double v = at(x, idx);
          return is_log ? std::log(v) : r.f(v);
        }, 8 * rtol_of(dt), kernels::unary_name(r.op));
      }
    }
  }
}

TEST(Elementwise, IntegerUnaryIsExact) {
  Tensor x = random_tensor({5, 6}, DType::Int64);
  Tensor out = Tensor::empty({5, 6}, DType::Int64);
  kernels::unary(Unary::Neg, x, out);
  for (int64_t i = 0; i < 30; ++i) EXPECT_EQ(out.data<int64_t>()[i], -x.data<int64_t>()[i]);
  kernels::unary(Unary::Abs, x, out);
  for (int64_t i = 0; i < 30; ++i) EXPECT_EQ(out.data<int64_t>()[i], std::llabs(x.data<int64_t>()[i]));
  Tensor b = Tensor::empty({5, 6}, DType::Bool);
  kernels::unary(Unary::LogicalNot, x, b);
  for (int64_t i = 0; i < 30; ++i) EXPECT_EQ(b.data<bool>()[i], x.data<int64_t>()[i] == 0);
  EXPECT_THROW(kernels::unary(Unary::Exp, x, out), NotImplementedError);  // float-only op (PyTorch: NotImplementedError)
}

struct BinaryRef {
  Binary op;
  double (*f)(double, double);
};

TEST(Elementwise, BinaryBroadcastAndStridesMatchNaiveLoops) {
  const std::vector<BinaryRef> ops = {
      {Binary::Add, [](double a, double b) { return a + b; }},
      {Binary::Sub, [](double a, double b) { return a - b; }},
      {Binary::Mul, [](double a, double b) { return a * b; }},
      {Binary::Maximum, [](double a, double b) { return std::max(a, b); }},
      {Binary::Minimum, [](double a, double b) { return std::min(a, b); }},
  };
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{4, 5}, {4, 5}}, {{4, 1}, {1, 5}}, {{3, 4, 5}, {5}}, {{}, {3, 2}}, {{2, 1, 3}, {4, 1}}, {{0, 3}, {1, 3}}};
  for (DType dt : {DType::Int64, DType::Float32, DType::Float64}) {
    for (const auto& r : ops) {
      for (const auto& [sa, sb] : shapes) {
        for (bool strided : {false, true}) {
          Tensor a = random_tensor(sa, dt), b = random_tensor(sb, dt);
          const Shape so = broadcast_shapes(sa, sb);
          Tensor out = Tensor::empty(so, dt);
          kernels::binary(r.op, strided ? strided_copy(a) : a, strided ? strided_copy(b) : b, out);
          expect_near_all(out, [&](const Shape& idx) {
            return r.f(at(a, broadcast_index(idx, sa)), at(b, broadcast_index(idx, sb)));
          }, rtol_of(dt), kernels::binary_name(r.op));
        }
      }
    }
  }
}

TEST(Elementwise, DivisionAndIntegerSemantics) {
  Tensor a = Tensor::empty({6}, DType::Int64), b = Tensor::empty({6}, DType::Int64);
  const int64_t av[] = {7, -7, 7, -7, 0, 5}, bv[] = {2, 2, -2, -2, 3, 1};
  for (int i = 0; i < 6; ++i) { a.data<int64_t>()[i] = av[i]; b.data<int64_t>()[i] = bv[i]; }
  Tensor out = Tensor::empty({6}, DType::Int64);
  kernels::binary(Binary::Remainder, a, b, out);  // Python's sign rule: result has b's sign
  const int64_t rem[] = {1, 1, -1, -1, 0, 0};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out.data<int64_t>()[i], rem[i]) << i;
  kernels::binary(Binary::FloorDivide, a, b, out);
  const int64_t fdiv[] = {3, -4, -4, 3, 0, 5};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out.data<int64_t>()[i], fdiv[i]) << i;
  kernels::binary(Binary::Pow, a, b, out);
  const int64_t pw[] = {49, 49, 0, 0, 0, 5};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out.data<int64_t>()[i], pw[i]) << i;
}

TEST(Elementwise, ComparisonsGiveBool) {
  for (DType dt : {DType::Bool, DType::Int64, DType::Float32, DType::Float64}) {
    Tensor a = random_tensor({3, 4}, dt), b = random_tensor({4}, dt);
    Tensor out = Tensor::empty({3, 4}, DType::Bool);
    const std::vector<std::pair<Binary, std::function<bool(double, double)>>> cmps = {
        {Binary::Lt, [](double x, double y) { return x < y; }}, {Binary::Le, [](double x, double y) { return x <= y; }},
        {Binary::Eq, [](double x, double y) { return x == y; }}, {Binary::Ne, [](double x, double y) { return x != y; }},
        {Binary::Gt, [](double x, double y) { return x > y; }}, {Binary::Ge, [](double x, double y) { return x >= y; }},
        {Binary::LogicalAnd, [](double x, double y) { return x != 0 && y != 0; }},
        {Binary::LogicalXor, [](double x, double y) { return (x != 0) != (y != 0); }}};
    for (const auto& [op, f] : cmps) {
      ASSERT_TRUE(kernels::is_comparison(op));
      kernels::binary(op, a, b, out);
      for_each_index({3, 4}, [&](const Shape& idx) {
        EXPECT_EQ(at(out, idx) != 0, f(at(a, idx), at(b, {idx[1]}))) << kernels::binary_name(op);
      });
    }
  }
}

TEST(Elementwise, ScalarOperandsBothSides) {
  Tensor x = random_tensor({10}, DType::Float64);
  Tensor out = Tensor::empty({10}, DType::Float64);
  kernels::binary_scalar(Binary::Sub, x, Scalar(2.0), out, /*scalar_first=*/true);
  for (int i = 0; i < 10; ++i) EXPECT_DOUBLE_EQ(out.data<double>()[i], 2.0 - x.data<double>()[i]);
  kernels::binary_scalar(Binary::Div, x, Scalar(4.0), out);
  for (int i = 0; i < 10; ++i) EXPECT_DOUBLE_EQ(out.data<double>()[i], x.data<double>()[i] / 4.0);
  kernels::binary_scalar(Binary::Pow, x, Scalar(2.0), out);
  for (int i = 0; i < 10; ++i) EXPECT_DOUBLE_EQ(out.data<double>()[i], x.data<double>()[i] * x.data<double>()[i]);
  Tensor b = Tensor::empty({10}, DType::Bool);
  kernels::binary_scalar(Binary::Gt, x, Scalar(0.0), b);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(b.data<bool>()[i], x.data<double>()[i] > 0);
}

TEST(Elementwise, CopyConvertsAndBroadcasts) {
  Tensor src = random_tensor({4, 1}, DType::Float64);
  Tensor dst = Tensor::empty({2, 4, 3}, DType::Int64);
  kernels::copy(dst, src);
  for_each_index(dst.shape(), [&](const Shape& idx) {
    EXPECT_EQ(at(dst, idx), static_cast<double>(static_cast<int64_t>(at(src, {idx[1], 0}))));
  });
  Tensor bools = Tensor::empty({4, 1}, DType::Bool);
  kernels::copy(bools, src);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(bools.data<bool>()[i], src.data<double>()[i] != 0.0);
  Tensor t = transposed_copy(random_tensor({5, 7}, DType::Float32));
  Tensor packed = Tensor::empty({5, 7}, DType::Float32);
  kernels::copy(packed, t);
  for_each_index({5, 7}, [&](const Shape& idx) { EXPECT_EQ(at(packed, idx), at(t, idx)); });
  kernels::fill(packed, Scalar(3));
  for (int i = 0; i < 35; ++i) EXPECT_EQ(packed.data<float>()[i], 3.0f);
}

TEST(Elementwise, WhereAndClamp) {
  Tensor c = random_tensor({3, 4}, DType::Bool);
  Tensor a = random_tensor({3, 4}, DType::Float32), b = random_tensor({4}, DType::Float32);
  Tensor out = Tensor::empty({3, 4}, DType::Float32);
  kernels::where(c, strided_copy(a), b, out);
  for_each_index({3, 4}, [&](const Shape& idx) {
    EXPECT_EQ(at(out, idx), at(c, idx) != 0 ? at(a, idx) : at(b, {idx[1]}));
  });
  kernels::clamp(a, -1.0, 0.5, out);
  for_each_index({3, 4}, [&](const Shape& idx) { EXPECT_EQ(at(out, idx), std::min(std::max(at(a, idx), -1.0), 0.5)); });
  kernels::clamp(a, std::nullopt, 0.0, out);
  for_each_index({3, 4}, [&](const Shape& idx) { EXPECT_EQ(at(out, idx), std::min(at(a, idx), 0.0)); });
  Tensor nan = Tensor::full({2}, Scalar(std::nan("")), DType::Float64);
  Tensor nan_out = Tensor::empty({2}, DType::Float64);
  kernels::clamp(nan, 0.0, 1.0, nan_out);
  EXPECT_TRUE(std::isnan(nan_out.data<double>()[0]));  // NaN propagates like PyTorch
}

TEST(Elementwise, EmptyAndZeroDim) {
  Tensor e = Tensor::empty({0, 3}, DType::Float32);
  Tensor eo = Tensor::empty({0, 3}, DType::Float32);
  kernels::unary(Unary::Exp, e, eo);
  kernels::binary(Binary::Add, e, e, eo);
  Tensor s = Tensor::full({}, Scalar(2.0), DType::Float64);
  Tensor so = Tensor::empty({}, DType::Float64);
  kernels::binary(Binary::Mul, s, s, so);
  EXPECT_EQ(so.item_double(), 4.0);
}

// ---- reductions ---------------------------------------------------------------------------------
double naive_reduce(kernels::Reduce op, const Tensor& x, const std::vector<bool>& reduced, const Shape& out_idx) {
  double acc = op == kernels::Reduce::Sum ? 0.0 : op == kernels::Reduce::Prod ? 1.0
             : op == kernels::Reduce::Max ? -INFINITY : INFINITY;
  for_each_index(x.shape(), [&](const Shape& idx) {
    for (size_t d = 0; d < idx.size(); ++d)
      if (!reduced[d] && idx[d] != out_idx[d]) return;
    const double v = at(x, idx);
    switch (op) {
      case kernels::Reduce::Sum: acc += v; break;
      case kernels::Reduce::Prod: acc *= v; break;
      case kernels::Reduce::Max: acc = std::max(acc, v); break;
      case kernels::Reduce::Min: acc = std::min(acc, v); break;
      default: break;
    }
  });
  return acc;
}

TEST(Reduce, AllDimSetsMatchNaiveLoops) {
  const Shape shape = {3, 4, 5};
  for (DType dt : {DType::Int64, DType::Float32, DType::Float64}) {
    for (auto op : {kernels::Reduce::Sum, kernels::Reduce::Prod, kernels::Reduce::Max, kernels::Reduce::Min}) {
      for (int mask = 1; mask < 8; ++mask) {
        for (int layout = 0; layout < 2; ++layout) {
          Tensor x = random_tensor(shape, dt);
          if (op == kernels::Reduce::Prod && dt == DType::Int64) kernels::clamp(x, -2.0, 2.0, x);
          Tensor in = layout ? strided_copy(x) : x;
          std::vector<bool> reduced = {bool(mask & 4), bool(mask & 2), bool(mask & 1)};
          Shape out_shape = shape;
          for (size_t d = 0; d < 3; ++d)
            if (reduced[d]) out_shape[d] = 1;
          Tensor out = Tensor::empty(out_shape, dt);
          kernels::reduce(op, in, reduced, out);
          expect_near_all(out, [&](const Shape& idx) { return naive_reduce(op, x, reduced, idx); },
                          dt == DType::Float32 ? 1e-5 : 1e-12, "reduce");
        }
      }
    }
  }
}

TEST(Reduce, LargeFullSumIsAccurate) {
  Tensor x = Tensor::full({1 << 20}, Scalar(0.1), DType::Float32);
  Tensor out = Tensor::empty({1}, DType::Float32);
  kernels::reduce(kernels::Reduce::Sum, x, {true}, out);
  EXPECT_NEAR(out.data<float>()[0], 0.1f * (1 << 20), 1e-2);  // float32 sums accumulate in double
}

TEST(Reduce, ArgReduceAndScan) {
  Tensor x = random_tensor({4, 6}, DType::Float64);
  Tensor values = Tensor::empty({4, 1}, DType::Float64), indices = Tensor::empty({4, 1}, DType::Int64);
  kernels::arg_reduce(true, transposed_copy(x), 1, values, indices);
  for (int64_t i = 0; i < 4; ++i) {
    int64_t best = 0;
    for (int64_t j = 1; j < 6; ++j)
      if (at(x, {i, j}) > at(x, {i, best})) best = j;
    EXPECT_EQ(indices.data<int64_t>()[i], best);
    EXPECT_EQ(values.data<double>()[i], at(x, {i, best}));
  }
  Tensor cs = Tensor::empty({4, 6}, DType::Float64);
  kernels::scan(kernels::Scan::Sum, strided_copy(x), 0, cs);
  for_each_index({4, 6}, [&](const Shape& idx) {
    double s = 0;
    for (int64_t i = 0; i <= idx[0]; ++i) s += at(x, {i, idx[1]});
    EXPECT_NEAR(at(cs, idx), s, 1e-12);
  });
}

// ---- gemm ------------------------------------------------------------------------------------------
void naive_mm(const Tensor& a, const Tensor& b, std::vector<double>& c) {
  const int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  c.assign(static_cast<size_t>(m * n), 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t p = 0; p < k; ++p) c[static_cast<size_t>(i * n + j)] += at(a, {i, p}) * at(b, {p, j});
}

TEST(Gemm, MatchesNaiveForEveryLayout) {
  for (DType dt : {DType::Float32, DType::Float64, DType::Int64}) {
    for (auto [m, k, n] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{{1, 1, 1}, {3, 5, 4}, {17, 33, 9}, {64, 7, 70}}) {
      Tensor a = random_tensor({m, k}, dt), b = random_tensor({k, n}, dt);
      std::vector<double> ref;
      naive_mm(a, b, ref);
      for (int layout = 0; layout < 4; ++layout) {
        Tensor ai = layout & 1 ? transposed_copy(a) : a;
        Tensor bi = layout & 2 ? strided_copy(b) : b;
        Tensor c = Tensor::empty({m, n}, dt);
        kernels::gemm(ai, bi, c);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            const double want = ref[static_cast<size_t>(i * n + j)];
            EXPECT_NEAR(at(c, {i, j}), want, (dt == DType::Float32 ? 1e-4 : 1e-11) * std::max(1.0, std::fabs(want)))
                << "layout " << layout << " (" << m << "x" << k << "x" << n << ")";
          }
      }
    }
  }
}

TEST(Gemm, BetaAccumulatesAndEmptyK) {
  Tensor a = random_tensor({3, 4}, DType::Float64), b = random_tensor({4, 2}, DType::Float64);
  Tensor c = Tensor::full({3, 2}, Scalar(1.0), DType::Float64);
  kernels::gemm(a, b, c, 1.0);
  std::vector<double> ref;
  naive_mm(a, b, ref);
  for (int64_t i = 0; i < 6; ++i) EXPECT_NEAR(c.data<double>()[i], ref[static_cast<size_t>(i)] + 1.0, 1e-12);
  Tensor a0 = Tensor::empty({3, 0}, DType::Float32), b0 = Tensor::empty({0, 2}, DType::Float32);
  Tensor c0 = Tensor::full({3, 2}, Scalar(7.0), DType::Float32);
  kernels::gemm(a0, b0, c0);
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(c0.data<float>()[i], 0.0f);
}

TEST(Gemm, BatchedWithBroadcastBatchAndDot) {
  Tensor a = random_tensor({5, 3, 4}, DType::Float64);
  Tensor b1 = random_tensor({1, 4, 2}, DType::Float64);
  Tensor b = b1.as_strided({5, 4, 2}, {0, 2, 1}, 0);  // one matrix shared by every batch entry
  Tensor c = Tensor::empty({5, 3, 2}, DType::Float64);
  kernels::batched_gemm(a, b, c);
  for_each_index({5, 3, 2}, [&](const Shape& idx) {
    double s = 0;
    for (int64_t p = 0; p < 4; ++p) s += at(a, {idx[0], idx[1], p}) * at(b1, {0, p, idx[2]});
    EXPECT_NEAR(at(c, idx), s, 1e-12);
  });
  for (DType dt : {DType::Float32, DType::Float64, DType::Int64}) {
    Tensor x = random_tensor({50}, dt), y = random_tensor({100}, dt);
    Tensor ys = y.as_strided({50}, {2}, 0);
    Tensor out = Tensor::empty({}, dt);
    kernels::dot(x, ys, out);
    double s = 0;
    for (int64_t i = 0; i < 50; ++i) s += at(x, {i}) * at(ys, {i});
    EXPECT_NEAR(out.item_double(), s, (dt == DType::Float32 ? 1e-4 : 1e-11) * std::max(1.0, std::fabs(s)));
  }
}

// ---- parallel loop --------------------------------------------------------------------------------
class ThreadsGuard {
 public:
  ThreadsGuard() : saved_(get_num_threads()) {}
  ~ThreadsGuard() { set_num_threads(saved_); }

 private:
  int saved_;
};

TEST(Parallel, EveryIndexExactlyOnce) {
  ThreadsGuard guard;
  for (int threads : {1, 2, 3, 8}) {
    set_num_threads(threads);
    EXPECT_EQ(get_num_threads(), threads);
    for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{100}, kGrainSize + 1, 5 * kGrainSize + 17}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      for (auto& h : hits) h = 0;
      parallel_for(n, kGrainSize, [&](int64_t b, int64_t e) {
        ASSERT_LE(0, b);
        ASSERT_LT(b, e);
        ASSERT_LE(e, n);
        for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << i;
    }
  }
}

TEST(Parallel, SetNumThreadsRejectsNonPositive) {
  ThreadsGuard guard;
  EXPECT_THROW(set_num_threads(0), RuntimeError);
  EXPECT_THROW(set_num_threads(-2), RuntimeError);
}

TEST(Parallel, ElementwiseAndDimReductionsIndependentOfThreadCount) {
  ThreadsGuard guard;
  Tensor x = random_tensor({600, 701}, DType::Float64);
  Tensor row = random_tensor({701}, DType::Float64);
  auto run = [&](int threads) {
    set_num_threads(threads);
    std::vector<Tensor> outs;
    Tensor e = Tensor::empty(x.shape(), DType::Float64);
    kernels::unary(Unary::Exp, x, e);
    outs.push_back(e);
    Tensor s = Tensor::empty({600, 701}, DType::Float64);
    kernels::binary(Binary::Mul, transposed_copy(x), row, s);  // strided input, broadcast row
    outs.push_back(s);
    Tensor r0 = Tensor::empty({1, 701}, DType::Float64), r1 = Tensor::empty({600, 1}, DType::Float64);
    kernels::reduce(kernels::Reduce::Sum, x, {true, false}, r0);
    kernels::reduce(kernels::Reduce::Sum, x, {false, true}, r1);
    outs.push_back(r0);
    outs.push_back(r1);
    return outs;
  };
  auto one = run(1), two = run(2);
  for (size_t k = 0; k < one.size(); ++k)
    for (int64_t i = 0; i < one[k].numel(); ++i)
      ASSERT_EQ(one[k].data<double>()[i], two[k].data<double>()[i]) << "output " << k << " element " << i;
}

}  // namespace
}  // namespace cg
