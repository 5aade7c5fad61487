// Unit tests of the per-op fast paths of scalar code: fresh 0-d tensors (inline storage, no
// shape vectors), the small allocator's inline cut from a chunk, hook lists made on first use,
// the rarely used autograd state behind one pointer, and the inline checks ops make.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "core/small_alloc.h"
#include "core/storage.h"
#include "core/tensor.h"
#include "graph/forward_hooks.h"
#include "graph/grad_mode.h"
#include "graph/meta.h"
#include "ops/ops.h"

namespace cg {
namespace {

TEST(FastPaths, Empty0dIsAFreshScalar) {
  const int64_t tensors = TensorImpl::live_count(), storages = Storage::live_count(), bytes = Storage::live_bytes();
  for (DType dt : {DType::Float32, DType::Float64, DType::Int64, DType::Bool}) {
    Tensor t = Tensor::empty_0d(dt);
    EXPECT_EQ(t.dim(), 0);
    EXPECT_EQ(t.numel(), 1);
    EXPECT_EQ(t.dtype(), dt);
    EXPECT_TRUE(t.strides().empty());
    EXPECT_EQ(t.offset(), 0);
    EXPECT_TRUE(t.is_contiguous());
    EXPECT_EQ(t.storage()->nbytes(), itemsize(dt));
    EXPECT_EQ(t.version(), 0u);
    EXPECT_EQ(t.impl()->version, &t.storage()->version());  // the storage's own counter
    EXPECT_FALSE(t.impl()->autograd);
    EXPECT_EQ(TensorImpl::live_count(), tensors + 1);
    EXPECT_EQ(Storage::live_count(), storages + 1);
    EXPECT_EQ(Storage::live_bytes(), bytes + static_cast<int64_t>(itemsize(dt)));
  }
  EXPECT_EQ(TensorImpl::live_count(), tensors);
  EXPECT_EQ(Storage::live_count(), storages);
  EXPECT_EQ(Storage::live_bytes(), bytes);
}

TEST(FastPaths, ScalarCreationKeepsValuesAndOutlivesViews) {
  std::mt19937 gen(7);
  std::uniform_real_distribution<double> dist(-1e3, 1e3);
  for (int i = 0; i < 100; ++i) {
    const double v = dist(gen);
    Tensor t = Tensor::full({}, v, DType::Float64);
    EXPECT_EQ(t.item_double(), v);
    Tensor z = Tensor::zeros({}, DType::Float32);
    EXPECT_EQ(z.item_double(), 0.0);
    Tensor view = t.alias();  // keeps the storage (the block) after the tensor is gone
    t = Tensor();
    EXPECT_EQ(view.item_double(), v);
  }
}

TEST(FastPaths, SmallAllocCutsDistinctAlignedBlocks) {
  std::mt19937 gen(11);
  for (size_t size : {16, 48, 160, 528, 1024}) {
    std::vector<void*> blocks;
    for (int i = 0; i < 3000; ++i) blocks.push_back(small_alloc(size));  // past the first chunk
    std::set<void*> distinct(blocks.begin(), blocks.end());
    EXPECT_EQ(distinct.size(), blocks.size());
    for (void* p : blocks) EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u) << size;
    std::sort(blocks.begin(), blocks.end());
    for (size_t i = 1; i < blocks.size(); ++i)  // no two overlap
      EXPECT_GE(static_cast<char*>(blocks[i]) - static_cast<char*>(blocks[i - 1]), static_cast<ptrdiff_t>(size));
    std::shuffle(blocks.begin(), blocks.end(), gen);
    for (void* p : blocks) small_free(p, size);
#if !defined(__SANITIZE_ADDRESS__)  // (under AddressSanitizer every block is its own allocation)
    // A freed block is the next one handed out (before any new cut).
    void* p = small_alloc(size);
    small_free(p, size);
    void* again = small_alloc(size);
    EXPECT_EQ(again, p);
    small_free(again, size);
#endif
  }
}

TEST(FastPaths, LazyHookListsStartEmpty) {
  autograd::LazyHookList<autograd::TensorHook> hooks;
  EXPECT_TRUE(hooks.empty());
  EXPECT_TRUE(hooks.get().items.empty());
  EXPECT_FALSE(hooks.remove(0));
  int calls = 0;
  hooks.run([&](const std::string&, const autograd::TensorHook&) { ++calls; });
  EXPECT_EQ(calls, 0);

  const int a = hooks.add([](const Tensor& g) { return g; }, "a");
  const int b = hooks.add([](const Tensor& g) { return g; }, "b");
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, 1);
  EXPECT_FALSE(hooks.empty());
  autograd::HookList<autograd::TensorHook> copy;
  copy = hooks;  // the engine runs a copy
  ASSERT_EQ(copy.items.size(), 2u);
  EXPECT_EQ(copy.items[1].name, "b");
  std::vector<std::string> seen;
  hooks.run([&](const std::string& name, const autograd::TensorHook&) { seen.push_back(name); });
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(hooks.remove(a));
  EXPECT_FALSE(hooks.remove(a));
  EXPECT_TRUE(hooks.remove(b));
  EXPECT_TRUE(hooks.empty());
  EXPECT_EQ(hooks.add([](const Tensor& g) { return g; }), 2);  // ids keep counting
}

