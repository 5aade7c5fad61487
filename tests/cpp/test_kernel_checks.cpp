// Every kernel that takes several buffers checks them before touching memory (kernels/checks.h):
// mismatched shapes, dtypes, out-of-storage views and out-of-range indices throw, and nothing
// is written.
#include <gtest/gtest.h>

#include <vector>

#include "core/errors.h"
#include "core/tensor.h"
#include "kernels/checks.h"
#include "kernels/index.h"
#include "kernels/linalg.h"
#include "kernels/optim.h"
#include "kernels/reduce.h"

namespace cg {
namespace {

Tensor ones(const Shape& s, DType dt = DType::Float32) { return Tensor::full(s, 1, dt); }

TEST(KernelChecks, SgdRejectsWrongStateShapesAndWritesNothing) {
  Tensor p = ones({3}), g = ones({3});
  const kernels::SgdOptions o{0.1, 0.9, 0, 0, false, false, false};
  for (const Shape& s : std::vector<Shape>{{5}, {1}, {1, 3}, {}, {0}, {1000}}) {
    EXPECT_THROW(kernels::sgd_step(p, g, ones(s), o), RuntimeError) << shape_str(s);
  }
  EXPECT_THROW(kernels::sgd_step(p, ones({4}), Tensor(), o), RuntimeError);
  EXPECT_THROW(kernels::sgd_step(p, g, ones({3}, DType::Float64), o), RuntimeError);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(p.data<float>()[i], 1.0f);
}

TEST(KernelChecks, AdamRejectsWrongStateShapes) {
  Tensor p = ones({3}), g = ones({3});
  const kernels::AdamOptions o{0.1, 0.9, 0.999, 1e-8, 0, 1, true, false, false};
  EXPECT_THROW(kernels::adam_step(p, g, ones({4}), ones({3}), ones({3}), o), RuntimeError);
  EXPECT_THROW(kernels::adam_step(p, g, ones({3}), ones({2}), ones({3}), o), RuntimeError);
  EXPECT_THROW(kernels::adam_step(p, g, ones({3}), ones({3}), ones({7}), o), RuntimeError);
  EXPECT_THROW(kernels::adam_step(p, g, ones({3}), ones({3}), Tensor(), o), RuntimeError);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(p.data<float>()[i], 1.0f);
}

TEST(KernelChecks, ViewsOutsideTheirStorageAreRefused) {
  Tensor base = ones({4});
  Tensor overrun = base.as_strided({3}, {2}, 0);  // reaches element 4 of 4
  EXPECT_THROW(kernels::check_in_storage(overrun, "test"), RuntimeError);
  EXPECT_NO_THROW(kernels::check_in_storage(base.as_strided({2}, {2}, 1), "test"));
  EXPECT_THROW(kernels::check_in_storage(base.as_strided({2}, {-1}, 0), "test"), RuntimeError);
  Tensor p = base.as_strided({3}, {2}, 0);
  const kernels::SgdOptions o{0.1, 0, 0, 0, false, false, false};
  EXPECT_THROW(kernels::sgd_step(p, ones({3}), Tensor(), o), RuntimeError);
}

TEST(KernelChecks, InplaceShapesFollowPyTorch) {
  EXPECT_NO_THROW(kernels::check_inplace_shapes({2, 3}, {3}));
  EXPECT_THROW(kernels::check_inplace_shapes({3}, {1, 3}), RuntimeError);
  EXPECT_THROW(kernels::check_inplace_shapes({5}, {3}), RuntimeError);
}

TEST(KernelChecks, GatherAndScatterRejectNegativeAndLargeIndices) {
  Tensor x = ones({2, 3});
  for (int64_t bad : {-1, 3, -4}) {
    Tensor idx = Tensor::full({2, 1}, bad, DType::Int64);
    EXPECT_THROW(kernels::gather(x, 1, idx, Tensor::empty({2, 1}, DType::Float32)), RuntimeError) << bad;
    EXPECT_THROW(kernels::scatter(x, 1, idx, ones({2, 1}), true), RuntimeError) << bad;
  }
  for (int i = 0; i < 6; ++i) EXPECT_EQ(x.data<float>()[i], 1.0f);
  Tensor idx = Tensor::zeros({2, 1}, DType::Int64);
  EXPECT_THROW(kernels::gather(x, 1, idx, Tensor::empty({2, 2}, DType::Float32)), RuntimeError);  // out shape
  EXPECT_THROW(kernels::gather(x, 1, Tensor::zeros({2, 1}, DType::Float32), ones({2, 1})), RuntimeError);
  EXPECT_THROW(kernels::scatter(x, 1, idx, ones({2, 1}, DType::Float64), false), RuntimeError);  // src dtype
  EXPECT_THROW(kernels::gather(x, 1, Tensor::zeros({3, 1}, DType::Int64), Tensor::empty({3, 1}, DType::Float32)),
               RuntimeError);  // index larger than x outside dim
}

TEST(KernelChecks, CheckedIndexWrapsOrRejectsNegatives) {
  Tensor idx = Tensor::full({2}, -1, DType::Int64);
  Tensor wrapped = kernels::checked_index(idx, 3, kernels::Negative::Wrap, kernels::out_of_bounds(0, 3));
  EXPECT_EQ(wrapped.data<int64_t>()[0], 2);
  EXPECT_THROW(kernels::checked_index(idx, 3, kernels::Negative::Reject, kernels::out_of_bounds(0, 3)), IndexError);
  try {
    kernels::checked_index(idx, 3, kernels::Negative::Reject, kernels::out_of_bounds(1, 3, true));
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "index -1 is out of bounds for dimension 1 with size 3");
  }
}

TEST(KernelChecks, BlocksOutsideStorageAreRefused) {
  Tensor x = ones({4});
  Tensor block = x.as_strided({}, {}, 0);
  Tensor offsets = Tensor::full({1}, 4, DType::Int64);  // one past the end
  EXPECT_THROW(kernels::take_blocks(block, offsets, Tensor::empty({1}, DType::Float32)), RuntimeError);
  EXPECT_THROW(kernels::put_blocks(block, offsets, ones({1}), true), RuntimeError);
}

TEST(KernelChecks, MatmulAndReductionsCheckShapes) {
  EXPECT_THROW(kernels::gemm(ones({2, 3}), ones({2, 3}), Tensor::empty({2, 3}, DType::Float32)), RuntimeError);
  EXPECT_THROW(kernels::gemm(ones({2, 3}), ones({3, 2}), Tensor::empty({3, 3}, DType::Float32)), RuntimeError);
  EXPECT_THROW(kernels::gemm(ones({2, 3}), ones({3, 2}, DType::Float64), Tensor::empty({2, 2}, DType::Float32)),
               RuntimeError);
  EXPECT_THROW(kernels::batched_gemm(ones({2, 2, 3}), ones({3, 3, 2}), Tensor::empty({2, 2, 2}, DType::Float32)),
               RuntimeError);
  EXPECT_THROW(kernels::dot(ones({3}), ones({4}), Tensor::empty({}, DType::Float32)), RuntimeError);
  EXPECT_THROW(kernels::softmax(ones({2, 3}), 1, false, Tensor::empty({2, 2}, DType::Float32)), RuntimeError);
  EXPECT_THROW(kernels::softmax_backward(ones({2, 3}), ones({2, 4}), 1, false, Tensor::empty({2, 3}, DType::Float32)),
               RuntimeError);
  EXPECT_THROW(kernels::reduce(kernels::Reduce::Sum, ones({2, 3}), {true, false}, Tensor::empty({1, 2}, DType::Float32)),
               RuntimeError);
  EXPECT_THROW(kernels::scan(kernels::Scan::Sum, ones({2, 3}), 1, Tensor::empty({3}, DType::Float32)), RuntimeError);
}

}  // namespace
}  // namespace cg
