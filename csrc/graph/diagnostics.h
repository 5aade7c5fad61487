// Small helpers that describe tensors and graph positions in error details ("Culprit: ...").
#pragma once
#include <string>

#include "graph/node.h"

namespace cg::autograd {

// "shape [3], dtype float32"
std::string describe_tensor(const Tensor& t);
// Which forward input of `node` the edge `e` is (the index into next_edges), or -1.
int64_t input_index(const Node& node, const Edge& e);

// Details of the engine's argument errors (see errors.md for the PyTorch messages they follow).
std::string root_without_grad_culprit(size_t i, const Tensor& root);
std::string implicit_grad_culprit(size_t i, const Tensor& root);
std::string unused_input_culprit(size_t i, const Tensor& input, const Edge& edge, bool producer_in_graph);

}  // namespace cg::autograd
