// Dual tensors for forward-mode AD (chaingrad.autograd.forward_ad): a primal's alias carrying a
// tangent, and the primal without it. The level and tangent bookkeeping is graph/forward_ad.h.
#pragma once
#include "core/tensor.h"

namespace cg::ops {

// A view of `primal` (AliasBackward0 history when it requires grad) carrying `tangent`, with
// PyTorch's errors for a missing level, non-float dtypes, a second tangent and a size mismatch.
Tensor make_dual(const Tensor& primal, const Tensor& tangent);
// A view of `t` without its tangent (unpack_dual's primal; keeps the reverse-mode history).
Tensor primal_view(const Tensor& t);

}  // namespace cg::ops
