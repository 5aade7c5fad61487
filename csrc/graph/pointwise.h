// A node whose VJP is elementwise: each input gradient element depends only on the same element
// of the one output gradient (and of what the node saved), all of one shape and float dtype. The
// engine runs a chain of such nodes block by block (kernels/fused_chain.h) instead of making one
// pass over memory per node.
#pragma once
#include "core/tensor.h"
#include "kernels/fused_chain.h"

namespace cg::autograd {

struct PointwiseVjp {
  static constexpr int kMax = kernels::ChainStep::kMaxOutputs;
  kernels::GradOp op[kMax] = {kernels::GradOp::None, kernels::GradOp::None};  // per input (edge)
  Tensor operand[kMax];  // s of op[i]: contiguous, the gradient's shape and dtype
  Scalar scalar[kMax] = {Scalar(1), Scalar(1)};  // c of op[i]
};

}  // namespace cg::autograd
