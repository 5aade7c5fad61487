// Fused backward chains: a node whose VJP is elementwise (Node::pointwise_vjp) and the pointwise
// nodes after it that only it feeds (mul -> tanh -> add -> mul) run as one block-by-block pass
// (kernels/fused_chain.h): the gradients between them never go to memory, and each input
// gradient off the chain is written once. Same bits as running the nodes one by one.
#pragma once
#include "engine/graph_task.h"

namespace cg::autograd {

// Called by the engine in place of node `slot`'s apply (its gradient in `grads`, its hooks
// already run). Returns false, having done nothing, unless a chain of two or more nodes fits;
// else `out` holds the first node's input gradients, the later nodes' off-chain gradients wait in
// task.fused_outputs (the nodes run without a gradient of their own and send those on), and
// their saved tensors are released unless the graph is kept.
// Whether run_fused_chain might fuse a chain starting at a node with gradients `grads` (false:
// it surely does not).
bool may_fuse(const TensorList& grads);
bool run_fused_chain(GraphTask& task, uint32_t slot, TensorList& grads, TensorList& out);

}  // namespace cg::autograd
