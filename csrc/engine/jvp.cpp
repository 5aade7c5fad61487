#include "engine/jvp.h"

#include "engine/engine.h"
#include "graph/backward_filter.h"
#include "graph/meta.h"
#include "ops/creation.h"
#include "ops/shape.h"

namespace cg::autograd::forward_ad {

namespace {

// The gradient sink the double-VJP trick points input edges at while it runs a node's VJP:
// should_compute_output() must say yes for every input that has a tangent.
struct TangentSink : Node {
  TensorList apply(TensorList&&) override { return {}; }
  std::string name() const override { return "TangentSink"; }
};

Tensor zeros_for(const OutputMeta& om) { return Tensor::zeros(om.shape, om.dtype); }

}  // namespace

int64_t enter_dual_level() { return enter_level(&run_jvp); }

TensorList run_jvp(Node& node, const TensorList& input_tangents) {
  TensorList outs = node.jvp(input_tangents);
  if (outs.empty()) {
    outs = jvp_by_double_vjp(node, input_tangents);
    ++counts().fallback;
  } else {
    ++counts().native;
  }
  outs.resize(node.output_meta.size());
  for (size_t k = 0; k < outs.size(); ++k) {
    const OutputMeta& om = node.output_meta[k];
    if (!outs[k].defined()) {
      outs[k] = zeros_for(om);
      continue;
    }
    if (outs[k].shape() != om.shape) outs[k] = ops::contiguous(ops::expand(outs[k], om.shape));
    if (outs[k].dtype() != om.dtype) outs[k] = ops::to_dtype(outs[k], om.dtype);
  }
  return outs;
}

TensorList jvp_by_double_vjp(Node& node, const TensorList& input_tangents) {
  // The tangents are recorded (differentiable) when the primal computation was, or they require grad.
  bool create_graph = GradMode::is_enabled() && node.forward() && !node.forward()->forward_only;
  for (const Tensor& t : input_tangents) create_graph |= GradMode::is_enabled() && t.defined() && requires_grad(t);
  GradModeGuard on(true);
  TensorList us;
  us.reserve(node.output_meta.size());
  for (const OutputMeta& om : node.output_meta) {
    Tensor u = zeros_for(om);
    meta_mut(u).requires_grad = true;
    us.push_back(u);
  }
  auto edges = node.next_edges;
  auto sink = make_node<TangentSink>();
  for (size_t i = 0; i < input_tangents.size() && i < node.next_edges.size(); ++i)
    if (input_tangents[i].defined() && !node.next_edges[i].valid()) node.next_edges[i] = Edge{sink, 0};
  TensorList grads;
  {
    BackwardFilter::Scope no_filter(nullptr);  // outside any backward: every valid edge is computed
    struct Restore {
      Node& n;
      decltype(edges)& e;
      ~Restore() { n.next_edges = std::move(e); }
    } restore{node, edges};
    grads = node.apply(TensorList(us));
  }
  TensorList roots, root_grads;
  for (size_t i = 0; i < input_tangents.size() && i < grads.size(); ++i) {
    if (!input_tangents[i].defined() || !grads[i].defined() || !requires_grad(grads[i])) continue;
    roots.push_back(grads[i]);
    root_grads.push_back(input_tangents[i].dtype() == grads[i].dtype() ? input_tangents[i]
                                                                       : ops::to_dtype(input_tangents[i], grads[i].dtype()));
  }
  TensorList out(us.size());
  if (roots.empty()) return out;
  BackwardOptions options;
  options.accumulate_grad = false;
  options.allow_unused = true;
  options.create_graph = create_graph;
  return run_backward(roots, root_grads, us, options);
}

}  // namespace cg::autograd::forward_ad
