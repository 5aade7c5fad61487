#include "graph/diagnostics.h"

namespace cg::autograd {

std::string describe_tensor(const Tensor& t) {
  if (!t.defined()) return "undefined";
  return msg("shape ", shape_str(t.shape()), ", dtype ", dtype_name(t.dtype()));
}

int64_t input_index(const Node& node, const Edge& e) {
  if (!e.valid()) return -1;
  for (size_t i = 0; i < node.next_edges.size(); ++i)
    if (node.next_edges[i].fn == e.fn && node.next_edges[i].input_nr == e.input_nr) return static_cast<int64_t>(i);
  return -1;
}

std::string root_without_grad_culprit(size_t i, const Tensor& root) {
  return msg("tensor ", i, " (", describe_tensor(root),
             ") has requires_grad=False and no grad_fn: it was computed from tensors that do not require grad, "
             "under no_grad() or inference_mode(), or comes from .detach().");
}

std::string implicit_grad_culprit(size_t i, const Tensor& root) {
  return msg("output ", i, " has ", describe_tensor(root), " (", root.numel(),
             " elements); pass a gradient of that shape (e.g. ones_like(output)) or reduce it to a scalar first.");
}

std::string unused_input_culprit(size_t i, const Tensor& input, const Edge& edge, bool producer_in_graph) {
  std::string what = msg("input ", i, " (", describe_tensor(input));
  if (edge.valid() && edge.fn->name() != "AccumulateGrad") what += msg(", output ", edge.input_nr, " of ", edge.fn->name());
  else what += ", a leaf";
  what += ")";
  if (producer_in_graph)
    return what + msg(" is not used by the outputs: they depend on other outputs of ", edge.fn->name(), " only.");
  return what + " is not reachable from the outputs; no gradient was computed.";
}

}  // namespace cg::autograd
