#include "autograd/engine.h"

#include <queue>
#include <set>
#include <unordered_map>

#include "autograd/accumulate_grad.h"
#include "autograd/anomaly.h"
#include "autograd/diagnostics.h"
#include "autograd/graph_task.h"
#include "autograd/grad_mode.h"
#include "autograd/meta.h"
#include "ops/ops.h"

namespace cg::autograd {

namespace {
thread_local const GraphTask* t_current_task = nullptr;

struct NodeState {
  int64_t dependencies = 0;
  TensorList buffer;  // summed gradients of the node's forward outputs
};

// Adds a gradient into a node's input slot: the first one is kept as is, later ones summed.
void accumulate(TensorList& buffer, size_t slot, size_t size, Tensor grad) {
  if (buffer.size() < size) buffer.resize(size);
  Tensor& cur = buffer[slot];
  if (!cur.defined()) cur = std::move(grad);
  else if (!GradMode::is_enabled() && cur.shape() == grad.shape() && cur.dtype() == grad.dtype() && can_steal(cur))
    ops::add_(cur, grad);  // nothing else sees the buffer: sum in place (no new buffer)
  else cur = ops::add(cur, grad);
}

Tensor ones_for(const Tensor& root) { return Tensor::full(root.shape(), 1, root.dtype()); }

struct Capture {
  const Node* fn;
  uint32_t input_nr;
  size_t index;  // position in `inputs`
};

// Hooks the user registered on the tensors whose gradients are `grads` (one per output of
// `node`), run in registration order. A hook sees an undefined gradient (Python: None) when the
// node runs through another of its outputs, and may not replace it.
void run_tensor_hooks(Node& node, const Node::Hooks& hooks, TensorList& grads) {
  if (node.is_accumulator()) {
    if (grads[0].defined()) grads[0] = run_leaf_hooks(static_cast<AccumulateGrad&>(node).variable(), std::move(grads[0]));
    return;
  }
  hooks.tensor.run([&](const std::string& name, const Node::TensorHookEntry& entry) {
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

}  // namespace

const GraphTask* GraphTask::current() { return t_current_task; }
GraphTask::Scope::Scope(const GraphTask* task) : prev_(t_current_task) { t_current_task = task; }
GraphTask::Scope::~Scope() { t_current_task = prev_; }

TensorList run_backward(const TensorList& roots, const TensorList& grad_roots, const TensorList& inputs,
                        const BackwardOptions& opt) {
  // 1. Root edges and their gradients, checked as PyTorch checks them.
  std::vector<Edge> root_edges;
  TensorList root_grads;
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& r = roots[i];
    Edge e = gradient_edge(r);
    if (!e.valid())
      throw RuntimeError(with_culprit(::cg::msg("element ", i, " of tensors does not require grad and does not have a grad_fn"),
                                       root_without_grad_culprit(i, r)));
    Tensor g = i < grad_roots.size() ? grad_roots[i] : Tensor();
    if (!g.defined()) {
      if (r.numel() != 1)
        throw RuntimeError(with_culprit("grad can be implicitly created only for scalar outputs", implicit_grad_culprit(i, r)));
      g = ones_for(r);
    } else {
      if (g.shape() != r.shape())
        throw RuntimeError(::cg::msg("Mismatch in shape: grad_output[", i, "] has a shape of ", size_str(g.shape()),
                               " and output[", i, "] has a shape of ", size_str(r.shape()), "."));
      if (g.dtype() != r.dtype()) g = ops::to_dtype(g, r.dtype());
    }
    root_edges.push_back(std::move(e));
    root_grads.push_back(std::move(g));
  }

  // 2. Count dependencies with an explicit stack (never recursion: graphs may be 10^6 deep).
  std::unordered_map<Node*, NodeState> state;
  {
    std::vector<Node*> stack;
    for (auto& e : root_edges) {
      auto [it, fresh] = state.try_emplace(e.fn.get());
      it->second.dependencies++;
      if (fresh) stack.push_back(e.fn.get());
    }
    while (!stack.empty()) {
      Node* n = stack.back();
      stack.pop_back();
      for (auto& e : n->next_edges) {
        if (!e.valid()) continue;
        auto [it, fresh] = state.try_emplace(e.fn.get());
        it->second.dependencies++;
        if (fresh) stack.push_back(e.fn.get());
      }
    }
  }

  // 3. With `inputs`, find what lies on a path to them; everything else is skipped.
  GraphTask task;
  std::vector<Capture> captures;
  std::vector<Tensor> capture_targets;  // non-leaf inputs of backward(inputs=) accumulate into .grad
  if (!inputs.empty()) {
    task.filtered = true;
    std::unordered_set<const Node*> targets;
    std::vector<Edge> input_edges;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!requires_grad(inputs[i])) throw RuntimeError("One of the differentiated Tensors does not require grad");
      input_edges.push_back(gradient_edge(inputs[i]));
    }
    // Which (node, slot) pairs some edge of the graph feeds: an input whose node is reached
    // through another of its outputs only (e.g. one half of a split) gets no gradient either.
    // Checked here, before any node runs, like the unreached case.
    std::set<std::pair<const Node*, uint32_t>> fed;
    {
      std::unordered_set<const Node*> multi;
      for (auto& e : input_edges)
        if (state.count(e.fn.get()) && !e.fn->is_accumulator()) multi.insert(e.fn.get());
      if (!multi.empty()) {
        for (auto& e : root_edges)
          if (multi.count(e.fn.get())) fed.emplace(e.fn.get(), e.input_nr);
        for (auto& [n, st] : state)
          for (auto& e : n->next_edges)
            if (e.valid() && multi.count(e.fn.get())) fed.emplace(e.fn.get(), e.input_nr);
      }
    }
    for (size_t i = 0; i < inputs.size(); ++i) {
      const Tensor& x = inputs[i];
      const Edge& e = input_edges[i];
      bool reached = state.count(e.fn.get()) > 0;
      if (reached && !e.fn->is_accumulator()) reached = fed.count({e.fn.get(), e.input_nr}) > 0;
      if (!reached) {
        if (!opt.accumulate_grad && !opt.allow_unused && !opt.materialize_grads)
          throw RuntimeError(with_culprit(::cg::msg("The differentiated Tensor at index ", i,
                                 " appears to not have been used in the graph. Set allow_unused=True if this is "
                                 "the desired behavior."), unused_input_culprit(i, x, e, state.count(e.fn.get()) > 0)));
        continue;
      }
      if (opt.accumulate_grad && is_leaf(x)) {
        targets.insert(e.fn.get());  // its AccumulateGrad runs
        task.needed.insert(e.fn.get());
      } else {
        captures.push_back({e.fn.get(), e.input_nr, i});
        targets.insert(e.fn.get());
      }
    }
    // Post-order walk: a node is needed if any edge leads to a target or a needed node.
    std::unordered_map<const Node*, bool> done;
    std::vector<std::pair<Node*, size_t>> stack;
    for (auto& e : root_edges) stack.emplace_back(e.fn.get(), 0);
    while (!stack.empty()) {
      auto& [n, child] = stack.back();
      if (child == 0 && done.count(n)) { stack.pop_back(); continue; }
      if (child < n->next_edges.size()) {
        Node* next = n->next_edges[child++].fn.get();
        if (next && !done.count(next)) stack.emplace_back(next, 0);
        continue;
      }
      bool need = task.needed.count(n) > 0;
      for (auto& e : n->next_edges)
        if (e.valid() && (task.needed.count(e.fn.get()) || targets.count(e.fn.get()))) need = true;
      if (need) task.needed.insert(n);
      done[n] = true;
      stack.pop_back();
    }
    for (const Node* t : targets) task.needed.insert(t);  // captures read their buffers
  }

