// A tensor a node keeps for its VJP, with the version it had when saved. Saving a node's own
// output keeps only the data (the history is rebuilt on unpack), so no reference cycle forms.
// Leaves, views and tensors that retain their gradient are saved the same way (data, plus their
// gradient edge and a weak link to the tensor itself): their `.grad` may carry a graph
// (create_graph=True) that reaches back to this node, and holding them would be a cycle.
// With saved-tensor hooks active (saved_hooks.h), only the pack hook's result is kept.
#pragma once
#include <memory>

#include "graph/node.h"
#include "graph/saved_hooks.h"

namespace cg::autograd {

// PyTorch's error for a node whose saved values an earlier backward without retain_graph freed.
[[noreturn]] void throw_saved_freed(const Node& owner);

// While an in-place op computes its out-of-place result, tensors sharing `self`'s memory that
// get saved would be overwritten by the write-back; they are saved as private copies instead
// (PyTorch's "original self"). Set by ops::inplace_records, cleared by ops::commit_inplace.
void set_inplace_target(const Tensor& self);
void clear_inplace_target();

class SavedTensor {
 public:
  SavedTensor() = default;
  SavedTensor(const Tensor& t, bool is_output);

  // The saved tensor, checked against in-place changes; `owner` is the node that saved it.
  Tensor unpack(const Node& owner) const;
  void release();
  bool defined() const { return defined_; }

 private:
  // The unpacked tensor put back into the graph: the owner's output, or the input's saved edge.
  Tensor rebuild(const Tensor& data, const Node& owner) const;
  // "Culprit: ..." details of an in-place modification error.
  std::string inplace_culprit(const Node& owner) const;

  Tensor data_;
  Edge edge_;                             // inputs that require grad: their gradient edge when saved
  // Weak either way: inputs saved by alias, the tensor itself (a TensorImpl) while it lives;
  // outputs, the node that recorded them (the owner, which unpack makes their grad_fn again).
  std::weak_ptr<void> link_;
  std::shared_ptr<PackedTensor> packed_;  // saved-tensor hooks: the pack hook's result (no data_)
  uint32_t version_ = 0;
  uint32_t output_nr_ = 0;
  bool defined_ = false;
  bool is_output_ = false;
  bool released_ = false;
  bool requires_grad_ = false;
  bool by_alias_ = false;  // data_ is an alias of the input; link_ points at the input
  bool is_leaf_ = false;   // the input was a leaf that requires grad (edge_ is its accumulator)
};

}  // namespace cg::autograd
