// Per-tensor autograd state (requires_grad, grad, grad_fn, hooks, view base) and the
// functions ops use to connect their outputs to the graph.
#pragma once
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>

#include "graph/forward_hooks.h"
#include "graph/grad_mode.h"
#include "graph/node.h"

namespace cg::autograd {

struct AutogradMeta : AutogradMetaBase {
  // User-provided: emplacing it then skips zero-filling the whole state first (every member has
  // its initialiser; every op's output makes one).
  AutogradMeta() {}  // NOLINT(modernize-use-equals-default)
  // Links to other graph objects are released iteratively (see core/deferred_delete.h).
  ~AutogradMeta() override {
    defer_release(std::move(grad_fn));
    defer_release(std::move(grad_accumulator));
    defer_release(std::move(grad.impl_ptr_mut()));
    if (extras_) defer_release(std::move(extras_->view_base.impl_ptr_mut()));
  }
  // An op's output (the state of almost every tensor that requires grad) holds nothing but its
  // grad_fn: then that link is released and the destructor skipped, since every other member
  // would destroy as a no-op (null pointers, flags, an unlocked std::mutex). One check instead of
  // a dozen member destructors on every intermediate tensor dropped. A member added with a
  // destructor that does something when empty must be checked in holds_only_grad_fn().
  void destroy() noexcept override {
    if (holds_only_grad_fn()) {
      defer_release(std::move(grad_fn));
      return;
    }
    this->~AutogradMeta();
  }

  // What few tensors have (views, dual tensors, named ones), out of line: the state every tensor
  // that requires grad makes and destroys stays small.
  struct Extras {
    // Views: the tensor this one views into (in-place writes through a view rebase the base).
    Tensor view_base;
    // Views: rebuilds this view's history as a window of the base's current history (set by the
    // op that made the view: view ops live above this layer). Null: the history is dropped.
    Tensor (*replay_view)(const Tensor& base, const Tensor& view) = nullptr;
    // Optional label used in error messages and graph pictures.
    std::string name;
    // Forward-mode AD: the tangent at the active dual level (graph/forward_ad.h).
    std::shared_ptr<forward_ad::ForwardGrad> fw;
  };
  Extras& extras() {  // made on first use
    if (!extras_) extras_ = std::make_unique<Extras>();
    return *extras_;
  }
  const Extras* extras_if() const { return extras_.get(); }
  const Tensor& view_base() const { return extras_ ? extras_->view_base : undefined_tensor(); }
  forward_ad::ForwardGrad* fw() const { return extras_ ? extras_->fw.get() : nullptr; }

  Tensor grad;
  std::shared_ptr<Node> grad_fn;   // null for leaves
  // Leaves: their AccumulateGrad, created on first use and owned from then on (it holds the leaf
  // only weakly, so there is no cycle, and ops need not rebuild it).
  std::shared_ptr<Node> grad_accumulator;
  uint32_t output_nr = 0;
  // Views: the version counter's value when grad_fn was last set. An in-place write to the base
  // (or to another view of it) bumps the shared counter, so a mismatch means the view's history
  // is stale and is rebuilt lazily as AsStridedBackward0 of the base's current history.
  uint32_t attr_version = 0;
  // (The flags sit together: every tensor that requires grad carries this state.)
  bool requires_grad = false;      // set on leaves by the user
  // Set (release) once grad_accumulator is, which then never changes: readers that see it need
  // no lock. Every op on a leaf asks for its accumulator.
  std::atomic<bool> has_accumulator{false};
  bool retains_grad = false;
  bool is_view = false;  // views: view_base is the tensor this one views into
  // A view taken under no_grad (ops mark it with is_view and view_base too): it never gets a
  // history, and an in-place op on it with grad mode on is an error, as in PyTorch.
  bool no_grad_view = false;
  // An output of a function returning several views (split, chunk, unbind), or a view of one:
  // PyTorch forbids writing it in place while it requires grad.
  bool multi_output_view = false;
  LazyHookList<TensorHook> hooks;  // leaf hooks (non-leaf hooks live on grad_fn)
  LazyHookList<std::function<void(const Tensor&)>> post_accumulate_hooks;
  // SavedTensor: the data-only alias that nodes saving this leaf/view keep instead of the tensor
  // itself (no cycle through .grad); shared by all of them while any lives.
  std::weak_ptr<TensorImpl> saved_alias;
  // Backward calls on other threads may accumulate into this tensor while Python reads or sets
  // .grad: `grad`, `grad_accumulator`, `hooks`, `post_accumulate_hooks`, `retains_grad` and
  // `saved_alias` are read and written only under this lock. Never held while taking the GIL.
  mutable std::mutex mutex;
  static_assert(std::is_trivially_destructible_v<std::mutex>, "destroy() skips ~AutogradMeta, mutex included");

