#include "autograd/saved.h"

#include "autograd/meta.h"

namespace cg::autograd {

namespace {
const char* kFreedMessage =
    "Trying to backward through the graph a second time (or directly access saved tensors after they have "
    "already been freed). Saved intermediate values of the graph are freed when you call .backward() or "
    "autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or if "
    "you need to access saved tensors after calling backward.";

// "TanhBackward0" -> "Tanh": the op name PyTorch's in-place message uses.
std::string op_name(const std::string& node_name) {
  auto pos = node_name.rfind("Backward");
  return pos == std::string::npos ? node_name : node_name.substr(0, pos);
}
}  // namespace

SavedTensor::SavedTensor(const Tensor& t, bool is_output) {
  if (!t.defined()) return;
  defined_ = true;
  is_output_ = is_output;
  version_ = t.version();
  requires_grad_ = requires_grad(t);
  if (is_output) {
    data_ = t.alias();  // data and version counter only: no path back to the node holding us
    output_nr_ = meta(t) ? meta(t)->output_nr : 0;
  } else {
    data_ = t;
  }
}

void SavedTensor::release() {
  data_ = Tensor();
  released_ = true;
}

Tensor SavedTensor::unpack(const Node& owner) const {
  if (!defined_) return Tensor();
  if (released_) throw RuntimeError(kFreedMessage);
  if (data_.version() != version_) {
    std::string where;
    const std::shared_ptr<Node>& fn = is_output_ ? nullptr : grad_fn(data_);
    if (is_output_) where = ::cg::msg(", which is output ", output_nr_, " of ", op_name(owner.name()), ",");
    else if (fn) where = ::cg::msg(", which is output ", meta(data_)->output_nr, " of ", op_name(fn->name()), ",");
    throw RuntimeError(msg(
        "one of the variables needed for gradient computation has been modified by an inplace operation: [",
        legacy_type_name(data_.dtype()), " ", shape_str(data_.shape()), "]", where, " is at version ", data_.version(),
        "; expected version ", version_,
        " instead. Hint: enable anomaly detection to find the operation that failed to compute its gradient, with "
        "chaingrad.autograd.set_detect_anomaly(True, check_nan=False). (saved by ", owner.name(), ")"));
  }
  if (!is_output_) return data_;
  Tensor out = data_.alias();
  if (requires_grad_) {
    AutogradMeta& m = meta_mut(out);
    m.grad_fn = std::const_pointer_cast<Node>(owner.shared_from_this());
    m.output_nr = output_nr_;
  }
  return out;
}

}  // namespace cg::autograd
