#include "graph/saved.h"

#include "graph/diagnostics.h"
#include "graph/forward_ad.h"
#include "graph/meta.h"
#include "kernels/elementwise.h"

namespace cg::autograd {

namespace {
const char* kFreedMessage =
    "Trying to backward through the graph a second time (or directly access saved tensors after they have "
    "already been freed). Saved intermediate values of the graph are freed when you call .backward() or "
    "autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or if "
    "you need to access saved tensors after calling backward.";

thread_local const Storage* t_inplace_storage = nullptr;
thread_local std::weak_ptr<Storage> t_inplace_storage_weak;

bool aliases_inplace_target(const Tensor& t) {
  return t_inplace_storage != nullptr && t.storage().get() == t_inplace_storage && !t_inplace_storage_weak.expired();
}

// A private copy of `t`'s values carrying `t`'s place in the graph (same edge).
Tensor snapshot(const Tensor& t) {
  Tensor copy = Tensor::empty(t.shape(), t.dtype());
  kernels::copy(copy, t);
  if (requires_grad(t)) {
    Edge e = gradient_edge(t);
    AutogradMeta& m = meta_mut(copy);
    m.grad_fn = e.fn;
    m.output_nr = e.input_nr;
  }
  return copy;
}

// An alias of `t`'s data (same storage, geometry and version counter, no autograd state),
// cached on `t` so that the many nodes saving one parameter share one.
Tensor data_alias(const Tensor& t, AutogradMeta& m) {
  std::lock_guard<std::mutex> lock(m.mutex);
  if (auto a = m.saved_alias.lock()) {
    if (a->storage == t.storage() && a->shape == t.shape() && a->strides == t.strides() &&
        a->offset == t.offset() && a->dtype == t.dtype() && a->version == t.impl()->version)
      return Tensor(std::move(a));
  }
  Tensor a = t.alias();
  m.saved_alias = a.impl_ptr();
  return a;
}

// "TanhBackward0" -> "Tanh": the op name PyTorch's in-place message uses.
std::string op_name(const std::string& node_name) {
  auto pos = node_name.rfind("Backward");
  return pos == std::string::npos ? node_name : node_name.substr(0, pos);
}
}  // namespace

void set_inplace_target(const Tensor& self) {
  t_inplace_storage = self.storage().get();
  t_inplace_storage_weak = self.storage();
}

void clear_inplace_target() {
  t_inplace_storage = nullptr;
  t_inplace_storage_weak.reset();
}

SavedTensor::SavedTensor(const Tensor& t, bool is_output) {
  if (!t.defined()) return;
  defined_ = true;
  is_output_ = is_output;
  version_ = t.version();
  requires_grad_ = requires_grad(t);
  bool snapshotted = false;
  if (is_output) {
    data_ = t.alias();  // data and version counter only: no path back to the node holding us
    if (const AutogradMeta* m = meta(t)) {
      output_nr_ = m->output_nr;
      // Ops save outputs once they recorded them: the owner is their grad_fn, or for a node
      // recorded for tangents only, the node their pending tangent waits on.
      if (m->grad_fn) link_ = m->grad_fn;
      else if (m->fw()) link_ = m->fw()->node;
    }
  } else {
    if (requires_grad_) edge_ = gradient_edge(t);
    if (aliases_inplace_target(t)) {
      data_ = snapshot(t);
      version_ = data_.version();
      snapshotted = true;
    } else if (requires_grad_) {
      AutogradMeta* m = meta(t);
      is_leaf_ = !m->grad_fn;
      // A view carrying a forward-mode tangent is held itself: a rebuilt alias would lose the
      // tangent once the view dies (forward over reverse reads it through the VJP).
      if (is_leaf_ || (m->is_view && !forward_ad::has_tangent(t)) || m->retains_grad) {
        data_ = data_alias(t, *m);
        link_ = t.impl_ptr();
        by_alias_ = true;
      } else {
        data_ = t;
      }
    } else {
      data_ = t;
    }
  }
  if (const PackHook* hook = current_saved_tensors_hooks()) {
    // PyTorch passes inputs themselves; outputs are passed as data only (no cycle through the hook).
    const Tensor arg = is_output || snapshotted ? data_ : t;
    const uint32_t before = arg.version();
    {
      GradModeGuard no_grad(false);
      packed_ = (*hook)(arg);
    }
    if (arg.version() != before)
      throw RuntimeError(
          "A saved tensor pack hook is modifying its input in place. Tensors provided as input to pack hook cannot "
          "be modified by in-place operations as this can lead to unexpected side-effects. Please open an issue if "
          "you need to perform in-place operations on the input to a pack hook.");
    data_ = Tensor();
    if (!is_output) link_.reset();
    by_alias_ = false;
  }
}

void SavedTensor::release() {
  data_ = Tensor();
  packed_.reset();
  link_.reset();
  edge_ = Edge{};
  released_ = true;
}

std::string SavedTensor::inplace_culprit(const Node& owner) const {
  std::string which;
  if (is_output_) {
    which = msg("its own output ", output_nr_);
  } else {
    const int64_t idx = input_index(owner, edge_);
    which = idx >= 0 ? msg("its input ", idx) : (requires_grad_ ? "a tensor" : "a tensor that does not require grad");
  }
  return msg(owner.name(), " saved ", which, " (", describe_tensor(data_), ") for backward at version ", version_,
             "; it is now at version ", data_.version(), ": an in-place operation modified it (or a view of it) ",
             "after it was saved. Clone it before modifying it, or use the out-of-place operation.");
}

Tensor SavedTensor::rebuild(const Tensor& data, const Node& owner) const {
  if (!requires_grad_) return is_output_ ? data.alias() : data;
  Tensor out = data.alias();
  AutogradMeta& m = meta_mut(out);
  if (is_output_) {
    m.grad_fn = std::static_pointer_cast<Node>(link_.lock());
    m.output_nr = output_nr_;
  } else if (is_leaf_) {
    m.requires_grad = true;  // a leaf sharing the original's accumulator: gradients reach its .grad
    std::lock_guard<std::mutex> lock(m.mutex);
    m.grad_accumulator = edge_.fn;
    m.has_accumulator.store(true, std::memory_order_release);
  } else {
    m.grad_fn = edge_.fn;
    m.output_nr = edge_.input_nr;
  }
  return out;
}

void throw_saved_freed(const Node& owner) {
  throw RuntimeError(with_culprit(
      kFreedMessage, msg("the tensors saved by ", owner.name(),
                         " were freed when an earlier backward() or autograd.grad() went through it without "
                         "retain_graph=True.")));
}

Tensor SavedTensor::unpack(const Node& owner) const {
  if (!defined_) return Tensor();
  if (released_) throw_saved_freed(owner);
  if (packed_) {
    // Saved-tensor hooks: no version tracking through the hooks (as in PyTorch).
    Tensor data = packed_->unpack();
    CG_CHECK(data.defined(), "unpack hook of a saved tensor of ", owner.name(), " returned no tensor");
    return rebuild(data, owner);
  }
  if (data_.version() != version_) {
    std::string where;
    if (is_output_) {
      where = ::cg::msg(", which is output ", output_nr_, " of ", op_name(owner.name()), ",");
    } else if (by_alias_) {
      auto o = std::static_pointer_cast<TensorImpl>(link_.lock());
      const AutogradMeta* m = o ? meta(Tensor(o)) : nullptr;
      if (m && m->grad_fn) where = ::cg::msg(", which is output ", m->output_nr, " of ", op_name(m->grad_fn->name()), ",");
    } else if (const std::shared_ptr<Node>& fn = grad_fn(data_)) {
      where = ::cg::msg(", which is output ", meta(data_)->output_nr, " of ", op_name(fn->name()), ",");
    }
    throw RuntimeError(with_culprit(
        msg("one of the variables needed for gradient computation has been modified by an inplace operation: [",
            legacy_type_name(data_.dtype()), " ", shape_str(data_.shape()), "]", where, " is at version ",
            data_.version(), "; expected version ", version_,
            " instead. Hint: enable anomaly detection to find the operation that failed to compute its gradient, "
            "with chaingrad.autograd.set_detect_anomaly(True, check_nan=False)."),
        inplace_culprit(owner)));
  }
  if (is_output_) {
    Tensor out = rebuild(data_, owner);
    forward_ad::attach_saved_output(out, std::static_pointer_cast<Node>(link_.lock()), output_nr_);
    return out;
  }
  if (by_alias_) {
    if (auto o = std::static_pointer_cast<TensorImpl>(link_.lock())) return Tensor(std::move(o));
    return rebuild(data_, owner);
  }
  return data_;
}

}  // namespace cg::autograd
