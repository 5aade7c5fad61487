// Unit tests of the diagnostics in csrc/graph: saved-tensor hooks, cycle-free saving of
// leaves (a .grad with a graph), anomaly mode and the NaN check, error details, the generator's
// state and the storage high-water mark. Run under ASan/UBSan in CI.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "graph/anomaly.h"
#include "engine/engine.h"
#include "graph/meta.h"
#include "graph/saved_hooks.h"
#include "core/errors.h"
#include "core/storage.h"
#include "core/tensor.h"
#include "ops/ops.h"

namespace cg {
namespace {

using autograd::TensorList;

Tensor leaf(std::vector<float> values) {
  Tensor t = Tensor::empty({static_cast<int64_t>(values.size())}, DType::Float32);
  for (size_t i = 0; i < values.size(); ++i) t.data<float>()[i] = values[i];
  autograd::set_requires_grad(t, true);
  return t;
}

float at(const Tensor& t, int64_t i) { return t.data<float>()[i]; }

void backward(const Tensor& root, bool create_graph = false) {
  autograd::BackwardOptions opt;
  opt.keep_graph = create_graph;
  opt.create_graph = create_graph;
  autograd::run_backward({root}, {}, {}, opt);
}

// ---- saved-tensor hooks -------------------------------------------------------------------------
struct CopyPacked : autograd::PackedTensor {
  Tensor copy;
  int* unpacks;
  Tensor unpack() const override {
    ++*unpacks;
    return copy;
  }
};

TEST(SavedTensorHooks, PackAtSaveUnpackInBackward) {
  int packs = 0, unpacks = 0;
  Tensor x = leaf({1, 2, 3});
  Tensor y;
  autograd::push_saved_tensors_hooks([&](const Tensor& t) {
    ++packs;
    EXPECT_FALSE(autograd::GradMode::is_enabled());  // pack runs with grad mode off
    auto p = std::make_shared<CopyPacked>();
    p->copy = ops::clone(t);
    p->unpacks = &unpacks;
    return p;
  });
  EXPECT_EQ(autograd::saved_tensors_hooks_depth(), 1u);
  y = ops::sum(ops::mul(x, x));
  autograd::pop_saved_tensors_hooks();
  EXPECT_EQ(packs, 2);
  EXPECT_EQ(unpacks, 0);
  backward(y);
  EXPECT_EQ(unpacks, 2);
  const Tensor& g = autograd::meta(x)->grad;
  EXPECT_FLOAT_EQ(at(g, 0), 2);
  EXPECT_FLOAT_EQ(at(g, 2), 6);
}

TEST(SavedTensorHooks, DisabledMessage) {
  autograd::set_saved_tensors_hooks_disabled(std::string("off"));
  EXPECT_THROW(autograd::push_saved_tensors_hooks([](const Tensor&) { return nullptr; }), RuntimeError);
  autograd::set_saved_tensors_hooks_disabled(std::nullopt);
  autograd::push_saved_tensors_hooks([](const Tensor&) { return nullptr; });
  EXPECT_THROW(autograd::set_saved_tensors_hooks_disabled(std::string("off")), RuntimeError);
  autograd::pop_saved_tensors_hooks();
  EXPECT_FALSE(autograd::saved_tensors_hooks_disabled_message().has_value());
}

// ---- a leaf whose .grad has a graph does not keep itself alive ----------------------------------
TEST(SavedTensor, LeafGradWithGraphIsNotACycle) {
  const int64_t nodes = autograd::Node::live_count();
  const int64_t tensors = TensorImpl::live_count();
  {
    Tensor x = leaf({1, 2, 3});
    Tensor y = ops::sum(ops::mul(ops::mul(x, x), x));
    backward(y, /*create_graph=*/true);
    ASSERT_TRUE(autograd::meta(x)->grad.defined());
    EXPECT_TRUE(autograd::grad_fn(autograd::meta(x)->grad) != nullptr);
    EXPECT_FLOAT_EQ(at(autograd::meta(x)->grad, 1), 12);  // 3x^2
  }
  EXPECT_EQ(autograd::Node::live_count(), nodes);
  EXPECT_EQ(TensorImpl::live_count(), tensors);
}

TEST(SavedTensor, SavedLeafSurvivesItsTensor) {
  Tensor x = leaf({1, 2});
  Tensor y;
  {
    Tensor w = leaf({3, 4});
    y = ops::sum(ops::mul(x, w));
  }
  backward(y);
  EXPECT_FLOAT_EQ(at(autograd::meta(x)->grad, 0), 3);
  EXPECT_FLOAT_EQ(at(autograd::meta(x)->grad, 1), 4);
}

TEST(SavedTensor, InplaceErrorCarriesTheCulprit) {
  Tensor x = leaf({0.1f, 0.2f});
  Tensor y = ops::exp(x);
  Tensor z = ops::sum(y);
  y.bump_version();
  try {
    backward(z);
    FAIL() << "no error";
  } catch (const RuntimeError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("which is output 0 of Exp, is at version 1; expected version 0"), std::string::npos);
    const size_t pos = what.find(kCulpritMarker);
    ASSERT_NE(pos, std::string::npos);
    EXPECT_NE(what.find("ExpBackward0 saved its own output 0 (shape [2], dtype float32)", pos), std::string::npos);
  }
}

// ---- anomaly mode and the NaN check ---------------------------------------------------------------
TEST(Anomaly, TraceWarningAndNanError) {
  std::vector<std::string> warnings;
  autograd::set_trace_provider([] { return std::string("  File \"model.py\", line 7, in forward\n"); });
  autograd::set_warning_handler([&](const std::string& m) { warnings.push_back(m); });
  autograd::AnomalyMode::set_enabled(true, true);
  Tensor x = leaf({0, 1});
  Tensor s = ops::sqrt(x);
  Tensor y = ops::sum(ops::mul(s, 0.0));
  EXPECT_EQ(autograd::grad_fn(s)->creation_trace(), "  File \"model.py\", line 7, in forward\n");
  try {
    backward(y);
    FAIL() << "no error";
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("Function 'SqrtBackward0' returned nan values in its 0th output.", 0), 0u);
  }
  autograd::AnomalyMode::set_enabled(false, true);
  autograd::set_trace_provider(nullptr);
  autograd::set_warning_handler(nullptr);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].rfind("Error detected in SqrtBackward0. Traceback of forward call that caused the error:\n", 0),
            0u);
}

