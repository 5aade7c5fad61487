// Unit tests of csrc/core: shapes and strides, view strides, broadcasting, type promotion,
// storage sharing, the version counter and iterative (deferred) destruction of long chains.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "graph/meta.h"
#include "core/deferred_delete.h"
#include "core/dtype.h"
#include "core/errors.h"
#include "core/scalar.h"
#include "core/shape.h"
#include "core/storage.h"
#include "core/tensor.h"
#include "ops/common.h"
#include "ops/ops.h"

namespace cg {
namespace {

// ---- shapes -------------------------------------------------------------------------------------
TEST(Shape, NumelAndContiguousStrides) {
  EXPECT_EQ(numel_of({}), 1);
  EXPECT_EQ(numel_of({2, 3, 4}), 24);
  EXPECT_EQ(numel_of({2, 0, 4}), 0);
  EXPECT_EQ(contiguous_strides({2, 3, 4}), (Shape{12, 4, 1}));
  EXPECT_EQ(contiguous_strides({}), Shape{});
  EXPECT_EQ(contiguous_strides({5}), Shape{1});
  // Zero-size dims count as 1 for the strides of the dims before them (PyTorch's choice).
  EXPECT_EQ(contiguous_strides({2, 0, 3}), (Shape{3, 3, 1}));
  EXPECT_EQ(shape_str({2, 3}), "[2, 3]");
  EXPECT_EQ(shape_str({}), "[]");
  EXPECT_EQ(size_str({2, 3}), "chaingrad.Size([2, 3])");
}

TEST(Shape, NumelOverflowThrows) {
  EXPECT_THROW(numel_of({int64_t{1} << 40, int64_t{1} << 40}), RuntimeError);
  EXPECT_THROW(storage_nbytes({int64_t{1} << 62}, 8), RuntimeError);
  EXPECT_THROW(storage_nbytes({int64_t{1} << 31, int64_t{1} << 31}, 4), RuntimeError);
  EXPECT_THROW(storage_nbytes({2, -1}, 4), RuntimeError);
  EXPECT_EQ(storage_nbytes({2, 3}, 8), 48u);
  EXPECT_EQ(storage_nbytes({int64_t{1} << 40, 0, int64_t{1} << 40}, 4), 0u);
  EXPECT_EQ(storage_nbytes({}, 8), 8u);
}

TEST(Shape, WrapDim) {
  EXPECT_EQ(wrap_dim(-1, 3), 2);
  EXPECT_EQ(wrap_dim(0, 3), 0);
  EXPECT_EQ(wrap_dim(-3, 3), 0);
  EXPECT_THROW(wrap_dim(3, 3), IndexError);
  EXPECT_THROW(wrap_dim(-4, 3), IndexError);
  // A 0-d tensor accepts 0 and -1 as PyTorch does.
  EXPECT_EQ(wrap_dim(0, 0), 0);
  EXPECT_EQ(wrap_dim(-1, 0), 0);
  EXPECT_THROW(wrap_dim(1, 0), IndexError);
  try {
    wrap_dim(5, 2);
    FAIL();
  } catch (const IndexError& e) {
    EXPECT_STREQ(e.what(), "Dimension out of range (expected to be in range of [-2, 1], but got 5)");
  }
}

TEST(Shape, InferSize) {
  EXPECT_EQ(infer_size({-1, 4}, 24), (Shape{6, 4}));
  EXPECT_EQ(infer_size({2, -1, 3}, 24), (Shape{2, 4, 3}));
  EXPECT_THROW(infer_size({0, -1}, 0), RuntimeError);  // -1 could be anything: ambiguous
  EXPECT_THROW(infer_size({-1, -1}, 24), RuntimeError);
  EXPECT_THROW(infer_size({5, -1}, 24), RuntimeError);
  EXPECT_THROW(infer_size({5, 5}, 24), RuntimeError);
  EXPECT_THROW(infer_size({-2, 12}, 24), RuntimeError);
}

// ---- view strides -----------------------------------------------------------------------------
struct ViewCase {
  Shape shape, strides, new_shape;
  bool ok;
  Shape expected;
};

TEST(Shape, ComputeViewStridesMatchesPyTorch) {
  // Expected values are what torch.Tensor.view gives for the same geometry.
  const std::vector<ViewCase> cases = {
      {{2, 3, 4}, {12, 4, 1}, {4, 6}, true, {6, 1}},
      {{2, 3, 4}, {12, 4, 1}, {24}, true, {1}},
      {{2, 3, 4}, {12, 4, 1}, {2, 12}, true, {12, 1}},
      {{2, 3, 4}, {12, 4, 1}, {2, 3, 2, 2}, true, {12, 4, 2, 1}},
      {{3, 2, 4}, {4, 12, 1}, {6, 4}, false, {}},            // transpose(0, 1)
      {{3, 2, 4}, {4, 12, 1}, {3, 2, 2, 2}, true, {4, 12, 2, 1}},  // split an inner dim only
      {{4, 3, 2}, {1, 4, 12}, {24}, false, {}},              // fully permuted
      {{2, 3, 2}, {12, 4, 1}, {2, 6}, false, {}},            // x[:, :, :2]
      {{2, 2, 4}, {12, 4, 1}, {2, 8}, true, {12, 1}},        // x[:, :2, :]
      {{2, 2, 4}, {12, 8, 1}, {2, 2, 2, 2}, true, {12, 8, 2, 1}},  // x[:, ::2, :]
      {{2, 3, 4}, {12, 0, 1}, {2, 3, 2, 2}, true, {12, 0, 2, 1}},  // expanded middle dim
      {{2, 3, 4}, {12, 0, 1}, {6, 4}, false, {}},
      {{}, {}, {1, 1}, true, {1, 1}},                        // 0-d
      {{}, {}, {1}, true, {1}},
      {{1, 1}, {1, 1}, {}, true, {}},
      {{2, 0, 4}, {4, 4, 1}, {0, 4}, true, {4, 1}},          // empty: contiguous strides
      {{2, 0, 4}, {4, 4, 1}, {2, 0, 4}, true, {4, 4, 1}},    // same empty shape keeps strides
      {{4, 1, 3}, {3, 99, 1}, {12}, true, {1}},              // size-1 dims are ignored
      {{6}, {2}, {2, 3}, true, {6, 2}},                      // a strided vector splits fine
  };
  for (const auto& c : cases) {
    Shape out;
    const bool ok = compute_view_strides(c.shape, c.strides, c.new_shape, out);
    EXPECT_EQ(ok, c.ok) << shape_str(c.shape) << " strides " << shape_str(c.strides) << " -> " << shape_str(c.new_shape);
    if (ok && c.ok) {
      EXPECT_EQ(out, c.expected) << shape_str(c.shape) << " -> " << shape_str(c.new_shape);
    }
  }
}

// ---- broadcasting ---------------------------------------------------------------------------------
TEST(Broadcast, Shapes) {
  EXPECT_EQ(broadcast_shapes({3, 1}, {1, 4}), (Shape{3, 4}));
  EXPECT_EQ(broadcast_shapes({4}, {2, 3, 4}), (Shape{2, 3, 4}));
  EXPECT_EQ(broadcast_shapes({}, {2, 3}), (Shape{2, 3}));
  EXPECT_EQ(broadcast_shapes({}, {}), Shape{});
  EXPECT_EQ(broadcast_shapes({0, 4}, {1, 4}), (Shape{0, 4}));
  EXPECT_EQ(broadcast_shapes({1}, {0}), Shape{0});
  EXPECT_EQ(broadcast_shapes({2, 1, 4}, {3, 1}), (Shape{2, 3, 4}));
  EXPECT_THROW(broadcast_shapes({2}, {0}), RuntimeError);
}

TEST(Broadcast, ErrorNamesSizesAndBothShapes) {
  try {
    broadcast_shapes({2, 3}, {3, 2});
    FAIL();
  } catch (const RuntimeError& e) {
    const std::string m = e.what();
    // PyTorch reports the last mismatching dim first.
    EXPECT_EQ(m.rfind("The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 1", 0), 0u)
        << m;
    EXPECT_NE(m.find("[2, 3]"), std::string::npos);
    EXPECT_NE(m.find("[3, 2]"), std::string::npos);
  }
}

// ---- promotion ------------------------------------------------------------------------------------
TEST(Promotion, TypeLattice) {
  const DType all[] = {DType::Bool, DType::Int64, DType::Float32, DType::Float64};
  for (DType a : all)
    for (DType b : all) {
      EXPECT_EQ(promote_types(a, b), promote_types(b, a));
      EXPECT_EQ(promote_types(a, b), static_cast<int>(a) > static_cast<int>(b) ? a : b);
    }
  EXPECT_EQ(promote_types(DType::Int64, DType::Float32), DType::Float32);  // int with float: float32
  EXPECT_EQ(promote_types(DType::Bool, DType::Int64), DType::Int64);
}

TEST(Promotion, ScalarsLiftCategoryButNeverWiden) {
  EXPECT_EQ(promote_with_scalar(DType::Int64, ScalarKind::Float), DType::Float32);
  EXPECT_EQ(promote_with_scalar(DType::Bool, ScalarKind::Float), DType::Float32);
  EXPECT_EQ(promote_with_scalar(DType::Bool, ScalarKind::Int), DType::Int64);
  EXPECT_EQ(promote_with_scalar(DType::Float32, ScalarKind::Float), DType::Float32);
  EXPECT_EQ(promote_with_scalar(DType::Float32, ScalarKind::Int), DType::Float32);
  EXPECT_EQ(promote_with_scalar(DType::Int64, ScalarKind::Int), DType::Int64);
  EXPECT_EQ(promote_with_scalar(DType::Int64, ScalarKind::Bool), DType::Int64);
  EXPECT_EQ(promote_with_scalar(DType::Bool, ScalarKind::Bool), DType::Bool);
  EXPECT_EQ(Scalar(2.5).kind(), ScalarKind::Float);
  EXPECT_EQ(Scalar(int64_t{2}).kind(), ScalarKind::Int);
  EXPECT_EQ(Scalar(true).kind(), ScalarKind::Bool);
  EXPECT_EQ(Scalar(2.5).default_dtype(), DType::Float32);
  EXPECT_EQ(Scalar(int64_t{2}).default_dtype(), DType::Int64);
  EXPECT_EQ(Scalar(-2.7).to<int64_t>(), -2);
  EXPECT_TRUE(Scalar(0.5).to<bool>());
}

TEST(Promotion, ZeroDimTensorsOnlyDecideAcrossCategories) {
  auto t = [](DType d, bool zero_dim) { return zero_dim ? Tensor::zeros({}, d) : Tensor::zeros({3}, d); };
  // Same category: the dimensioned tensor wins.
  EXPECT_EQ(ops::result_type(t(DType::Float32, false), t(DType::Float64, true)), DType::Float32);
  EXPECT_EQ(ops::result_type(t(DType::Float64, true), t(DType::Float32, false)), DType::Float32);
  // Higher category: the 0-d tensor decides.
  EXPECT_EQ(ops::result_type(t(DType::Int64, false), t(DType::Float64, true)), DType::Float64);
  EXPECT_EQ(ops::result_type(t(DType::Bool, false), t(DType::Int64, true)), DType::Int64);
  EXPECT_EQ(ops::result_type(t(DType::Int64, false), t(DType::Bool, true)), DType::Int64);
  // Both dimensioned or both 0-d: ordinary promotion.
  EXPECT_EQ(ops::result_type(t(DType::Float32, true), t(DType::Float64, true)), DType::Float64);
  EXPECT_EQ(ops::result_type(t(DType::Int64, false), t(DType::Float32, false)), DType::Float32);
  EXPECT_EQ(ops::result_type(t(DType::Int64, false), Scalar(2.5)), DType::Float32);
  EXPECT_EQ(ops::result_type(t(DType::Float64, true), Scalar(2.5)), DType::Float64);
}

// ---- tensors and storage ------------------------------------------------------------------------
TEST(Tensor, CreationAndGeometry) {
  Tensor z = Tensor::zeros({2, 3}, DType::Float32);
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(z.strides(), (Shape{3, 1}));
  EXPECT_EQ(z.numel(), 6);
  EXPECT_EQ(z.dim(), 2);
  EXPECT_EQ(z.size(-1), 3);
  EXPECT_EQ(z.stride(0), 3);
  EXPECT_TRUE(z.is_contiguous());
  for (int i = 0; i < 6; ++i) EXPECT_EQ(z.data<float>()[i], 0.0f);
  Tensor f = Tensor::full({4}, Scalar(2.5), DType::Int64);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(f.data<int64_t>()[i], 2);
  Tensor s = Tensor::scalar(Scalar(true), DType::Bool);
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.item_int(), 1);
  EXPECT_DOUBLE_EQ(Tensor::scalar(Scalar(1.5), DType::Float64).item_double(), 1.5);
  EXPECT_THROW(z.item_double(), RuntimeError);
  EXPECT_THROW(s.size(0), IndexError);  // a 0-d tensor has no dims
  EXPECT_THROW(s.stride(-1), IndexError);
  EXPECT_THROW(z.size(2), IndexError);
  EXPECT_THROW(Tensor::empty({2, -1}, DType::Float32), RuntimeError);
  EXPECT_THROW(Tensor::empty({int64_t{1} << 62}, DType::Float64), RuntimeError);
  Tensor e = Tensor::empty({0, 5}, DType::Float64);
  EXPECT_EQ(e.numel(), 0);
  EXPECT_TRUE(e.is_contiguous());
}

TEST(Tensor, ContiguityRules) {
  Tensor base = Tensor::zeros({64}, DType::Float32);
  auto view = [&](Shape sh, Shape st) { return base.as_strided(sh, st, 0); };
  EXPECT_TRUE(view({2, 3}, {3, 1}).is_contiguous());
  EXPECT_FALSE(view({2, 3}, {1, 2}).is_contiguous());
  EXPECT_TRUE(view({2, 3}, {1, 2}).is_non_overlapping_and_dense());
  EXPECT_TRUE(view({3, 1}, {1, 7}).is_contiguous());   // size-1 dims: any stride
  EXPECT_TRUE(view({0, 3}, {5, 9}).is_contiguous());   // no elements
  EXPECT_TRUE(view({}, {}).is_contiguous());
  EXPECT_FALSE(view({4}, {2}).is_contiguous());
  EXPECT_FALSE(view({4}, {2}).is_non_overlapping_and_dense());
  EXPECT_FALSE(view({2, 2}, {1, 1}).is_non_overlapping_and_dense());  // overlapping
  EXPECT_FALSE(view({3, 4}, {0, 1}).is_contiguous());  // expanded
}

TEST(Tensor, StorageAlignmentAndZeroing) {
  for (int64_t n : {1, 3, 8, 17, 1000, 100000}) {
    Tensor t = Tensor::zeros({n}, DType::Float64);
    if (n * 8 > 32) {  // tiny tensors live inline in the Storage object
      EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data_bytes()) % 64, 0u) << n;
    }
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(t.data<double>()[i], 0.0);
  }
}