 private:
  bool holds_only_grad_fn() const {
    const bool saved_alias_made = std::weak_ptr<TensorImpl>().owner_before(saved_alias);  // (even if expired)
    return !grad.defined() && !grad_accumulator && !extras_ && !hooks.allocated() && !post_accumulate_hooks.allocated() &&
           !saved_alias_made;
  }
  static const Tensor& undefined_tensor() {
    static const Tensor none;
    return none;
  }
  std::unique_ptr<Extras> extras_;
};

// Null when the tensor has no autograd state.
inline AutogradMeta* meta(const Tensor& t) { return static_cast<AutogradMeta*>(t.impl()->autograd.get()); }
AutogradMeta& meta_mut(const Tensor& t);      // creates it when missing

// Views may have to rebuild a stale history first (out of line: every op asks the inline part).
bool view_requires_grad(const Tensor& t);
inline bool requires_grad(const Tensor& t) {
  const AutogradMeta* m = meta(t);
  if (!m) return false;
  if (m->requires_grad || m->grad_fn) return true;
  return m->is_view && view_requires_grad(t);
}
bool is_leaf(const Tensor& t);
// Rebuilds a view's history from its base after the base was modified in place (no-op otherwise).
void refresh_view_history(const Tensor& t);
void set_requires_grad(const Tensor& t, bool value);
const std::shared_ptr<Node>& grad_fn(const Tensor& t);

// Where the gradient of `t` goes: (grad_fn, output_nr), or the leaf's accumulator. The common
// cases inline (common_edge_target); views and leaves without an accumulator yet out of line.
Edge gradient_edge_slow(const Tensor& t);
struct EdgeTarget {
  const std::shared_ptr<Node>* fn;  // null: not a common case
  uint32_t input_nr;
};
// A non-view's history, or a leaf whose accumulator exists (every use of a parameter after its
// first).
inline EdgeTarget common_edge_target(const AutogradMeta& m) {
  if (m.is_view) return {nullptr, 0};
  if (m.grad_fn) return {&m.grad_fn, m.output_nr};
  if (m.requires_grad && m.has_accumulator.load(std::memory_order_acquire)) return {&m.grad_accumulator, 0};
  return {nullptr, 0};
}
inline Edge gradient_edge(const Tensor& t) {
  const AutogradMeta* m = meta(t);
  if (!m) return {};
  if (const EdgeTarget e = common_edge_target(*m); e.fn) return {*e.fn, e.input_nr};
  return gradient_edge_slow(t);
}
std::shared_ptr<Node> grad_accumulator(const Tensor& t);

// `.grad`, read and replaced under the tensor's lock (concurrent backward calls write it).
Tensor get_grad(const Tensor& t);
void set_grad(const Tensor& t, Tensor grad);
// retain_grad() on a non-leaf: its grad_fn stores the gradient of this output into `.grad`.
void retain_grad(const Tensor& t);

// Whether an op on these inputs should record a node.
// With a dual level active, an input with a tangent records one too (forward_ad.h).
bool any_has_tangent(std::initializer_list<const Tensor*> ts);
// The one-input form (unary ops, tensor-number ops): no list to walk, small enough to inline.
inline bool any_requires_grad(const Tensor& t) {
  if (GradMode::is_enabled() && t.defined() && requires_grad(t)) return true;
  return forward_ad::active() && any_has_tangent({&t});
}
inline bool any_requires_grad(std::initializer_list<const Tensor*> ts) {
  if (GradMode::is_enabled())
    for (const Tensor* t : ts)
      if (t && t->defined() && requires_grad(*t)) return true;
  return forward_ad::active() && any_has_tangent(ts);  // the rare dual case out of line
}

// The edge to `t`'s gradient, built in place at the end of `edges` (no temporary Edge to move
// and destroy); the common cases inline, as in gradient_edge.
__attribute__((always_inline)) inline void append_gradient_edge(SmallVector<Edge, 2>& edges, const Tensor& t) {
  const AutogradMeta* m = t.defined() ? meta(t) : nullptr;
  if (!m) {
    edges.emplace_back();
    return;
  }
  if (const EdgeTarget e = common_edge_target(*m); e.fn) edges.emplace_back(*e.fn, e.input_nr);
  else edges.push_back(gradient_edge_slow(t));
}

// Creates node T with one edge per input (invalid for inputs that need no gradient).
template <typename T, typename... Args>
std::shared_ptr<T> make_grad_node(std::initializer_list<const Tensor*> inputs, Args&&... args) {
  auto node = make_node<T>(std::forward<Args>(args)...);
  node->next_edges.reserve(inputs.size());
  for (const Tensor* t : inputs) {
    if (t) append_gradient_edge(node->next_edges, *t);
    else node->next_edges.emplace_back();
  }
  if (forward_ad::active()) forward_ad::capture_inputs(node, inputs);
  return node;
}

// The one-input form (unary and tensor-number ops, most of scalar code): no list to walk, and
// inlined into the op (forced: as a call it costs about a fifth of a 0-d op's node creation).
template <typename T, typename... Args>
__attribute__((always_inline)) inline std::shared_ptr<T> make_grad_node(const Tensor& input, Args&&... args) {
  auto node = make_node<T>(std::forward<Args>(args)...);
  append_gradient_edge(node->next_edges, input);
  if (forward_ad::active()) forward_ad::capture_inputs(node, {&input});
  return node;
}

// What makes `out` the next output of `n` besides the grad_fn link itself: its output number and
// version on `m`, its shape and dtype on the node (set_history and record's inline path).
__attribute__((always_inline)) inline void note_output(AutogradMeta& m, Node& n, const Tensor& out) {
  m.output_nr = static_cast<uint32_t>(n.output_meta.size());
  m.attr_version = out.version();
  n.output_meta.emplace_back(out.shape(), out.dtype());
}

// Makes `out` the output `output_nr` of `node` (records its shape/dtype on the node).
void set_history(const Tensor& out, const std::shared_ptr<Node>& node);
// The same, handing the caller's reference to `out` (no reference-count round trip).
void set_history(const Tensor& out, std::shared_ptr<Node>&& node);

// Makes `out` the next output of `node`: what every op does once it computed `out` (pass the
// node with std::move when the op is done with it: no reference-count round trip). The common
// case inline (a call costs a 0-d op about a fifth of its recording): a fresh output (no autograd
// state yet, so its defaults are right) of a node without forward-mode state.
template <typename T>
__attribute__((always_inline)) inline void record(std::shared_ptr<T>&& node, const Tensor& out) {
  Node& n = *node;
  AutogradSlot& slot = out.impl()->autograd;
  if (slot || n.forward() || n.output_meta.size() == n.output_meta.capacity())
    return set_history(out, std::shared_ptr<Node>(std::move(node)));
  AutogradMeta& m = slot.emplace_empty<AutogradMeta>();
  note_output(m, n, out);
  m.grad_fn = std::move(node);
}
// The op keeps its reference (it still needs the node).
template <typename T>
void record(const std::shared_ptr<T>& node, const Tensor& out) {
  record(std::shared_ptr<T>(node), out);
}

// A tensor sharing `t`'s memory and version counter with no autograd history.
Tensor detach(const Tensor& t);

}  // namespace cg::autograd
