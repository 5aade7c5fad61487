// The parallel walk (engine/parallel_walk.cpp): independent branches of one graph on pool
// threads. Gradients must be the same bits for 1, 2 and 4 threads (every sum of several gradients
// runs in one fixed order), errors must reach the caller, hooks must run once each, and a
// backward called from inside a hook must work. Every node counts as heavy here, and the thread
// counts are explicit (so the machine's load never keeps a call serial). Also meant to run under
// ThreadSanitizer (-DCHAINGRAD_TSAN=ON).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "core/tensor.h"
#include "engine/engine.h"
#include "graph/grad_mode.h"
#include "graph/meta.h"
#include "kernels/parallel.h"
#include "ops/creation.h"
#include "ops/ops.h"

namespace cg {
namespace {

// Every node heavy and an explicit thread count for the test's duration.
class ParallelWalk : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_work_ = autograd::parallel_min_node_work();
    autograd::set_parallel_min_node_work(1);
  }
  void TearDown() override {
    autograd::set_parallel_min_node_work(saved_work_);
    autograd::set_backward_threads(0);
    autograd::set_backward_load_aware(true);
  }

 private:
  int64_t saved_work_ = 0;
};

Tensor leaf(int64_t n, uint64_t seed) {
  ops::manual_seed(seed);
  Tensor t = ops::randn({n}, DType::Float32);
  autograd::set_requires_grad(t, true);
  return t;
}

// `branches` chains from one shared interior node h (fan-in `branches` there) that also read the
// leaves (fan-in into x's and w's accumulators), summed pairwise into one loss.
Tensor branchy_loss(const Tensor& x, const Tensor& w, int branches, int links) {
  Tensor h = ops::add(ops::mul(x, w), 0.5);
  Tensor total;
  for (int k = 0; k < branches; ++k) {
    Tensor y = h;
    for (int i = 0; i < links; ++i) y = ops::add(ops::tanh(ops::mul(y, 0.9 + 0.01 * k)), ops::mul(w, 0.1 * i));
    Tensor part = ops::sum(ops::mul(y, x));
    total = total.defined() ? ops::add(total, part) : part;
  }
  return total;
}

std::vector<uint8_t> bytes_of(const Tensor& t) {
  Tensor c = ops::contiguous(t);
  const auto* p = reinterpret_cast<const uint8_t*>(c.data_bytes());
  return std::vector<uint8_t>(p, p + c.numel() * static_cast<int64_t>(sizeof(float)));
}

// x.grad and w.grad from backward, then both again from autograd.grad (captures).
std::vector<std::vector<uint8_t>> grads_for(int threads, int branches, int links) {
  autograd::set_backward_threads(threads);
  Tensor x = leaf(513, 1), w = leaf(513, 2);
  autograd::run_backward({branchy_loss(x, w, branches, links)}, {}, {}, {});
  EXPECT_EQ(autograd::last_backward_was_parallel(), threads > 1);
  autograd::BackwardOptions grad_only;
  grad_only.accumulate_grad = false;
  autograd::TensorList g = autograd::run_backward({branchy_loss(x, w, branches, links)}, {}, {x, w}, grad_only);
  EXPECT_EQ(autograd::last_backward_was_parallel(), threads > 1);
  return {bytes_of(autograd::get_grad(x)), bytes_of(autograd::get_grad(w)), bytes_of(g[0]), bytes_of(g[1])};
}

TEST_F(ParallelWalk, GradientsAreBitIdenticalFor1_2And4Threads) {
  for (int branches : {2, 6}) {
    const auto reference = grads_for(1, branches, 12);
    for (int threads : {2, 4})
      for (int rep = 0; rep < 4; ++rep) {  // the schedule differs run to run; the bits may not
        const auto got = grads_for(threads, branches, 12);
        ASSERT_EQ(got.size(), reference.size());
        for (size_t i = 0; i < got.size(); ++i)
          EXPECT_TRUE(got[i] == reference[i]) << "gradient " << i << ", " << branches << " branches, " << threads
                                              << " threads";
      }
  }
}