TEST(Tensor, ViewsShareStorageAndVersion) {
  Tensor x = Tensor::zeros({3, 4}, DType::Float32);
  Tensor row = x.as_strided({4}, {1}, 4);       // x[1]
  Tensor col = x.as_strided({3}, {4}, 2);       // x[:, 2]
  EXPECT_EQ(row.storage().get(), x.storage().get());
  EXPECT_EQ(col.storage().get(), x.storage().get());
  row.data<float>()[3] = 5.0f;                  // x[1, 3]
  EXPECT_EQ(x.data<float>()[7], 5.0f);
  col.data<float>()[4 * 2] = 7.0f;              // col[2] = x[2, 2]
  EXPECT_EQ(x.data<float>()[10], 7.0f);
  EXPECT_EQ(x.version(), 0u);
  row.bump_version();
  EXPECT_EQ(x.version(), 1u);
  EXPECT_EQ(col.version(), 1u);
  x.bump_version();
  EXPECT_EQ(row.version(), 2u);
  Tensor a = x.alias();
  EXPECT_EQ(a.version(), 2u);
  a.bump_version();
  EXPECT_EQ(x.version(), 3u);
  // `.data`: same memory, its own counter.
  Tensor d = x.alias_with_new_version();
  EXPECT_EQ(d.storage().get(), x.storage().get());
  EXPECT_EQ(d.version(), 0u);
  d.bump_version();
  EXPECT_EQ(x.version(), 3u);
  // A new tensor has a fresh counter.
  EXPECT_EQ(Tensor::zeros({3, 4}, DType::Float32).version(), 0u);
}

