#include "graph/saved_hooks.h"

#include <vector>

namespace cg::autograd {

namespace {
struct HookState {
  std::vector<PackHook> stack;
  std::optional<std::string> disabled;
};
thread_local HookState t_hooks;
}  // namespace

void push_saved_tensors_hooks(PackHook hook) {
  if (t_hooks.disabled) throw RuntimeError(*t_hooks.disabled);
  t_hooks.stack.push_back(std::move(hook));
}

void pop_saved_tensors_hooks() {
  CG_CHECK(!t_hooks.stack.empty(), "pop_saved_tensors_hooks: no saved tensors hooks are active");
  PackHook top = std::move(t_hooks.stack.back());
  t_hooks.stack.pop_back();
  // `top` (and the callables it owns) is released here, after the stack is consistent again.
}

const PackHook* current_saved_tensors_hooks() {
  HookState& s = t_hooks;
  return s.stack.empty() ? nullptr : &s.stack.back();
}

size_t saved_tensors_hooks_depth() { return t_hooks.stack.size(); }

void set_saved_tensors_hooks_disabled(std::optional<std::string> message) {
  if (message && !t_hooks.stack.empty()) throw RuntimeError(*message);
  t_hooks.disabled = std::move(message);
}

const std::optional<std::string>& saved_tensors_hooks_disabled_message() { return t_hooks.disabled; }

}  // namespace cg::autograd
