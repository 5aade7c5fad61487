// The one mechanism behind every in-place op: compute the result out of place (so the VJP is
// the out-of-place op's), write it into `self`, bump the version, and move `self`'s history
// onto the result. A write through a view also gives the view's base a CopySlices node.
#pragma once
#include "core/tensor.h"

namespace cg::ops {

// Errors PyTorch raises for in-place ops on leaves that require grad (and views of them).
void check_inplace(const Tensor& self);
// PyTorch refuses to write in place through a tensor where several elements share one memory
// location (a stride-0 dim of size > 1: an expand result, a 0-stride numpy view).
void check_no_internal_overlap(const Tensor& self);
// True when the in-place op must go through the recorded (out-of-place) path. Also checks
// self can be written in place (leaf rules; no internal overlap unless `allow_overlap`: fill_
// and index_put_ write one value per location and PyTorch lets them).
bool inplace_records(const Tensor& self, std::initializer_list<const Tensor*> others, bool allow_overlap = false);
// Writes `result` into `self` and rebases `self`'s history onto `result`'s.
void commit_inplace(const Tensor& self, const Tensor& result);
// The dtype check for writing a value of dtype `from` into a tensor of dtype `to`.
void check_can_cast(DType from, DType to);

}  // namespace cg::ops
