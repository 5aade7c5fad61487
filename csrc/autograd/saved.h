// A tensor a node keeps for its VJP, with the version it had when saved. Saving a node's own
// output keeps only the data (the history is rebuilt on unpack), so no reference cycle forms.
#pragma once
#include <memory>

#include "autograd/node.h"

namespace cg::autograd {

class SavedTensor {
 public:
  SavedTensor() = default;
  SavedTensor(const Tensor& t, bool is_output);

  // The saved tensor, checked against in-place changes; `owner` is the node that saved it.
  Tensor unpack(const Node& owner) const;
  void release();
  bool defined() const { return defined_; }

 private:
  Tensor data_;
  uint32_t version_ = 0;
  uint32_t output_nr_ = 0;
  bool defined_ = false;
  bool is_output_ = false;
  bool released_ = false;
  bool requires_grad_ = false;
};

}  // namespace cg::autograd
