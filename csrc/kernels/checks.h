// Argument checks every kernel that takes several buffers runs before touching memory, so a
// caller handing it buffers that disagree (an optimizer state of another shape, an index of
// another dtype, a view that overruns its storage) gets PyTorch's error instead of a crash.
#pragma once
#include <initializer_list>

#include "core/tensor.h"

namespace cg::kernels {

// Every element `t` addresses lies inside its storage (undefined tensors pass).
void check_in_storage(const Tensor& t, const char* op);
// Each defined tensor is in its storage, has `dtype` and, when `contiguous`, is contiguous.
void check_buffers(const char* op, DType dtype, std::initializer_list<const Tensor*> buffers, bool contiguous);
// Each defined tensor has `shape` (the kernel's precondition; callers size buffers to match).
void check_shapes(const char* op, const Shape& shape, std::initializer_list<const Tensor*> buffers);
// `out op= operand` as PyTorch's in-place broadcasting judges it: the shapes must broadcast and
// the broadcast shape must be `out`'s (PyTorch's two messages).
void check_inplace_shapes(const Shape& out, const Shape& operand);

}  // namespace cg::kernels
