// Unit tests of the normalization and sorting kernels against naive loops, and of their ops'
// first-order VJPs (fused kernel) against the differentiable composition they switch to when a
// higher order is recorded — from C++ alone, no Python.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "engine/engine.h"
#include "graph/meta.h"
#include "core/tensor.h"
#include "kernels/norm.h"
#include "kernels/sort.h"
#include "ops/ops.h"

namespace cg {
namespace {

Tensor filled(const Shape& shape, uint64_t seed, double scale = 1.0, double shift = 0.0) {
  std::mt19937_64 g(seed);
  std::normal_distribution<double> normal(shift, scale);
  Tensor t = Tensor::empty(shape, DType::Float64);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<double>()[i] = normal(g);
  return t;
}

TEST(NormKernels, LayerNormRowsHaveZeroMeanAndUnitVariance) {
  const int64_t rows = 37, n = 129;  // odd sizes: the eight-lane sums' tails
  Tensor x = filled({rows, n}, 1, 3.0, 2.0);
  Tensor out = Tensor::empty({rows, n}, DType::Float64), mean = Tensor::empty({rows}, DType::Float64),
         rstd = Tensor::empty({rows}, DType::Float64);
  kernels::layer_norm(x, Tensor(), Tensor(), 0.0, n, out, mean, rstd);
  for (int64_t r = 0; r < rows; ++r) {
    double m = 0, v = 0, xm = 0;
    for (int64_t i = 0; i < n; ++i) {
      m += out.data<double>()[r * n + i];
      xm += x.data<double>()[r * n + i];
    }
    for (int64_t i = 0; i < n; ++i) v += std::pow(out.data<double>()[r * n + i] - m / n, 2);
    EXPECT_NEAR(m / n, 0.0, 1e-12);
    EXPECT_NEAR(v / n, 1.0, 1e-10);
    EXPECT_NEAR(mean.data<double>()[r], xm / n, 1e-12);
  }
}

TEST(NormKernels, BatchNormStatsMatchNaiveLoops) {
  const int64_t N = 3, C = 4, S = 5;
  Tensor x = filled({N, C, S}, 2);
  Tensor mean = Tensor::empty({C}, DType::Float64), var = Tensor::empty({C}, DType::Float64);
  kernels::batch_norm_stats(x, C, mean, var);
  for (int64_t c = 0; c < C; ++c) {
    double s = 0, ss = 0;
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j < S; ++j) s += x.data<double>()[(i * C + c) * S + j];
    const double m = s / (N * S);
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j < S; ++j) ss += std::pow(x.data<double>()[(i * C + c) * S + j] - m, 2);
    EXPECT_NEAR(mean.data<double>()[c], m, 1e-12);
    EXPECT_NEAR(var.data<double>()[c], ss / (N * S), 1e-12);
  }
}

TEST(SortKernels, NanSortsLargestAndTiesKeepTheirOrder) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor x = Tensor::empty({1, 6}, DType::Float64);
  const double vals[] = {2.0, nan, -1.0, 2.0, 0.5, -1.0};
  for (int i = 0; i < 6; ++i) x.data<double>()[i] = vals[i];
  Tensor v = Tensor::empty({1, 6}, DType::Float64), idx = Tensor::empty({1, 6}, DType::Int64);
  kernels::sort_rows(x, 6, false, v, idx);
  const int64_t asc[] = {2, 5, 4, 0, 3, 1};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(idx.data<int64_t>()[i], asc[i]);
  kernels::sort_rows(x, 6, true, v, idx);
  const int64_t desc[] = {1, 0, 3, 4, 2, 5};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(idx.data<int64_t>()[i], desc[i]);
  Tensor tv = Tensor::empty({1, 2}, DType::Float64), ti = Tensor::empty({1, 2}, DType::Int64);
  kernels::topk_rows(x, 6, 2, false, tv, ti);
  EXPECT_EQ(ti.data<int64_t>()[0], 5);  // PyTorch's CPU topk order on this tie (nth_element, then sort)
  EXPECT_EQ(ti.data<int64_t>()[1], 2);
}

// The fused first-order VJP and the composed one (taken when grad mode records the backward)
// give the same gradients.
TEST(NormOps, FusedAndComposedVjpsAgree) {
  for (bool batch : {false, true}) {
    Tensor x = filled({4, 3, 5}, 3), w = filled({batch ? 3 : 5}, 4), g = filled({4, 3, 5}, 5);
    autograd::set_requires_grad(x, true);
    autograd::set_requires_grad(w, true);
    autograd::TensorList grads[2];
    for (int create_graph = 0; create_graph < 2; ++create_graph) {
      Tensor y = batch ? ops::batch_norm(x, std::nullopt, std::nullopt, w, std::nullopt, true, 0.1, 1e-5)
                       : ops::layer_norm(x, {5}, w, std::nullopt, 1e-5);
      autograd::BackwardOptions opts;
      opts.create_graph = create_graph == 1;
      opts.accumulate_grad = false;
      grads[create_graph] = autograd::run_backward({y}, {g}, {x, w}, opts);
    }
    for (size_t k = 0; k < 2; ++k)
      for (int64_t i = 0; i < grads[0][k].numel(); ++i)
        EXPECT_NEAR(grads[0][k].data<double>()[i], grads[1][k].data<double>()[i], 1e-12);
  }
}

TEST(NormOps, EmbeddingRejectsOutOfRangeIndices) {
  Tensor w = filled({5, 2}, 6);
  Tensor idx = Tensor::full({2}, int64_t{5}, DType::Int64);
  EXPECT_THROW(ops::embedding(w, idx, std::nullopt, false), IndexError);
}

}  // namespace
}  // namespace cg
