// Saved-tensor hooks (PyTorch's torch.autograd.graph.saved_tensors_hooks): while a pair of hooks
// is active on a thread, every tensor a node saves for backward is handed to the pack hook at
// save time and only the pack hook's result is kept; the unpack hook turns it back into a tensor
// each time backward (or grad_fn._saved_*) needs it. The stack of hook pairs is thread-local and
// the innermost pair wins. See SavedTensor for how the unpacked tensor is put back into the graph.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/tensor.h"

namespace cg::autograd {

// What a pack hook produced; owned by the SavedTensor.
class PackedTensor {
 public:
  virtual ~PackedTensor() = default;
  // Calls the unpack hook: the tensor with the saved values (any autograd state it has is ignored).
  virtual Tensor unpack() const = 0;
};

// A pack hook: receives the tensor being saved (with grad mode off) and returns its packed form.
using PackHook = std::function<std::shared_ptr<PackedTensor>(const Tensor&)>;

// The innermost active hook, or null. Pushing while disabled throws the disabling message.
void push_saved_tensors_hooks(PackHook hook);
void pop_saved_tensors_hooks();
const PackHook* current_saved_tensors_hooks();
size_t saved_tensors_hooks_depth();

// disable_saved_tensors_hooks(message): while set, pushing hooks raises RuntimeError(message);
// setting it while hooks are active raises it too. nullopt enables them again.
void set_saved_tensors_hooks_disabled(std::optional<std::string> message);
const std::optional<std::string>& saved_tensors_hooks_disabled_message();

}  // namespace cg::autograd
