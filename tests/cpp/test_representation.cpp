// Unit tests of the tensor/node representation: the inline small vector, the per-thread free
// lists (blocks freed on another thread), per-thread live counters, a fresh tensor's shared
// block (a view may outlive the tensor without keeping its autograd state), and destruction of
// a deep graph whose links are mostly not the last owner.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "graph/meta.h"
#include "core/live_counts.h"
#include "core/small_alloc.h"
#include "core/small_vector.h"
#include "core/storage.h"
#include "core/tensor.h"
#include "ops/ops.h"

namespace cg {
namespace {

TEST(SmallVector, InlineThenHeapKeepsValues) {
  SmallVector<std::string, 2> v;
  EXPECT_TRUE(v.empty());
  v.push_back("a");
  v.emplace_back("b");
  EXPECT_EQ(v.capacity(), 2u);  // still inline
  v.push_back(std::string(100, 'c'));
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0], "a");
  EXPECT_EQ(v[1], "b");
  EXPECT_EQ(v.back(), std::string(100, 'c'));
  SmallVector<std::string, 2> moved(std::move(v));
  EXPECT_EQ(moved.size(), 3u);
  EXPECT_TRUE(v.empty());  // NOLINT: moved-from is empty by design
  SmallVector<std::string, 2> copy = moved;
  copy.pop_back();
  EXPECT_EQ(copy.size(), 2u);
  EXPECT_EQ(moved.size(), 3u);
  std::string joined;
  for (const std::string& s : copy) joined += s;
  EXPECT_EQ(joined, "ab");
  SmallVector<std::string, 2> small{"x"};
  small = std::move(copy);  // inline source: elements are moved one by one
  EXPECT_EQ(small.size(), 2u);
  small.resize(4);
  EXPECT_EQ(small.size(), 4u);
  EXPECT_EQ(small[3], "");
  small.clear();
  EXPECT_TRUE(small.empty());
}

TEST(SmallAlloc, BlocksFreedOnAnotherThreadAreReusable) {
  std::vector<void*> blocks;
  for (int i = 0; i < 1000; ++i) blocks.push_back(small_alloc(200));
  std::thread t([&] {
    for (void* p : blocks) small_free(p, 200);  // onto this thread's lists, then to the shared pool at exit
  });
  t.join();
  // This thread's lists are untouched by the other thread's frees; allocating again works.
  void* p = small_alloc(200);
  ASSERT_NE(p, nullptr);
  small_free(p, 200);
  void* big = small_alloc(kSmallAllocMax + 1);  // beyond the pooled sizes: operator new
  small_free(big, kSmallAllocMax + 1);
}

// A thread that only frees what another allocates hands its overflowing lists to the shared
// pool, from which the allocating thread refills: the blocks circulate instead of piling up on
// the freeing thread while the allocator cuts ever more fresh memory.
TEST(SmallAlloc, BlocksCirculateBetweenAProducerAndAConsumerThread) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "under AddressSanitizer every block is its own allocation (no free lists to circulate)";
#endif
  std::vector<void*> batch;
  std::set<void*> seen;
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 2000; ++i) batch.push_back(small_alloc(200));
    seen.insert(batch.begin(), batch.end());
    std::thread consumer([&] {
      for (void* p : batch) small_free(p, 200);
    });
    consumer.join();
    batch.clear();
  }
  // 100,000 allocations; without circulation every one would be a fresh block.
  EXPECT_LT(seen.size(), 20000u);
}

TEST(Scalar, OneValueReadThroughItsKind) {
  EXPECT_EQ(sizeof(Scalar), 16u);  // nodes that save a number hold it inline
  const Scalar f(2.75), i(int64_t{-3}), b(true), z(0.0);
  EXPECT_EQ(f.to_int(), 2);
  EXPECT_EQ(f.to<int32_t>(), 2);
  EXPECT_DOUBLE_EQ(i.to_double(), -3.0);
  EXPECT_FLOAT_EQ(i.to<float>(), -3.0f);
  EXPECT_EQ(b.to_int(), 1);
  EXPECT_DOUBLE_EQ(b.to_double(), 1.0);
  EXPECT_TRUE(Scalar(0.5).to<bool>());
  EXPECT_FALSE(z.to<bool>());
  EXPECT_EQ(f.kind(), ScalarKind::Float);
  EXPECT_EQ(i.kind(), ScalarKind::Int);
}

TEST(LiveCounts, ObjectsMadeAndFreedOnDifferentThreadsSumToZero) {
  const int64_t tensors = TensorImpl::live_count();
  const int64_t storages = Storage::live_count();
  const int64_t nodes = autograd::Node::live_count();
  std::vector<Tensor> made(100);
  std::thread producer([&] {
    for (Tensor& t : made) {
      Tensor x = Tensor::scalar(1.0, DType::Float32);
      autograd::set_requires_grad(x, true);
      t = ops::mul(x, 2.0);  // a node and its leaf's accumulator, made on this thread
    }
  });
  producer.join();
  // The results live; their leaves are gone (accumulators hold leaves weakly), the nodes and
  // the leaves' accumulators live on in the results' graphs.
  EXPECT_EQ(TensorImpl::live_count() - tensors, 100);
  EXPECT_EQ(autograd::Node::live_count() - nodes, 200);
  std::thread consumer([&] { made.clear(); });  // freed on a third thread
  consumer.join();
  EXPECT_EQ(TensorImpl::live_count(), tensors);
  EXPECT_EQ(Storage::live_count(), storages);
  EXPECT_EQ(autograd::Node::live_count(), nodes);
}

TEST(FreshTensor, ViewOutlivesTheTensorWithoutItsAutogradState) {
  const int64_t nodes = autograd::Node::live_count();
  Tensor view;
  {
    Tensor x = Tensor::scalar(3.0, DType::Float32);
    autograd::set_requires_grad(x, true);
    autograd::meta_mut(x).grad = ops::mul(ops::mul(x, 2.0), 3.0);  // a .grad carrying a graph
    view = x.alias();
    EXPECT_EQ(view.storage().get(), x.storage().get());
  }
  // The tensor (and its .grad with the graph) is gone; the storage lives on with the view.
  EXPECT_EQ(autograd::Node::live_count(), nodes);
  EXPECT_EQ(view.item_double(), 3.0);
  view.data<float>()[0] = 4.0f;
  EXPECT_EQ(view.item_double(), 4.0);
}

TEST(FreshTensor, InlineAndHeapStoragesCountTheirBytes) {
  const int64_t bytes = Storage::live_bytes();
  {
    Tensor tiny = Tensor::zeros({2}, DType::Float32);      // inline
    Tensor large = Tensor::zeros({1000}, DType::Float64);  // heap
    EXPECT_EQ(Storage::live_bytes() - bytes, 8 + 8000);
    EXPECT_GE(Storage::peak_bytes(), Storage::live_bytes());
    EXPECT_EQ(large.data<double>()[999], 0.0);
  }
  EXPECT_EQ(Storage::live_bytes(), bytes);
}

TEST(DeferredDelete, DeepChainSharingOneLeafIsFreedIteratively) {
  Tensor x = Tensor::scalar(1.0, DType::Float32);
  autograd::set_requires_grad(x, true);
  autograd::grad_accumulator(x);  // made once, owned by the leaf
  const int64_t nodes = autograd::Node::live_count();
  {
    Tensor y = x;
    for (int i = 0; i < 1'000'000; ++i) y = ops::add(y, x);  // every node also links to x's accumulator
  }
  EXPECT_EQ(autograd::Node::live_count(), nodes);
}

}  // namespace
}  // namespace cg