TEST(Tensor, ViewsThroughOpsShareStorage) {
  Tensor x = ops::arange(0, 24, 1, DType::Float32);
  Tensor v = ops::view(x, {2, 3, 4});
  Tensor t = ops::transpose(v, 0, 2);
  Tensor s = ops::select(v, 1, 2);
  Tensor e = ops::expand(ops::unsqueeze(s, 0), {5, 2, 4});
  for (const Tensor& y : {v, t, s, e}) EXPECT_EQ(y.storage().get(), x.storage().get());
  EXPECT_EQ(t.strides(), (Shape{1, 4, 12}));
  EXPECT_EQ(e.strides(), (Shape{0, 12, 1}));
  Tensor r = ops::reshape(t, {24});  // a transposed layout cannot be viewed flat: copy
  EXPECT_NE(r.storage().get(), x.storage().get());
  EXPECT_THROW(ops::view(t, {24}), RuntimeError);
  Tensor r2 = ops::reshape(v, {6, 4});  // contiguous: view
  EXPECT_EQ(r2.storage().get(), x.storage().get());
}

TEST(Tensor, FromBlobKeepsOwnerAliveUntilLastView) {
  static std::atomic<int> released{0};
  released = 0;
  std::vector<float> buffer(12, 1.5f);
  {
    std::shared_ptr<void> owner(buffer.data(), [](void*) { released++; });
    Tensor t = Tensor::from_blob(buffer.data(), {3, 4}, {4, 1}, DType::Float32, owner, 48);
    owner.reset();
    Tensor v = t.as_strided({4}, {1}, 8);
    t = Tensor();
    EXPECT_EQ(released.load(), 0);
    EXPECT_EQ(v.data<float>()[0], 1.5f);
    v.data<float>()[0] = 3.0f;
    EXPECT_EQ(buffer[8], 3.0f);  // writes land in the lender's memory
  }
  EXPECT_EQ(released.load(), 1);
}

