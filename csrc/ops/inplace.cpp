#include "ops/inplace.h"

#include "kernels/elementwise.h"
#include "ops/common.h"
#include "ops/ops.h"

namespace cg::ops {

namespace {

// Gradient routing for a base tensor whose region (a view) was overwritten in place:
// the old base gets the gradient with the region zeroed, the new values get the region.
struct CopySlices : BackwardNode<CopySlices> {
  Shape base_shape, view_shape, view_strides;
  int64_t view_offset = 0;  // relative to the base's offset
  DType dtype = DType::Float32;
  TensorList apply(TensorList&& g) override {
    TensorList out(2);
    Tensor grad = contiguous(g[0]);
    if (should_compute_output(0)) {
      Tensor mask = Tensor::full(base_shape, 1, grad.dtype());
      kernels::fill(mask.as_strided(view_shape, view_strides, view_offset), 0);
      out[0] = mul(grad, mask);
    }
    if (should_compute_output(1)) out[1] = clone(as_strided(grad, view_shape, view_strides, grad.offset() + view_offset));
    return out;
  }
  std::string name() const override { return "CopySlices"; }
};
}  // namespace

void check_can_cast(DType from, DType to) {
  if (!can_cast(from, to))
    throw RuntimeError(::cg::msg("result type ", scalar_type_name(from), " can't be cast to the desired output type ", scalar_type_name(to)));
}

void check_inplace(const Tensor& self) {
  self.check_writable();
  if (!autograd::GradMode::is_enabled()) return;
  const autograd::AutogradMeta* m = autograd::meta(self);
  if (!m) return;
  if (m->multi_output_view && autograd::requires_grad(self)) {
    const std::string node = autograd::grad_fn(self) ? autograd::grad_fn(self)->name() : "";
    throw RuntimeError(msg("Output ", m->output_nr, " of ", node.substr(0, node.rfind("Backward")),
                           " is a view and is being modified inplace. This view is the output of a function that "
                           "returns multiple views. Such functions do not allow the output views to be modified "
                           "inplace. You should replace the inplace operation by an out-of-place one."));
  }
  if (m->is_view && m->view_base().defined() && autograd::is_leaf(m->view_base()) && autograd::requires_grad(m->view_base()))
    throw RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place operation.");
  if (!m->grad_fn && m->requires_grad)
    throw RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.");
}

void check_no_internal_overlap(const Tensor& self) {
  for (int64_t d = 0; d < self.dim(); ++d)
    CG_CHECK(self.strides()[d] != 0 || self.shape()[d] <= 1,
             "unsupported operation: more than one element of the written-to tensor refers to a single memory "
             "location. Please clone() the tensor before performing the operation.");
}

bool inplace_records(const Tensor& self, std::initializer_list<const Tensor*> others, bool allow_overlap) {
  if (!allow_overlap) check_no_internal_overlap(self);
  check_inplace(self);
  autograd::clear_inplace_target();
  // Forward mode: a write involving a tangent goes through the recorded path too (its JVP).
  const bool dual = autograd::forward_ad::inplace_involves(self, others);
  if (!autograd::GradMode::is_enabled()) {
    if (dual) autograd::set_inplace_target(self);
    return dual;
  }
  bool records = needs(self);
  for (const Tensor* t : others)
    if (t && needs(*t)) records = true;
  const autograd::AutogradMeta* m = autograd::meta(self);
  if (m && m->no_grad_view && (records || (m->view_base().defined() && needs(m->view_base()))))
    throw RuntimeError(
        "A view was created in no_grad mode and is being modified inplace with grad mode enabled. Given that this "
        "use case is ambiguous and error-prone, it is forbidden. You can clarify your code by moving both the view "
        "and the inplace either both inside the no_grad block (if you don't want the inplace to be tracked) or both "
        "outside (if you want the inplace to be tracked).");
  records |= dual;
  // The out-of-place computation that follows must not save tensors the write-back overwrites.
  if (records) autograd::set_inplace_target(self);
  return records;
}

void commit_inplace(const Tensor& self, const Tensor& result) {
  autograd::clear_inplace_target();
  kernels::copy(self, result);
  self.bump_version();
  autograd::forward_ad::commit_inplace(self, result);
  if (!autograd::requires_grad(result)) return;
  autograd::AutogradMeta& m = autograd::meta_mut(self);
  if (m.is_view && m.view_base().defined()) {
    const Tensor& base = m.view_base();
    auto node = CopySlices::make({&base, &result});
    node->base_shape = base.shape();
    node->view_shape = self.shape();
    node->view_strides = self.strides();
    node->view_offset = self.offset() - base.offset();
    CG_CHECK(base.is_contiguous(), "in-place write through a view of a non-contiguous base is not supported");
    autograd::AutogradMeta& bm = autograd::meta_mut(base);
    bm.grad_fn = node;
    bm.output_nr = 0;
    bm.requires_grad = false;
    node->output_meta.push_back({base.shape(), base.dtype()});
    // The view's own history is rebuilt from the base's new one when next used
    // (AsStridedBackward0 of CopySlices, as in PyTorch).
    m.grad_fn = nullptr;
    m.output_nr = 0;
    m.requires_grad = false;
    return;
  }
  const autograd::AutogradMeta* rm = autograd::meta(result);
  m.grad_fn = rm->grad_fn;
  m.output_nr = rm->output_nr;
  m.requires_grad = false;
}

}  // namespace cg::ops
