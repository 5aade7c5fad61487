#include "engine/fused_chain.h"

#include <algorithm>
#include <cstdlib>

#include "graph/anomaly.h"
#include "graph/forward_ad.h"
#include "graph/grad_mode.h"
#include "graph/pointwise.h"
#include "kernels/parallel.h"

namespace cg::autograd {

namespace {

// Below this many elements the nodes' own passes stay in cache: fusing saves next to nothing.
constexpr int64_t kMinElements = kGrainSize;

// CHAINGRAD_FUSED_CHAINS=0 turns fusion off (to compare, or to rule it out).
bool chains_enabled() {
  static const bool on = [] {
    const char* env = std::getenv("CHAINGRAD_FUSED_CHAINS");
    return !(env && env[0] == '0');
  }();
  return on;
}

struct Link {
  Node* node;
  PointwiseVjp vjp;
  kernels::ChainStep step;
};

// Node's description, with the gradients nobody needs dropped; false when it has none.
bool describe(Node& node, PointwiseVjp& vjp) {
  if (node.next_edges.size() > static_cast<size_t>(PointwiseVjp::kMax) || !node.pointwise_vjp(vjp)) return false;
  bool any = false;
  for (int i = 0; i < PointwiseVjp::kMax; ++i) {
    if (i >= static_cast<int>(node.next_edges.size()) || !node.should_compute_output(static_cast<size_t>(i)))
      vjp.op[i] = kernels::GradOp::None;
    any = any || vjp.op[i] != kernels::GradOp::None;
  }
  return any;
}

// Whether the node edge `e` leads to gets a gradient in this call (a node without a record is
// one only this edge leads to: it always does).
bool feeds_needed(const GraphTask& task, const Edge& e) {
  if (!e.valid()) return false;
  const uint32_t slot = task.slot_of(e.fn.get());
  return slot == kNoSlot || task.nodes[slot].needed;
}

// The node fed by output i of `node` when it can be the chain's next link: only that edge feeds
// it, nothing watches its gradient (hooks, captures, requested inputs), it is elementwise too
// and of the same shape and dtype.
Node* next_link(const GraphTask& task, const Node& node, int i, const OutputMeta& meta) {
  const Edge& e = node.next_edges[static_cast<size_t>(i)];
  if (!e.valid() || e.input_nr != 0) return nullptr;
  const uint32_t slot = task.slot_of(e.fn.get());
  if (slot != kNoSlot) {  // tracked: check what the call knows of it
    const NodeTask& to = task.nodes[slot];
    if (!to.needed || !to.execute || to.incoming != 1 || to.captures || to.target) return nullptr;
  }
  Node& n = *e.fn;
  if (n.is_accumulator() || n.has_hooks() || n.output_meta.size() != 1 || n.output_meta[0].shape != meta.shape ||
      n.output_meta[0].dtype != meta.dtype)
    return nullptr;
  return &n;
}

}  // namespace

bool may_fuse(const TensorList& grads) {
  return grads.size() == 1 && grads[0].defined() && grads[0].numel() >= kMinElements;
}

bool run_fused_chain(GraphTask& task, uint32_t slot, TensorList& grads, TensorList& out) {
  Node& first = *task.nodes[slot].node;
  if (task.parallel || GradMode::is_enabled() || AnomalyMode::is_enabled() || forward_ad::level_active() ||
      !may_fuse(grads) || first.output_meta.size() != 1)
    return false;
  const OutputMeta meta = first.output_meta[0];
  const Tensor& g0 = grads[0];
  const int64_t n = g0.numel();
  if (n < kMinElements || (meta.dtype != DType::Float32 && meta.dtype != DType::Float64) || g0.dtype() != meta.dtype ||
      g0.shape() != meta.shape)
    return false;
  if (!chains_enabled()) return false;
  bool broadcast = true;  // the expanded gradient of a sum: one value
  for (int64_t s : g0.strides()) broadcast = broadcast && s == 0;
  if (!broadcast && !g0.is_contiguous()) return false;

  std::vector<Link> chain;
  chain.push_back({&first, {}, {}});
  if (!describe(first, chain[0].vjp)) return false;
  for (;;) {
    Link& last = chain.back();
    Node* next = nullptr;
    for (int i = 0; i < PointwiseVjp::kMax && next == nullptr; ++i) {
      if (last.vjp.op[i] == kernels::GradOp::None) continue;
      Node* to = next_link(task, *last.node, i, meta);
      if (to == nullptr) continue;
      PointwiseVjp vjp;
      bool ok = false;
      try {  // a saved tensor changed in place: that node's apply raises it, in its turn
        ok = describe(*to, vjp);
      } catch (const std::exception&) {
      }
      if (!ok) continue;
      last.step.next = i;
      next = to;
      chain.push_back({to, std::move(vjp), {}});
    }
    if (next == nullptr) break;
  }
  if (chain.size() < 2) return false;

  // Every gradient off the chain gets its own tensor, written once; but when both gradients a
  // consumer gets come from the chain, the chain sums them (a + b, the consumer's sum: the same
  // bits in either order) and the consumer gets that one.
  struct Side {
    size_t link;
    int output;
    const Node* target;
  };
  std::vector<Side> off_chain;
  for (size_t j = 0; j < chain.size(); ++j) {
    Link& link = chain[j];
    for (int i = 0; i < PointwiseVjp::kMax; ++i) {
      link.step.op[i] = link.vjp.op[i];
      link.step.scalar[i] = link.vjp.scalar[i];
      if (link.vjp.operand[i].defined()) link.step.operand[i] = link.vjp.operand[i].data_bytes();
      if (i == link.step.next || link.vjp.op[i] == kernels::GradOp::None) continue;
      const Edge& e = link.node->next_edges[static_cast<size_t>(i)];
      if (feeds_needed(task, e)) off_chain.push_back({j, i, e.fn.get()});
    }
  }
  auto incoming = [&](const Node* n) {
    const uint32_t s = task.slot_of(n);
    return s == kNoSlot ? 1u : task.nodes[s].incoming;
  };
  int8_t n_held = 0;
  for (size_t a = 0; a < off_chain.size() && n_held < kernels::ChainStep::kMaxHeld; ++a)
    for (size_t b = a + 1; b < off_chain.size(); ++b)
      if (off_chain[a].target == off_chain[b].target && incoming(off_chain[a].target) == 2) {
        chain[off_chain[a].link].step.hold[off_chain[a].output] = n_held;
        chain[off_chain[b].link].step.add[off_chain[b].output] = n_held++;
        break;
      }
  // The first node's off-chain gradients go to `out`; the later nodes' wait in
  // task.fused_outputs until those nodes run (without a gradient of their own).
  out.assign(first.next_edges.size(), Tensor());
  for (const Side& side : off_chain) {
    const size_t j = side.link;
    const int i = side.output;
    Link& link = chain[j];
    if (link.step.hold[i] >= 0) continue;
    Tensor t = Tensor::empty(meta.shape, meta.dtype);
    link.step.side[i] = t.data_bytes();
    TensorList& dest = j == 0 ? out : task.fused_outputs[link.node];
    if (dest.empty()) dest.resize(link.node->next_edges.size());
    dest[static_cast<size_t>(i)] = std::move(t);
  }
  std::vector<kernels::ChainStep> steps;
  steps.reserve(chain.size());
  for (const Link& link : chain) steps.push_back(link.step);
  kernels::run_chain(steps.data(), steps.size(), g0.data_bytes(), broadcast, n, meta.dtype == DType::Float64);

  grads.clear();
  chain.erase(chain.begin());  // the first node is the engine's to finish
  for (Link& link : chain) {
    link.vjp = PointwiseVjp();
    if (!task.options.keep_graph) link.node->release_saved();
  }
  return true;
}

}  // namespace cg::autograd