TEST(Storage, LiveCountersTrackAllocations) {
  const int64_t count = Storage::live_count(), bytes = Storage::live_bytes();
  {
    Tensor t = Tensor::empty({1000}, DType::Float64);
    EXPECT_EQ(Storage::live_count(), count + 1);
    EXPECT_EQ(Storage::live_bytes(), bytes + 8000);
    Tensor v = t.alias();
    EXPECT_EQ(Storage::live_count(), count + 1);  // views allocate no storage
  }
  EXPECT_EQ(Storage::live_count(), count);
  EXPECT_EQ(Storage::live_bytes(), bytes);
}

// ---- deferred deletion ----------------------------------------------------------------------------
struct ChainNode {
  static std::atomic<int64_t> alive;
  std::shared_ptr<ChainNode> next;
  ChainNode() { alive++; }
  ~ChainNode() {
    defer_release(std::move(next));
    alive--;
  }
};
std::atomic<int64_t> ChainNode::alive{0};

TEST(DeferredDelete, MillionLongChainDoesNotOverflowTheStack) {
  constexpr int64_t kLength = 1'000'000;
  {
    auto head = std::make_shared<ChainNode>();
    ChainNode* tail = head.get();
    for (int64_t i = 1; i < kLength; ++i) {
      tail->next = std::make_shared<ChainNode>();
      tail = tail->next.get();
    }
    EXPECT_EQ(ChainNode::alive.load(), kLength);
  }  // dropping the head destroys the chain iteratively (recursion would need ~1M frames)
  EXPECT_EQ(ChainNode::alive.load(), 0);
}