  // 4. Seed the buffers with the root gradients and run nodes as their dependencies clear.
  GraphTask::Scope scope(&task);
  GradModeGuard grad_mode(opt.create_graph);
  auto later_first = [](Node* a, Node* b) { return a->sequence_nr() < b->sequence_nr(); };
  std::priority_queue<Node*, std::vector<Node*>, decltype(later_first)> ready(later_first);
  for (size_t i = 0; i < root_edges.size(); ++i) {
    Node* n = root_edges[i].fn.get();
    NodeState& s = state[n];
    if (!task.is_needed(n)) continue;  // a root with no path to the requested inputs
    accumulate(s.buffer, root_edges[i].input_nr, std::max<size_t>(n->output_meta.size(), 1), root_grads[i]);
    if (--s.dependencies == 0) ready.push(n);
  }
  TensorList captured(inputs.size());
  while (!ready.empty()) {
    Node* node = ready.top();
    ready.pop();
    AnomalyNodeGuard anomaly_guard(*node);  // anomaly mode: an error below shows where `node` was created
    auto it = state.find(node);
    TensorList grads = std::move(it->second.buffer);
    const size_t n_out = std::max<size_t>(node->output_meta.size(), 1);
    grads.resize(n_out);

    // Tensor hooks see the gradient first, then retain_grad and captures read it.
    const Node::Hooks hooks = node->has_hooks() ? node->hooks_snapshot() : Node::Hooks{};
    run_tensor_hooks(*node, hooks, grads);
    retain_grads(hooks, grads);
    for (auto& c : captures)
      if (c.fn == node && c.input_nr < grads.size()) captured[c.index] = grads[c.input_nr];

    // Filtered runs execute a node only if it feeds something needed; a leaf's accumulator
    // runs only when backward(inputs=) asked for that leaf (autograd.grad captures instead).
    bool run = true;
    if (task.filtered) {
      if (node->is_accumulator()) {
        run = opt.accumulate_grad && task.needed.count(node);
      } else {
        run = false;
        for (auto& e : node->next_edges)
          if (e.valid() && task.needed.count(e.fn.get())) run = true;
      }
    }
    bool any_defined = false;
    for (auto& g : grads) any_defined |= g.defined();

    TensorList outputs;
    if (run && any_defined) {
      run_pre_hooks(hooks, grads);
      for (size_t i = 0; i < grads.size() && node->materializes_grads(); ++i)
        if (!grads[i].defined() && i < node->output_meta.size())
          grads[i] = Tensor::zeros(node->output_meta[i].shape, node->output_meta[i].dtype);
      TensorList grads_in = hooks.post.empty() ? TensorList() : grads;
      outputs = node->apply(std::move(grads));
      run_post_hooks(hooks, outputs, grads_in);
      check_node_outputs(*node, outputs);  // anomaly mode's check_nan / set_nan_check
      if (!opt.keep_graph) node->release_saved();
    }
    state.erase(it);
    for (size_t i = 0; i < node->next_edges.size(); ++i) {
      const Edge& e = node->next_edges[i];
      if (!e.valid()) continue;
      // Nodes off every path to the requested inputs are never queued (nor their hooks run).
      if (!task.is_needed(e.fn.get())) continue;
      auto nit = state.find(e.fn.get());
      if (nit == state.end()) continue;
      NodeState& s = nit->second;
      if (i < outputs.size() && outputs[i].defined())
        accumulate(s.buffer, e.input_nr, std::max<size_t>(e.fn->output_meta.size(), 1), std::move(outputs[i]));
      if (--s.dependencies == 0) ready.push(e.fn.get());
    }
  }

  // 5. autograd.grad returns the captures; backward(inputs=) adds non-leaf ones into .grad.
  for (auto& c : captures) {
    const Tensor& x = inputs[c.index];
    Tensor& g = captured[c.index];
    if (!g.defined() && opt.materialize_grads) g = Tensor::zeros(x.shape(), x.dtype());
    if (opt.accumulate_grad) {
      if (g.defined()) accumulate_into_grad(x, g);
    } else if (!g.defined() && !opt.allow_unused && !opt.materialize_grads) {
      throw RuntimeError(with_culprit(::cg::msg("The differentiated Tensor at index ", c.index,
                             " appears to not have been used in the graph. Set allow_unused=True if this is the "
                             "desired behavior."), ::cg::msg("input ", c.index, " (", describe_tensor(x),
                             ") is in the graph, but the gradients flowing to it were all undefined.")));
    }
  }
  if (!opt.accumulate_grad && opt.materialize_grads)
    for (size_t i = 0; i < inputs.size(); ++i)
      if (!captured[i].defined()) captured[i] = Tensor::zeros(inputs[i].shape(), inputs[i].dtype());
  return captured;
}

}  // namespace cg::autograd