TEST_F(ParallelWalk, MatchesTheSerialSumOfBranches) {
  // d/dx sum_k sum(tanh(c_k x)) = sum_k c_k (1 - tanh(c_k x)^2), checked elementwise.
  autograd::set_backward_threads(4);
  Tensor x = leaf(1000, 3);
  Tensor total;
  for (int k = 0; k < 4; ++k) {
    Tensor part = ops::sum(ops::tanh(ops::mul(x, 0.5 + 0.25 * k)));
    total = total.defined() ? ops::add(total, part) : part;
  }
  autograd::run_backward({total}, {}, {}, {});
  ASSERT_TRUE(autograd::last_backward_was_parallel());
  Tensor g = autograd::get_grad(x);
  for (int64_t i = 0; i < 1000; ++i) {
    const double xi = x.data<float>()[i];
    double expected = 0;
    for (int k = 0; k < 4; ++k) {
      const double c = 0.5 + 0.25 * k, t = std::tanh(c * xi);
      expected += c * (1 - t * t);
    }
    EXPECT_NEAR(g.data<float>()[i], expected, 1e-5);
  }
}

// A node whose backward fails.
struct Failing : autograd::Node {
  autograd::TensorList apply(autograd::TensorList&&) override { throw std::runtime_error("failed on purpose"); }
  std::string name() const override { return "Failing"; }
};

TEST_F(ParallelWalk, AnErrorInOneBranchReachesTheCaller) {
  autograd::set_backward_threads(2);
  for (int rep = 0; rep < 5; ++rep) {
    Tensor x = leaf(600, 4), w = leaf(600, 5);
    Tensor good = ops::tanh(ops::mul(x, 2.0));
    for (int i = 0; i < 20; ++i) good = ops::tanh(good);
    Tensor bad = Tensor::full({600}, 1.0, DType::Float32);
    auto node = std::make_shared<Failing>();
    node->next_edges.push_back(autograd::gradient_edge(ops::tanh(w)));
    autograd::set_history(bad, node);
    Tensor loss = ops::add(ops::sum(good), ops::sum(ops::mul(bad, 3.0)));
    EXPECT_THROW(autograd::run_backward({loss}, {}, {}, {}), std::runtime_error);
  }
  // The pool is still usable afterwards.
  Tensor x = leaf(600, 6);
  autograd::run_backward({ops::add(ops::sum(ops::tanh(x)), ops::sum(ops::sin(x)))}, {}, {}, {});
  EXPECT_TRUE(autograd::last_backward_was_parallel());
  EXPECT_TRUE(autograd::get_grad(x).defined());
}

TEST_F(ParallelWalk, TensorHooksRunOnceEachAndMayReplaceTheGradient) {
  autograd::set_backward_threads(4);
  Tensor x = leaf(700, 7);
  std::atomic<int> calls[4] = {};
  Tensor total;
  for (int k = 0; k < 4; ++k) {
    Tensor y = ops::tanh(ops::mul(x, 1.0 + k));
    autograd::grad_fn(y)->edit_hooks([&, k](autograd::Node::Hooks& h) {
      return h.tensor.add({0, [&, k](const Tensor& g) {
                             calls[k].fetch_add(1);
                             return ops::mul(g, 2.0);  // doubles this branch's gradient
                           }});
    });
    Tensor part = ops::sum(y);
    total = total.defined() ? ops::add(total, part) : part;
  }
  autograd::run_backward({total}, {}, {}, {});
  EXPECT_TRUE(autograd::last_backward_was_parallel());
  for (auto& c : calls) EXPECT_EQ(c.load(), 1);
  Tensor g = autograd::get_grad(x);
  for (int64_t i = 0; i < 700; i += 37) {
    double expected = 0;
    for (int k = 0; k < 4; ++k) {
      const double t = std::tanh((1.0 + k) * x.data<float>()[i]);
      expected += 2 * (1.0 + k) * (1 - t * t);
    }
    EXPECT_NEAR(g.data<float>()[i], expected, 1e-4);
  }
}

