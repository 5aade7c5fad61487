// The graph: nodes hold what their VJP needs and edges to the nodes of their inputs.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "core/deferred_delete.h"
#include "core/live_counts.h"
#include "core/small_alloc.h"
#include "core/small_vector.h"
#include "core/tensor.h"

namespace cg::autograd {

class Node;
using TensorList = std::vector<Tensor>;

namespace node_detail {
// Creation order decides execution order among ready nodes; per thread like PyTorch's.
inline thread_local uint64_t t_next_sequence_nr = 0;
// AnomalyMode's switch (graph/anomaly.cpp), read here so that making a node needs no call.
extern std::atomic<bool> g_anomaly_enabled;
}  // namespace node_detail
namespace forward_ad { struct NodeForward; }
struct PointwiseVjp;  // graph/pointwise.h

// (node, which of its inputs): where a gradient flows.
struct Edge {
  Edge() = default;
  // (Constructors, not an aggregate: edge lists build an edge in place with emplace_back.)
  __attribute__((flatten)) Edge(const std::shared_ptr<Node>& f, uint32_t nr) : fn(f), input_nr(nr) {}
  Edge(std::shared_ptr<Node>&& f, uint32_t nr) : fn(std::move(f)), input_nr(nr) {}
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

// A HookList made on first use: every tensor that requires grad has two (leaf hooks, post-
// accumulate hooks) and almost none ever gets a hook, so an empty one is a null pointer (creating
// and destroying it costs one store and one check). Reads as the HookList (the engine runs a copy).
template <typename F>
class LazyHookList {
 public:
  bool empty() const { return !list_ || list_->empty(); }
  bool allocated() const { return list_ != nullptr; }  // (made by a first add; may be empty again)
  int add(F f, std::string name = "") {
    if (!list_) list_ = std::make_unique<HookList<F>>();
    return list_->add(std::move(f), std::move(name));
  }
  bool remove(int id) { return list_ && list_->remove(id); }
  const HookList<F>& get() const {
    static const HookList<F> none;
    return list_ ? *list_ : none;
  }
  operator const HookList<F>&() const { return get(); }  // NOLINT: implicit by design
  template <typename Step>
  void run(Step&& step) const {
    if (list_) list_->run(std::forward<Step>(step));
  }

 private:
  std::unique_ptr<HookList<F>> list_;
};

// A replacement gradient from a user hook must keep the value's shape and dtype (PyTorch's rule
// and wording); `hook` names the hook in the message.
void check_hook_value(const std::string& hook, const Tensor& before, const Tensor& after);

// A value a node saved for backward, as grad_fn._saved_<name> shows it (None, a tensor, a list
// of tensors, a number, a bool, sizes, a string).
using SavedValue = std::variant<std::monostate, Tensor, TensorList, int64_t, double, bool, Shape, std::string>;

// Shape and dtype of each forward output, so the engine can check and create gradients.
struct OutputMeta {
  OutputMeta(StoredShape s, DType d) : shape(std::move(s)), dtype(d) {}
  // Made in place from the output's shape (a 0-d output's is no allocation and no call).
  OutputMeta(const Shape& s, DType d) : shape(s), dtype(d) {}
  StoredShape shape;
  DType dtype;
};

// Owned through shared_ptr only (make_node); deliberately not enable_shared_from_this: its weak
// reference would keep every node's control block off the uniquely-owned release path (one
// atomic load instead of three read-modify-writes per release), and cost 16 bytes per node.
// Code that needs a node's owning pointer is handed it (record, SavedTensor's weak owner link).
class Node {
 public:
  // ---- engine2: where the running backward call keeps this node's execution state ----------
  // (First in the object: the dependency walk reads these and next_edges from one cache line.)
  // A backward call claims each node it reaches (CAS from null to itself) and keeps the node's
  // record at exec_slot of its flat array; a node another concurrent call has already claimed
  // goes to that call's overflow map instead. Only engine/engine.cpp touches these.
  std::atomic<const void*> exec_owner{nullptr};
  uint32_t exec_slot = 0;
  // 0-d fast path: the engine calls this instead of apply when the node's one forward output is a
  // 0-d float32/float64 tensor whose gradient (`grad`, a number of that dtype) it has as a number.
  // The node writes, as numbers of the same dtype, the gradient of each input that needs one
  // (all 0-d of that dtype) and returns true, with the same bits apply would give; false (the
  // default) leaves it to apply. No tensors, no lists: a chain of scalars allocates nothing here.
  struct ScalarGrads {
    static constexpr size_t kMax = 4;
    double value[kMax] = {};
    bool defined[kMax] = {};
  };
  virtual bool apply_0d(double grad, ScalarGrads& out) { return false; }
  // ---- end engine2 ------------------------------------------------------------------------
  // Fused chains (graph/pointwise.h): a node whose VJP is elementwise describes it in `out` and
  // returns true when its inputs and saved tensors fit (the gradient's shape and float dtype,
  // contiguous), so the engine may run it block by block with its neighbours; false: apply.
  virtual bool pointwise_vjp(PointwiseVjp& out) { (void)out; return false; }

 protected:
  // Small fields packed into the padding after exec_slot (a million-node graph pays per byte).
  bool is_accumulator_ = false;
  bool materialize_grads_ = true;

 private:
  mutable std::atomic_flag hooks_lock_ = ATOMIC_FLAG_INIT;
  std::atomic<bool> has_hooks_{false};

 public:
  // Inline room for the common case (one or two inputs, one output): no allocation of their own.
  SmallVector<Edge, 2> next_edges;
  SmallVector<OutputMeta, 1> output_meta;

