// Helpers for the nodes that describe their VJP to fused chains (Node::pointwise_vjp,
// graph/pointwise.h): whether an input takes the gradient as it is (no reduce, no cast) and
// whether a saved tensor can be read block by block.
#pragma once
#include "graph/node.h"
#include "graph/pointwise.h"

namespace cg::ops {

// The node's gradient (its one output) is float32/float64 and an input of `shape` and `dtype`
// takes it without a reduce or a cast.
inline bool pointwise_input(const autograd::Node& node, const Shape& shape, DType dtype) {
  if (node.output_meta.size() != 1) return false;
  const autograd::OutputMeta& m = node.output_meta[0];
  return (m.dtype == DType::Float32 || m.dtype == DType::Float64) && dtype == m.dtype && shape == m.shape;
}

// Input i's gradient is op(g, s) with s = `operand`, which must be contiguous and of the
// gradient's shape and dtype; false when it is not (the node then runs apply).
inline bool pointwise_operand(const autograd::Node& node, int i, kernels::GradOp op, const Tensor& operand,
                              autograd::PointwiseVjp& out) {
  const autograd::OutputMeta& m = node.output_meta[0];
  if (!operand.defined() || !operand.is_contiguous() || operand.dtype() != m.dtype || operand.shape() != m.shape)
    return false;
  out.op[i] = op;
  out.operand[i] = operand;
  return true;
}

}  // namespace cg::ops