TEST(FastPaths, RareAutogradStateIsMadeOnlyForViews) {
  Tensor x = Tensor::full({2, 3}, 1.5, DType::Float32);
  autograd::set_requires_grad(x, true);
  Tensor y = ops::mul(x, 2.0);
  const autograd::AutogradMeta* my = autograd::meta(y);
  ASSERT_NE(my, nullptr);
  EXPECT_EQ(my->extras_if(), nullptr);  // an op's output: no view base, tangent or name
  EXPECT_FALSE(my->view_base().defined());
  EXPECT_EQ(my->fw(), nullptr);
  EXPECT_TRUE(my->hooks.empty());
  EXPECT_TRUE(my->post_accumulate_hooks.empty());

  Tensor v = ops::transpose(y, 0, 1);
  const autograd::AutogradMeta* mv = autograd::meta(v);
  ASSERT_NE(mv, nullptr);
  EXPECT_TRUE(mv->is_view);
  ASSERT_NE(mv->extras_if(), nullptr);
  EXPECT_TRUE(mv->view_base().is_same(y));
  EXPECT_NE(mv->extras_if()->replay_view, nullptr);
  Tensor vv = ops::transpose(v, 0, 1);  // a view of a view records the first base
  EXPECT_TRUE(autograd::meta(vv)->view_base().is_same(y));
}

TEST(FastPaths, InlineChecksFollowTheModes) {
  Tensor x = Tensor::scalar(1.0, DType::Float32);
  Tensor c = Tensor::scalar(1.0, DType::Float32);
  autograd::set_requires_grad(x, true);
  EXPECT_TRUE(autograd::GradMode::is_enabled());
  EXPECT_FALSE(autograd::forward_ad::active());
  EXPECT_TRUE(autograd::any_requires_grad(x));
  EXPECT_FALSE(autograd::any_requires_grad(c));
  EXPECT_FALSE(autograd::any_requires_grad(Tensor()));
  EXPECT_TRUE(autograd::requires_grad(ops::mul(x, 3.0)));
  {
    autograd::GradModeGuard off(false);
    EXPECT_FALSE(autograd::GradMode::is_enabled());
    EXPECT_FALSE(autograd::any_requires_grad(x));
    EXPECT_FALSE(autograd::requires_grad(ops::mul(x, 3.0)));
  }
  EXPECT_TRUE(autograd::GradMode::is_enabled());
  // The inline gradient edge of an op's output is its grad_fn; a leaf's goes out of line.
  Tensor y = ops::mul(x, 3.0);
  autograd::Edge e = autograd::gradient_edge(y);
  EXPECT_EQ(e.fn, autograd::grad_fn(y));
  EXPECT_EQ(e.input_nr, 0u);
  autograd::Edge leaf = autograd::gradient_edge(x);
  ASSERT_TRUE(leaf.valid());
  EXPECT_TRUE(leaf.fn->is_accumulator());
  EXPECT_FALSE(autograd::gradient_edge(c).valid());
}

}  // namespace
}  // namespace cg
