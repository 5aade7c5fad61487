// The graph: nodes hold what their VJP needs and edges to the nodes of their inputs.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/deferred_delete.h"
#include "core/tensor.h"

namespace cg::autograd {

class Node;
using TensorList = std::vector<Tensor>;
namespace forward_ad { struct NodeForward; }

// (node, which of its inputs): where a gradient flows.
struct Edge {
  std::shared_ptr<Node> fn;
  uint32_t input_nr = 0;
  bool valid() const { return fn != nullptr; }
};

// A tensor hook gets the gradient and returns a replacement, or an undefined Tensor to keep it.
using TensorHook = std::function<Tensor(const Tensor&)>;
// Node hooks see the whole gradient lists; they return replacements or an empty list.
using NodePreHook = std::function<TensorList(const TensorList& grad_outputs)>;
using NodePostHook = std::function<TensorList(const TensorList& grad_inputs, const TensorList& grad_outputs)>;

// Hooks registered by the user, in registration order, each with the name error messages use.
// Not synchronised itself: the owner (Node or AutogradMeta) guards it with its mutex, and the
// engine runs a copy (a hook may add or remove hooks while it runs; another thread may too).
template <typename F>
struct HookList {
  struct Item {
    int id;
    std::string name;
    F fn;
  };
  std::vector<Item> items;
  int add(F f, std::string name = "") {
    int id = next_id++;
    items.push_back({id, std::move(name), std::move(f)});
    return id;
  }
  bool remove(int id) {
    for (auto it = items.begin(); it != items.end(); ++it)
      if (it->id == id) { items.erase(it); return true; }
    return false;
  }
  bool empty() const { return items.empty(); }
  // Calls step(name, fn) for each hook in order (the one place hooks are iterated).
  template <typename Step>
  void run(Step&& step) const {
    for (const Item& item : items) step(item.name, item.fn);
  }
  int next_id = 0;
};

// A replacement gradient from a user hook must keep the value's shape and dtype (PyTorch's rule
// and wording); `hook` names the hook in the message.
void check_hook_value(const std::string& hook, const Tensor& before, const Tensor& after);

// Shape and dtype of each forward output, so the engine can check and create gradients.
struct OutputMeta {
  Shape shape;
  DType dtype;
};

class Node : public std::enable_shared_from_this<Node> {
 public:
  Node();
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Gradients of the forward outputs in, gradients of the forward inputs out (one per edge).
  // Undefined inputs have already been replaced by zeros by the engine.
  virtual TensorList apply(TensorList&& grad_outputs) = 0;
  virtual std::string name() const = 0;
  // Forward mode (autograd/forward_ad.h): the output tangents from the input tangents (one per
  // edge, undefined = zero), written with differentiable ops; empty when the op has no native
  // rule, and the double-VJP fallback runs instead.
  virtual TensorList jvp(const TensorList& input_tangents) { (void)input_tangents; return {}; }
  std::shared_ptr<forward_ad::NodeForward> fw;  // only on nodes recorded with dual inputs
  // Frees saved tensors after a non-retained backward.
  virtual void release_saved() {}
  // Names and values of saved tensors/scalars for inspection (grad_fn._saved_*).
  virtual std::vector<std::pair<std::string, Tensor>> saved_tensors_for_inspection() { return {}; }

  // False when the input's gradient is not needed (no edge, or outside the requested inputs).
  bool should_compute_output(size_t i) const;

  uint64_t sequence_nr() const { return sequence_nr_; }
  std::vector<Edge> next_edges;
  std::vector<OutputMeta> output_meta;
  // Everything the user attached to this node. Python may register hooks while another
  // thread's backward runs the node, so the set is only read or changed under hooks_mutex_
  // (edit_hooks / hooks_snapshot); it is allocated on first use (most nodes never have one).
  struct TensorHookEntry {
    uint32_t output_nr;
    TensorHook fn;
  };
  struct Hooks {
    HookList<TensorHookEntry> tensor;  // Tensor.register_hook on the outputs, by output index
    // retain_grad(): per output index, the (weakly held) tensor whose .grad stores the gradient.
    std::vector<std::pair<uint32_t, std::weak_ptr<TensorImpl>>> retained;
    HookList<NodePreHook> pre;
    HookList<NodePostHook> post;
  };
  bool has_hooks() const { return has_hooks_.load(std::memory_order_acquire); }
  template <typename F>
  decltype(auto) edit_hooks(F&& f) {
    std::lock_guard<std::mutex> lock(hooks_mutex_);
    if (!hooks_) hooks_ = std::make_unique<Hooks>();
    has_hooks_.store(true, std::memory_order_release);
    return f(*hooks_);
  }
  // A copy to run: hooks run without the lock (they may take the GIL or edit hooks).
  Hooks hooks_snapshot() const {
    std::lock_guard<std::mutex> lock(hooks_mutex_);
    return hooks_ ? *hooks_ : Hooks{};
  }
  // The leaf accumulator (AccumulateGrad) is the one node kind the engine treats specially.
  bool is_accumulator() const { return is_accumulator_; }
  // Whether the engine replaces missing output gradients by zeros before apply (default; a
  // custom Function may ask for undefined ones instead: ctx.set_materialize_grads(False)).
  bool materializes_grads() const { return materialize_grads_; }
  void set_materialize_grads(bool value) { materialize_grads_ = value; }
  // Python stack of the forward call that created this node (anomaly mode only).
  std::string creation_trace;

  static int64_t live_count();

 protected:
  uint64_t sequence_nr_;
  bool is_accumulator_ = false;
  bool materialize_grads_ = true;

 private:
  mutable std::mutex hooks_mutex_;
  std::atomic<bool> has_hooks_{false};
  std::unique_ptr<Hooks> hooks_;
};

template <typename T, typename... Args>
std::shared_ptr<T> make_node(Args&&... args) {
  return std::make_shared<T>(std::forward<Args>(args)...);
}

}  // namespace cg::autograd
