#include "graph/anomaly.h"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <exception>

#include "graph/diagnostics.h"
#include "kernels/elementwise.h"

namespace cg::autograd {

// Process-wide like PyTorch's AnomalyMode (a debugging switch, read once per node, inline in
// Node's constructor: graph/node.h).
std::atomic<bool> node_detail::g_anomaly_enabled{false};

namespace {
std::atomic<bool> g_anomaly_check_nan{true};
std::atomic<bool> g_nan_check{false};
std::atomic<bool> g_nan_check_inf{true};

TraceProvider g_trace_provider;
WarningHandler g_warning_handler;

// The node whose backward is running on this thread (anomaly mode only).
thread_local const Node* t_parent = nullptr;

struct BadCount {
  int64_t nan = 0;
  int64_t inf = 0;
};

BadCount count_bad(const Tensor& t) {
  BadCount c;
  if (!t.defined() || !is_floating(t.dtype()) || t.numel() == 0) return c;
  Tensor data = t;
  if (!t.is_contiguous() || is_storage_only(t.dtype())) {  // float16: checked as float32
    data = Tensor::empty(t.shape(), compute_dtype(t.dtype()));
    kernels::copy(data, t);
  }
  CG_DISPATCH_FLOAT(data.dtype(), "nan check", [&] {
    const scalar_t* p = data.data<scalar_t>();
    for (int64_t i = 0, n = data.numel(); i < n; ++i) {
      c.nan += std::isnan(p[i]) ? 1 : 0;
      c.inf += std::isinf(p[i]) ? 1 : 0;
    }
  });
  return c;
}

std::string where_gradient_goes(const Node& node, size_t i) {
  if (i >= node.next_edges.size() || !node.next_edges[i].valid()) return "";
  const Edge& e = node.next_edges[i];
  return msg("; it flows to ", e.fn->name(), e.fn->name() == "AccumulateGrad" ? " (a leaf's .grad)" : "");
}
}  // namespace

bool AnomalyMode::is_enabled() { return node_detail::g_anomaly_enabled.load(std::memory_order_relaxed); }
bool AnomalyMode::should_check_nan() { return g_anomaly_check_nan.load(std::memory_order_relaxed); }
void AnomalyMode::set_enabled(bool enabled, bool check_nan) {
  g_anomaly_check_nan.store(check_nan);
  node_detail::g_anomaly_enabled.store(enabled);
}

bool NanCheck::is_enabled() { return g_nan_check.load(std::memory_order_relaxed); }
bool NanCheck::checks_inf() { return g_nan_check_inf.load(std::memory_order_relaxed); }
void NanCheck::set_enabled(bool enabled, bool check_inf) {
  g_nan_check_inf.store(check_inf);
  g_nan_check.store(enabled);
}

void set_trace_provider(TraceProvider provider) { g_trace_provider = std::move(provider); }
void set_warning_handler(WarningHandler handler) { g_warning_handler = std::move(handler); }

void anomaly_warn(const std::string& message) {
  if (g_warning_handler) {
    g_warning_handler(message);
  } else {
    std::fprintf(stderr, "Warning: %s\n", message.c_str());
  }
}

std::string capture_creation_trace() {
  std::string trace = g_trace_provider ? g_trace_provider() : std::string();
  if (const Node* parent = t_parent) {
    trace += "\n\nPrevious calculation was induced by " + parent->name() +
             ". Traceback of forward call that induced the previous calculation:\n" + parent->creation_trace();
  }
  return trace;
}

AnomalyNodeGuard::AnomalyNodeGuard(const Node& node) {
  if (!AnomalyMode::is_enabled()) return;
  node_ = &node;
  prev_parent_ = t_parent;
  t_parent = &node;
  uncaught_ = std::uncaught_exceptions();
}

AnomalyNodeGuard::~AnomalyNodeGuard() {
  if (!node_) return;
  t_parent = prev_parent_;
  if (std::uncaught_exceptions() <= uncaught_) return;
  try {
    if (node_->creation_trace().empty()) {
      anomaly_warn("Error detected in " + node_->name() +
                   ". No forward pass information available. Enable detect anomaly during forward pass for "
                   "more information.");
    } else {
      anomaly_warn("Error detected in " + node_->name() + ". Traceback of forward call that caused the error:\n" +
                   node_->creation_trace());
    }
  } catch (...) {
    // A warning must never replace the error being reported.
  }
}

void check_node_outputs(const Node& node, const TensorList& outputs) {
  const bool anomaly_nan = AnomalyMode::is_enabled() && AnomalyMode::should_check_nan();
  const bool nan_check = NanCheck::is_enabled();
  if (!anomaly_nan && !nan_check) return;
  const bool check_inf = nan_check && NanCheck::checks_inf();
  for (size_t i = 0; i < outputs.size(); ++i) {
    const BadCount c = count_bad(outputs[i]);
    if (c.nan == 0 && (!check_inf || c.inf == 0)) continue;
    const char* what = c.nan ? "nan" : "inf";
    std::string culprit =
        msg(node.name(), " computed the gradient for its input ", i, " (", describe_tensor(outputs[i]), ") with ",
            c.nan ? c.nan : c.inf, " ", c.nan ? "NaN" : "inf", " of ", outputs[i].numel(), " elements",
            where_gradient_goes(node, i), ".");
    if (node.creation_trace().empty())
      culprit += msg(" Turn on chaingrad.autograd.set_detect_anomaly(True) before the forward pass to see where ",
                     node.name(), " was created.");
    throw RuntimeError(
        with_culprit(msg("Function '", node.name(), "' returned ", what, " values in its ", i, "th output."), culprit));
  }
}

}  // namespace cg::autograd