TEST_F(ParallelWalk, BackwardInsideAHookOfAParallelBranch) {
  autograd::set_backward_threads(2);
  Tensor x = leaf(600, 8);
  std::atomic<int> nested{0};
  Tensor total;
  for (int k = 0; k < 2; ++k) {
    Tensor y = ops::tanh(ops::mul(x, 1.0 + k));
    autograd::grad_fn(y)->edit_hooks([&](autograd::Node::Hooks& h) {
      return h.tensor.add({0, [&](const Tensor&) {
                             // A graph of its own, with two branches too (it may go parallel itself);
                             // backward runs hooks with grad mode off, as PyTorch does.
                             autograd::GradModeGuard grad_mode(true);
                             Tensor z = leaf(600, 9);
                             autograd::run_backward({ops::add(ops::sum(ops::tanh(z)), ops::sum(ops::sin(z)))}, {}, {}, {});
                             if (autograd::get_grad(z).defined()) nested.fetch_add(1);
                             return Tensor();
                           }});
    });
    Tensor part = ops::sum(y);
    total = total.defined() ? ops::add(total, part) : part;
  }
  autograd::run_backward({total}, {}, {}, {});
  EXPECT_EQ(nested.load(), 2);
  EXPECT_TRUE(autograd::get_grad(x).defined());
}

TEST_F(ParallelWalk, ManyBranchesOnFourThreadsSumInOneOrder) {
  // Eight long branches into one leaf (eight cells there, sorted before the sum) and records
  // added by every thread.
  auto run = [](int threads) {
    autograd::set_backward_threads(threads);
    Tensor x = leaf(257, 10);
    Tensor total;
    for (int k = 0; k < 8; ++k) {
      Tensor y = ops::mul(x, 1.0 + 0.1 * k);
      for (int i = 0; i < 60; ++i) y = ops::tanh(ops::mul(y, 1.01));
      Tensor part = ops::sum(y);
      total = total.defined() ? ops::add(total, part) : part;
    }
    autograd::run_backward({total}, {}, {}, {});
    return bytes_of(autograd::get_grad(x));
  };
  const auto reference = run(1);
  for (int rep = 0; rep < 5; ++rep) {
    EXPECT_TRUE(run(4) == reference);
    EXPECT_TRUE(run(2) == reference);
  }
}

TEST_F(ParallelWalk, NodesTheKernelsSplitAreNotHeavy) {
  autograd::set_backward_threads(2);
  Tensor x = leaf(kGrainSize, 11);
  autograd::run_backward({ops::add(ops::sum(ops::tanh(x)), ops::sum(ops::sin(x)))}, {}, {}, {});
  EXPECT_FALSE(autograd::last_backward_was_parallel());
  Tensor y = leaf(kGrainSize - 1, 11);
  autograd::run_backward({ops::add(ops::sum(ops::tanh(y)), ops::sum(ops::sin(y)))}, {}, {}, {});
  EXPECT_TRUE(autograd::last_backward_was_parallel());
}

TEST_F(ParallelWalk, FollowsSetNumThreadsWhenNotLoadAware) {
  // No explicit backward thread count: set_num_threads decides; with load-awareness off the
  // machine's load does not matter.
  const int saved = get_num_threads();
  set_num_threads(2);
  autograd::set_backward_threads(0);
  autograd::set_backward_load_aware(false);
  Tensor x = leaf(600, 12);
  autograd::run_backward({ops::add(ops::sum(ops::tanh(x)), ops::sum(ops::sin(x)))}, {}, {}, {});
  EXPECT_TRUE(autograd::last_backward_was_parallel());
  set_num_threads(1);
  autograd::run_backward({ops::add(ops::sum(ops::tanh(x)), ops::sum(ops::sin(x)))}, {}, {}, {});
  EXPECT_FALSE(autograd::last_backward_was_parallel());
  set_num_threads(saved);
}

}  // namespace
}  // namespace cg
