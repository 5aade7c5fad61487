// Dtype conversion, and the widening that lets every kernel accept the storage dtypes
// (int8..int32, uint8, float16, bfloat16) without being instantiated for them: operands are
// converted to their compute dtype (core/dtype.h), the kernel runs, results are narrowed back.
// kernels::map does this by itself; kernels reading raw pointers call widened()/narrow_into().
#pragma once
#include <initializer_list>

#include "core/tensor.h"

namespace cg::kernels {

// dst = src converted to dst's dtype, src broadcast to dst's shape (every dtype pair).
void convert(const Tensor& dst, const Tensor& src);

// `t` itself when already of `dtype`, else a contiguous converted copy.
Tensor converted(const Tensor& t, DType dtype);

// True when some (defined) operand has a storage-only dtype.
inline bool any_storage_only(std::initializer_list<const Tensor*> ts) {
  for (const Tensor* t : ts)
    if (t->defined() && is_storage_only(t->dtype())) return true;
  return false;
}

// A kernel operand in its compute dtype (values kept, so it serves read-modify-write outputs too).
inline Tensor widened(const Tensor& t) { return t.defined() ? converted(t, compute_dtype(t.dtype())) : t; }

// Writes a widened output back into the operand it stands for.
inline void narrow_into(const Tensor& dst, const Tensor& computed) {
  if (!dst.is_same(computed)) convert(dst, computed);
}

}  // namespace cg::kernels