TEST(Anomaly, NanCheckInf) {
  autograd::NanCheck::set_enabled(true, true);
  Tensor x = leaf({0, 4});
  Tensor y = ops::sum(ops::sqrt(x));
  EXPECT_TRUE(autograd::grad_fn(y)->creation_trace().empty());
  EXPECT_THROW(backward(y), RuntimeError);
  autograd::NanCheck::set_enabled(true, false);
  Tensor x2 = leaf({0, 4});
  backward(ops::sum(ops::sqrt(x2)));
  autograd::NanCheck::set_enabled(false, true);
  EXPECT_FLOAT_EQ(at(autograd::meta(x2)->grad, 1), 0.25f);
}

// ---- generator state and peak memory --------------------------------------------------------------
TEST(Diagnostics, RngStateRoundTrip) {
  ops::manual_seed(7);
  std::vector<uint64_t> state = ops::get_rng_state();
  Tensor a = ops::randn({16}, DType::Float32);
  ops::set_rng_state(state);
  Tensor b = ops::randn({16}, DType::Float32);
  for (int64_t i = 0; i < 16; ++i) EXPECT_EQ(at(a, i), at(b, i));
  EXPECT_EQ(ops::initial_seed(), 7u);
  EXPECT_THROW(ops::set_rng_state({1}), RuntimeError);
}

TEST(Diagnostics, StoragePeak) {
  Storage::reset_peak_bytes();
  const int64_t base = Storage::live_bytes();
  EXPECT_EQ(Storage::peak_bytes(), base);
  { Tensor t = Tensor::empty({1 << 20}, DType::Float32); }
  EXPECT_EQ(Storage::live_bytes(), base);
  EXPECT_GE(Storage::peak_bytes(), base + (4 << 20));
  Storage::reset_peak_bytes();
  EXPECT_EQ(Storage::peak_bytes(), base);
}

}  // namespace
}  // namespace cg
