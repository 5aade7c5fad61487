#include "graph/node.h"

#include <atomic>

#include "core/live_counts.h"
#include "graph/anomaly.h"
#include "graph/backward_filter.h"
#include "graph/forward_ad.h"

namespace cg::autograd {

namespace {
thread_local const BackwardFilter* t_current_filter = nullptr;
}  // namespace

const BackwardFilter* BackwardFilter::current() { return t_current_filter; }
BackwardFilter::Scope::Scope(const BackwardFilter* filter) : prev_(t_current_filter) { t_current_filter = filter; }
BackwardFilter::Scope::~Scope() { t_current_filter = prev_; }

void Node::note_creation_trace() { set_creation_trace(capture_creation_trace()); }

Node::~Node() {
  // Hand the links to the next nodes to the iterative releaser: no recursion on long chains.
  next_edges.clear_each([](Edge& e) { defer_release(std::move(e.fn)); });
  delete extras_.load(std::memory_order_relaxed);
  live_add(LiveKind::Node, -1);
}

Node::Extras::~Extras() = default;

Node::Extras& Node::extras() {
  Extras* e = extras_.load(std::memory_order_relaxed);
  if (!e) {
    e = new Extras();
    extras_.store(e, std::memory_order_release);
  }
  return *e;
}

void Node::set_forward(std::unique_ptr<forward_ad::NodeForward> fw) {
  HooksLock lock(hooks_lock_);
  if (!fw && !extras_.load(std::memory_order_relaxed)) return;
  extras().forward = std::move(fw);
}

int64_t Node::live_count() { return live_total(LiveKind::Node); }

const std::string& Node::creation_trace() const {
  static const std::string none;
  const Extras* e = extras_.load(std::memory_order_acquire);
  return e ? e->creation_trace : none;
}

void Node::set_creation_trace(std::string trace) {
  if (trace.empty()) return;
  HooksLock lock(hooks_lock_);
  extras().creation_trace = std::move(trace);
}

bool Node::should_compute_output(size_t i) const {
  if (i >= next_edges.size() || !next_edges[i].valid()) return false;
  const BackwardFilter* filter = BackwardFilter::current();
  return filter == nullptr || !filter->filtered || filter->is_needed(next_edges[i].fn.get());
}

}  // namespace cg::autograd

namespace cg::autograd {

std::vector<std::string> Node::saved_names() {
  std::vector<std::string> names;
  for (auto& item : saved_tensors_for_inspection()) names.push_back(item.first);
  return names;
}

SavedValue Node::saved_value(const std::string& name) {
  for (auto& item : saved_tensors_for_inspection())
    if (item.first == name) return std::move(item.second);
  return {};
}

void check_hook_value(const std::string& hook, const Tensor& before, const Tensor& after) {
  if (!before.defined() || !after.defined()) return;
  if (after.dtype() != before.dtype())
    throw RuntimeError(msg("hook '", hook, "' has changed the type of value (was ", legacy_type_name(before.dtype()),
                           " got ", legacy_type_name(after.dtype()), ")"));
  if (after.shape() != before.shape()) throw RuntimeError(msg("hook '", hook, "' has changed the size of value"));
}

}  // namespace cg::autograd
