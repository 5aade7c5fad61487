// Concurrent backward calls into one shared leaf, with .grad reset, hooks edited and a shared
// node run by every thread. Meant to run under ThreadSanitizer (-DCHAINGRAD_TSAN=ON), where a
// data race fails the run; in other builds it checks that no update is lost.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "graph/meta.h"
#include "core/tensor.h"
#include "ops/ops.h"

namespace cg {
namespace {

Tensor ones_leaf(int64_t n) {
  Tensor t = Tensor::full({n}, 1.0, DType::Float64);
  autograd::set_requires_grad(t, true);
  return t;
}

void backward(const Tensor& root, bool keep_graph = false) {
  autograd::BackwardOptions opt;
  opt.keep_graph = keep_graph;
  autograd::run_backward({root}, {}, {}, opt);
}

constexpr int kThreads = 4;
constexpr int kReps = 300;

TEST(EngineThreads, ConcurrentAccumulationLosesNothing) {
  Tensor w = ones_leaf(8);
  std::vector<std::thread> threads;
  for (int k = 0; k < kThreads; ++k)
    threads.emplace_back([&w, k] {
      for (int r = 0; r < kReps; ++r) backward(ops::sum(ops::mul(w, static_cast<double>(k + 1))));
    });
  for (auto& t : threads) t.join();
  Tensor g = autograd::get_grad(w);
  ASSERT_TRUE(g.defined());
  const double expected = kReps * (kThreads * (kThreads + 1) / 2);
  for (int64_t i = 0; i < 8; ++i) EXPECT_EQ(g.data<double>()[i], expected);
}

TEST(EngineThreads, ResetsHooksAndASharedNode) {
  Tensor w = ones_leaf(8);
  Tensor shared = ops::mul(w, 3.0);  // its node runs in every thread's backward (graph retained)
  std::atomic<bool> stop{false};
  std::atomic<int64_t> hook_calls{0};
  std::thread churn([&] {
    while (!stop.load()) {
      autograd::set_grad(w, Tensor());
      int id = autograd::grad_fn(shared)->edit_hooks([&](autograd::Node::Hooks& h) {
        return h.tensor.add({0, [&](const Tensor&) { hook_calls.fetch_add(1); return Tensor(); }});
      });
      autograd::grad_fn(shared)->edit_hooks([id](autograd::Node::Hooks& h) { h.tensor.remove(id); });
    }
  });
  std::vector<std::thread> threads;
  for (int k = 0; k < kThreads; ++k)
    threads.emplace_back([&] {
      for (int r = 0; r < kReps; ++r) backward(ops::sum(ops::mul(shared, 2.0)), true);
    });
  for (auto& t : threads) t.join();
  stop = true;
  churn.join();
  Tensor g = autograd::get_grad(w);
  if (g.defined())
    for (int64_t i = 0; i < 8; ++i) EXPECT_EQ(static_cast<int64_t>(g.data<double>()[i]) % 6, 0);
}

}  // namespace
}  // namespace cg

namespace cg {
namespace {

// Emits a fresh gradient and remembers where its data lives.
struct EmitGrad : autograd::Node {
  const void* emitted = nullptr;
  autograd::TensorList apply(autograd::TensorList&&) override {
    Tensor g = Tensor::full({4}, 2.0, DType::Float32);
    emitted = g.data_bytes();
    return {g};
  }
  std::string name() const override { return "EmitGrad"; }
};

TEST(Accumulate, FirstGradTakesOverAnUnsharedBuffer) {
  Tensor x = Tensor::full({4}, 1.0, DType::Float32);
  autograd::set_requires_grad(x, true);
  auto node = std::make_shared<EmitGrad>();
  node->next_edges.push_back(autograd::gradient_edge(x));
  Tensor root = Tensor::full({}, 1.0, DType::Float32);
  autograd::set_history(root, node);
  backward(root);
  Tensor g = autograd::get_grad(x);
  ASSERT_TRUE(g.defined());
  EXPECT_EQ(g.data_bytes(), node->emitted);  // stolen, not copied
  EXPECT_EQ(g.data<float>()[3], 2.0f);
}

}  // namespace
}  // namespace cg
