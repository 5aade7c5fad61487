// The graph: nodes hold what their VJP needs and edges to the nodes of their inputs.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/deferred_delete.h"
#include "core/tensor.h"

namespace cg::autograd {

class Node;
using TensorList = std::vector<Tensor>;

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

template <typename F>
struct HookList {
  std::vector<std::pair<int, F>> items;
  int add(F f) {
    int id = next_id++;
    items.emplace_back(id, std::move(f));
    return id;
  }
  bool remove(int id) {
    for (auto it = items.begin(); it != items.end(); ++it)
      if (it->first == id) { items.erase(it); return true; }
    return false;
  }
  bool empty() const { return items.empty(); }
  int next_id = 0;
};

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
  // Frees saved tensors after a non-retained backward.
  virtual void release_saved() {}
  // Names and values of saved tensors/scalars for inspection (grad_fn._saved_*).
  virtual std::vector<std::pair<std::string, Tensor>> saved_tensors_for_inspection() { return {}; }

  // False when the input's gradient is not needed (no edge, or outside the requested inputs).
  bool should_compute_output(size_t i) const;

  uint64_t sequence_nr() const { return sequence_nr_; }
  std::vector<Edge> next_edges;
  std::vector<OutputMeta> output_meta;
  // Hooks registered on the tensors this node produced (Tensor.register_hook), by output index.
  struct TensorHookEntry {
    uint32_t output_nr;
    TensorHook fn;
  };
  HookList<TensorHookEntry> tensor_hooks;
  // retain_grad(): per output index, a hook storing the gradient into the (weakly held) tensor.
  std::vector<std::pair<uint32_t, std::weak_ptr<TensorImpl>>> retained;
  HookList<NodePreHook> pre_hooks;
  HookList<NodePostHook> post_hooks;
  // Python stack of the forward call that created this node (anomaly mode only).
  std::string creation_trace;

  static int64_t live_count();

 protected:
  uint64_t sequence_nr_;
};

template <typename T, typename... Args>
std::shared_ptr<T> make_node(Args&&... args) {
  return std::make_shared<T>(std::forward<Args>(args)...);
}

}  // namespace cg::autograd