  // Inline (forced: the compiler kept it out of line, and every op makes a node).
  __attribute__((always_inline)) Node() : sequence_nr_(node_detail::t_next_sequence_nr++) {
    live_add(LiveKind::Node, 1);
    if (node_detail::g_anomaly_enabled.load(std::memory_order_relaxed)) note_creation_trace();
  }
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Gradients of the forward outputs in, gradients of the forward inputs out (one per edge).
  // Undefined inputs have already been replaced by zeros by the engine.
  virtual TensorList apply(TensorList&& grad_outputs) = 0;
  virtual std::string name() const = 0;
  // Forward mode (graph/forward_ad.h): the output tangents from the input tangents (one per
  // edge, undefined = zero), written with differentiable ops; empty when the op has no native
  // rule, and the double-VJP fallback runs instead.
  virtual TensorList jvp(const TensorList& input_tangents) { (void)input_tangents; return {}; }
  // Only on nodes recorded with dual inputs (null otherwise); held with the other rare state.
  forward_ad::NodeForward* forward() const {
    const Extras* e = extras_.load(std::memory_order_acquire);
    return e ? e->forward.get() : nullptr;
  }
  // Set while recording (the node is not shared yet) and cleared when the dual level exits.
  void set_forward(std::unique_ptr<forward_ad::NodeForward> fw);
  // Frees saved tensors after a non-retained backward.
  virtual void release_saved() {}
  // Names (PyTorch's) and values of saved tensors/scalars for inspection (grad_fn._saved_*);
  // BackwardNode (graph/backward_node.h) derives it from the node's table of saved fields.
  virtual std::vector<std::pair<std::string, SavedValue>> saved_tensors_for_inspection() { return {}; }
  // The names alone, and one value by name (only that one is unpacked: a freed tensor raises,
  // numbers stay readable after backward). Defaults go through saved_tensors_for_inspection.
  virtual std::vector<std::string> saved_names();
  virtual SavedValue saved_value(const std::string& name);

  // False when the input's gradient is not needed (no edge, or outside the requested inputs).
  bool should_compute_output(size_t i) const;

  uint64_t sequence_nr() const { return sequence_nr_; }
  // Everything the user attached to this node. Python may register hooks while another
  // thread's backward runs the node, so the set is only read or changed under hooks_lock_
  // (edit_hooks / hooks_snapshot); it is allocated on first use (most nodes never have one),
  // together with the node's other rarely present state (Extras).
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
    HooksLock lock(hooks_lock_);
    Extras& e = extras();
    has_hooks_.store(true, std::memory_order_release);
    return f(e.hooks);
  }
  // A copy to run: hooks run without the lock (they may take the GIL or edit hooks).
  Hooks hooks_snapshot() const {
    HooksLock lock(hooks_lock_);
    const Extras* e = extras_.load(std::memory_order_acquire);
    return e ? e->hooks : Hooks{};
  }
  // The leaf accumulator (AccumulateGrad) is the one node kind the engine treats specially.
  bool is_accumulator() const { return is_accumulator_; }
  // Whether the engine replaces missing output gradients by zeros before apply (default; a
  // custom Function may ask for undefined ones instead: ctx.set_materialize_grads(False)).
  bool materializes_grads() const { return materialize_grads_; }
  void set_materialize_grads(bool value) { materialize_grads_ = value; }
  // Python stack of the forward call that created this node (anomaly mode only; empty otherwise).
  // Held out of line: most nodes never have one.
  const std::string& creation_trace() const;
  void set_creation_trace(std::string trace);

  static int64_t live_count();


 protected:
  uint64_t sequence_nr_;

 private:
  // A one-byte spin lock instead of a 40-byte std::mutex: held only to edit or copy the hook set
  // (never while a hook runs), and every node pays for it (a million-node graph: 40 MB).
  struct HooksLock {
    std::atomic_flag& flag;
    explicit HooksLock(std::atomic_flag& f) : flag(f) {
      while (flag.test_and_set(std::memory_order_acquire)) std::this_thread::yield();
    }
    ~HooksLock() { flag.clear(std::memory_order_release); }
    HooksLock(const HooksLock&) = delete;
    HooksLock& operator=(const HooksLock&) = delete;
  };
  // What few nodes have, out of line (one pointer per node): user hooks, the anomaly-mode trace,
  // forward-mode state. Created under hooks_lock_ and published with release (forward() reads
  // it without the lock); never replaced once made, deleted with the node.
  struct Extras {
    Hooks hooks;
    std::string creation_trace;
    std::unique_ptr<forward_ad::NodeForward> forward;
    ~Extras();  // graph/node.cpp, where NodeForward is complete
  };
  Extras& extras();  // made on first use; call under hooks_lock_
  void note_creation_trace();  // anomaly mode: where the forward call was
  std::atomic<Extras*> extras_{nullptr};
};

// For apply_0d: calls f(T{}) with T the C++ type of a float32/float64 dtype; false for others.
template <typename F>
bool with_float_0d(DType dtype, F&& f) {
  if (dtype == DType::Float32) return f(float{});
  if (dtype == DType::Float64) return f(double{});
  return false;
}
// The value of a 0-d tensor of C++ type T, or false when `t` is not one.
template <typename T>
bool scalar_value(const Tensor& t, T& value) {
  if (!t.defined() || t.dim() != 0 || t.dtype() != dtype_of<T>()) return false;
  value = *reinterpret_cast<const T*>(t.data_bytes());
  return true;
}

// One pooled block per node (control block and node together, from the thread's free list).
template <typename T, typename... Args>
std::shared_ptr<T> make_node(Args&&... args) {
  return std::allocate_shared<T>(SmallAllocator<T>(), std::forward<Args>(args)...);
}

}  // namespace cg::autograd
