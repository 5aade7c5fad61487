#include "engine/engine_hooks.h"

#include "engine/accumulate_grad.h"
#include "graph/grad_mode.h"
#include "graph/meta.h"
#include "ops/ops.h"

namespace cg::autograd {

// Hooks the user registered on the tensors whose gradients are `grads` (one per output of
// `node`), run in registration order. A hook sees an undefined gradient (Python: None) when the
// node runs through another of its outputs, and may not replace it.
void run_tensor_hooks(Node& node, const std::optional<Node::Hooks>& hooks, TensorList& grads) {
  if (node.is_accumulator()) {
    if (grads[0].defined()) grads[0] = run_leaf_hooks(static_cast<AccumulateGrad&>(node).variable(), std::move(grads[0]));
    return;
  }
  if (!hooks) return;
  hooks->tensor.run([&](const std::string& name, const Node::TensorHookEntry& entry) {
    if (entry.output_nr >= grads.size()) return;
    Tensor& g = grads[entry.output_nr];
    Tensor r = entry.fn(g);
    if (!r.defined()) return;
    if (!g.defined()) throw RuntimeError("can't replace a None gradient with a non-None value");
    check_hook_value(name, g, r);
    g = std::move(r);
  });
}

void retain_grads(const Node::Hooks& hooks, const TensorList& grads) {
  for (auto& [slot, weak] : hooks.retained) {
    auto impl = weak.lock();
    if (!impl || slot >= grads.size() || !grads[slot].defined()) continue;
    Tensor t(impl);
    Tensor old = get_grad(t);
    set_grad(t, old.defined() ? ops::add(old, grads[slot])
                              : (GradMode::is_enabled() ? grads[slot] : ops::clone(detach(grads[slot]))));
  }
}

// Pre hooks replace the node's incoming gradients, post hooks its results; the replacements
// are checked against what they replace.
void run_pre_hooks(const Node::Hooks& hooks, TensorList& grads) {
  hooks.pre.run([&](const std::string& name, const NodePreHook& fn) {
    TensorList r = fn(grads);
    if (r.empty()) return;
    for (size_t i = 0; i < r.size() && i < grads.size(); ++i) check_hook_value(name, grads[i], r[i]);
    grads = std::move(r);
  });
}

void run_post_hooks(const Node::Hooks& hooks, TensorList& outputs, const TensorList& grads_in) {
  hooks.post.run([&](const std::string& name, const NodePostHook& fn) {
    TensorList r = fn(outputs, grads_in);
    if (r.empty()) return;
    for (size_t i = 0; i < r.size() && i < outputs.size(); ++i) {
      if (!outputs[i].defined() && r[i].defined())
        throw RuntimeError("can't replace a None gradient with a non-None value");
      check_hook_value(name, outputs[i], r[i]);
    }
    outputs = std::move(r);
  });
}

}  // namespace cg::autograd
