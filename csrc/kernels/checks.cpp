#include "kernels/checks.h"

namespace cg::kernels {

void check_in_storage(const Tensor& t, const char* op) {
  if (!t.defined() || t.numel() == 0) return;
  int64_t lo = t.offset(), hi = t.offset();
  for (int64_t d = 0; d < t.dim(); ++d) {
    const int64_t reach = (t.shape()[d] - 1) * t.strides()[d];
    (reach < 0 ? lo : hi) += reach;
  }
  const int64_t capacity = static_cast<int64_t>(t.storage()->nbytes() / t.itemsize());
  CG_CHECK(lo >= 0 && hi < capacity, op, ": a tensor of shape ", shape_str(t.shape()), " with strides ",
           shape_str(t.strides()), " and offset ", t.offset(), " reaches outside its storage of ", capacity,
           " elements");
}

void check_buffers(const char* op, DType dtype, std::initializer_list<const Tensor*> buffers, bool contiguous) {
  for (const Tensor* t : buffers) {
    if (!t || !t->defined()) continue;
    check_in_storage(*t, op);
    CG_CHECK(t->dtype() == dtype, op, ": expected all tensors to have dtype ", scalar_type_name(dtype), ", but got ",
             scalar_type_name(t->dtype()));
    CG_CHECK(!contiguous || t->is_contiguous(), op, ": expected contiguous tensors, but got one of shape ",
             shape_str(t->shape()), " with strides ", shape_str(t->strides()));
  }
}

void check_shapes(const char* op, const Shape& shape, std::initializer_list<const Tensor*> buffers) {
  for (const Tensor* t : buffers)
    CG_CHECK(!t || !t->defined() || t->shape() == shape, op, ": expected a tensor of shape ", shape_str(shape),
             ", but got one of shape ", shape_str(t->shape()));
}

void check_inplace_shapes(const Shape& out, const Shape& operand) {
  const Shape b = broadcast_shapes(out, operand);
  CG_CHECK(b == out, "output with shape ", shape_str(out), " doesn't match the broadcast shape ", shape_str(b));
}

}  // namespace cg::kernels