TEST(DeferredDelete, SharedTailsSurviveWhileReferenced) {
  auto keep = std::make_shared<ChainNode>();
  {
    auto a = std::make_shared<ChainNode>();
    a->next = std::make_shared<ChainNode>();
    a->next->next = keep;
  }
  EXPECT_EQ(ChainNode::alive.load(), 1);
  keep.reset();
  EXPECT_EQ(ChainNode::alive.load(), 0);
  defer_release(nullptr);  // a no-op
}

// Two unique links per node: one waits in the releaser's one-link slot, the other in its queue.
struct LadderNode {
  static std::atomic<int64_t> alive;
  std::shared_ptr<LadderNode> left, right;
  LadderNode() { alive++; }
  ~LadderNode() {
    defer_release(std::move(left));
    defer_release(std::move(right));
    alive--;
  }
};
std::atomic<int64_t> LadderNode::alive{0};

TEST(DeferredDelete, DeepNodesWithTwoLastLinksEach) {
  constexpr int64_t kLength = 500'000;
  {
    auto head = std::make_shared<LadderNode>();
    LadderNode* tail = head.get();
    for (int64_t i = 1; i < kLength; ++i) {  // each node: a fresh leaf and the rest of the ladder
      tail->left = std::make_shared<LadderNode>();
      tail->right = std::make_shared<LadderNode>();
      tail = (i % 2 ? tail->left : tail->right).get();
    }
    EXPECT_EQ(LadderNode::alive.load(), 2 * kLength - 1);
  }
  EXPECT_EQ(LadderNode::alive.load(), 0);
}

TEST(DeferredDelete, MillionOpAutogradGraph) {
  const int64_t nodes_before = autograd::Node::live_count();
  {
    Tensor x = Tensor::full({}, Scalar(1.0), DType::Float32);
    autograd::set_requires_grad(x, true);
    Tensor y = x;
    for (int i = 0; i < 1'000'000; ++i) y = ops::add(y, Scalar(1.0));
    EXPECT_GE(autograd::Node::live_count() - nodes_before, 1'000'000);
  }  // y's history (a million-node chain) is freed without deep recursion
  EXPECT_EQ(autograd::Node::live_count(), nodes_before);
}

}  // namespace
}  // namespace cg
