// Shared pieces of the differentiable operators: type promotion, dtype casts, and undoing
// broadcasting in gradients (the one place that reduces a gradient back to an input's shape).
#pragma once
#include <initializer_list>
#include <vector>

#include "graph/backward_node.h"
#include "graph/meta.h"
#include "graph/saved.h"
#include "core/tensor.h"

namespace cg::ops {

using autograd::BackwardNode;
using autograd::Node;
using autograd::record;
using autograd::saved;
using autograd::saved_scalar;
using autograd::SavedTensor;
using autograd::SavedValue;
using autograd::TensorList;

// PyTorch's result_type: dimensioned tensors decide unless a 0-d one is of a higher category.
DType result_type(const Tensor& a, const Tensor& b);
DType result_type(const Tensor& a, const Scalar& s);

// A copy of `t` in `dtype` when it differs, else `t` itself (no autograd: kernels' inputs).
Tensor cast_data(const Tensor& t, DType dtype);

// Sums `grad` over broadcast dims so it has `shape`, and casts it to `dtype` (differentiable).
Tensor sum_to(const Tensor& grad, const Shape& shape, DType dtype);
inline Tensor sum_to(const Tensor& grad, const Tensor& like) { return sum_to(grad, like.shape(), like.dtype()); }

// Forward-mode rules: a + b where an undefined tangent is zero (undefined when both are).
Tensor tangent_sum(const Tensor& a, const Tensor& b);

// A node whose VJP is a lambda-free subclass: helpers to save inputs only when needed.
inline SavedTensor save_if(bool needed, const Tensor& t, bool is_output = false) {
  return needed ? SavedTensor(t, is_output) : SavedTensor();
}
// Whether an op needs `t`'s derivative: it requires grad, or carries a forward-mode tangent.
inline bool needs(const Tensor& t) {
  return t.defined() && (autograd::requires_grad(t) || autograd::forward_ad::has_tangent(t));
}

// PyTorch's sliding-window shape rule: `t` has `batched_dim` dims (its batch dim may be empty) or
// one fewer, and no other dim is empty.
bool nonempty_but_batch(const Tensor& t, int64_t batched_dim);

// Kernels PyTorch implements for floating dtypes only, or floating and `also`: its
// '"kernel" not implemented for 'Int'' otherwise.
void check_implemented_for_floating(const char* kernel, DType t, std::initializer_list<DType> also = {});

// The first argument check every op applies to dims.
std::vector<bool> dims_mask(const std::vector<int64_t>& dims, int64_t ndim);

}  // namespace cg::ops
