// The backward executor. One call runs five phases over a GraphTask (graph_task.h):
//   1. seed_roots         check the roots and make their gradients;
//   2. count_dependencies walk the graph once (an explicit stack: graphs may be 10^6 deep), give
//                         every tracked node a record (a chain's links get theirs as they run);
//                         with one root, not before the path from it forks (finish_deferred_walk);
//   3. plan               with inputs=: mark what runs and what is captured, per node record;
//   4. execute            run nodes as their dependencies clear, on this thread or, for graphs
//                         with independent heavy branches, also on a few pool threads;
//   5. collect            autograd.grad's results, backward(inputs=)'s non-leaf .grad.
#include "engine/engine.h"
#include "graph/forward_hooks.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <optional>
#include <set>
#include <unordered_set>

#include "engine/accumulate_grad.h"
#include "graph/anomaly.h"
#include "graph/diagnostics.h"
#include "engine/engine_hooks.h"
#include "engine/fused_chain.h"
#include "graph/grad_mode.h"
#include "engine/graph_task.h"
#include "graph/meta.h"
#include "engine/parallel_walk.h"
#include "ops/ops.h"

namespace cg::autograd {

namespace {

size_t num_outputs(const Node& node) { return std::max<size_t>(node.output_meta.size(), 1); }

std::string unused_message(size_t i) {
  return ::cg::msg("The differentiated Tensor at index ", i,
                   " appears to not have been used in the graph. Set allow_unused=True if this is the desired behavior.");
}

// ---- 1. seed roots ------------------------------------------------------------------------------

// Root edges and their gradients, checked as PyTorch checks them.
void seed_roots(const TensorList& roots, const TensorList& grad_roots, std::vector<Edge>& edges, TensorList& grads) {
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
      g = Tensor::full(r.shape(), 1, r.dtype());
    } else {
      if (g.shape() != r.shape())
        throw RuntimeError(::cg::msg("Mismatch in shape: grad_output[", i, "] has a shape of ", size_str(g.shape()),
                                     " and output[", i, "] has a shape of ", size_str(r.shape()), "."));
      if (g.dtype() != r.dtype()) g = ops::to_dtype(g, r.dtype());
    }
    edges.push_back(std::move(e));
    grads.push_back(std::move(g));
  }
}

// ---- 2. count dependencies ----------------------------------------------------------------------

// Gives every tracked node a record (roots, and nodes more than one edge leads to or a tensor
// holds) and counts the edges into it. A node held by nothing but the edge being followed (the
// links of a chain) is met exactly once: it is walked through without a record (it gets an inline
// one when its gradient arrives), unless inputs= is given (should_compute_output then looks any
// node up).
// `from` .. `from + n` are the edges the walk starts from (the roots', or those of the node a
// deferred walk starts at); invalid ones are skipped.
void count_dependencies(GraphTask& task, const Edge* from, size_t n_from, bool claim_all, bool walk = true) {
  std::vector<Node*> stack;
  auto track = [&](Node* fn) {
    bool fresh = true;
    NodeTask& rec = task.nodes[task.slot_for(fn, fresh)];
    if (fresh) stack.push_back(fn);
    rec.dependencies++;
    rec.incoming++;
  };
  for (size_t i = 0; i < n_from; ++i)
    if (from[i].valid()) track(from[i].fn.get());
  if (!walk) return;  // (the roots' records alone: the walk is deferred)
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next_edges) {
      if (!e.valid()) continue;
      if (claim_all || e.fn.use_count() > 1)
        track(e.fn.get());
      else
        stack.push_back(e.fn.get());
    }
  }
  task.finish_counting();
}

// The deferred walk (GraphTask::walk_deferred): while the nodes run from a single root form a
// path (each has at most one valid edge), no counting is needed: every node the graph reaches is
// reached through that path, so no other edge of the graph can lead to its next node (it would
// be a cycle). That node's one gradient arrives when the node before it ran, and it runs next on
// an inline record. The graph below the first node with several edges is walked when that node
// has run, before it delivers. A 10^6-node chain is then walked once, not twice.
bool leads_to_one_node(const Node& node) {
  int valid = 0;
  for (const Edge& e : node.next_edges) valid += e.valid();
  return valid <= 1;
}
void finish_deferred_walk(GraphTask& task, const Node& node) {
  task.walk_deferred = false;
  count_dependencies(task, node.next_edges.data(), node.next_edges.size(), false);
}

// ---- 3. plan: what runs, what is captured -------------------------------------------------------

// With `inputs`, only nodes on a path to them run; the gradients of non-leaf inputs (and, for
// autograd.grad, of leaves) are captured at their node. Unreached inputs fail here, before any
// node runs, as in PyTorch.
void plan(GraphTask& task, const TensorList& inputs, const std::vector<Edge>& root_edges) {
  const BackwardOptions& opt = task.options;
  task.filtered = true;
  std::vector<Edge> input_edges;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!requires_grad(inputs[i])) throw RuntimeError("One of the differentiated Tensors does not require grad");
    input_edges.push_back(gradient_edge(inputs[i]));
  }
  // Which (node, slot) pairs some edge of the graph feeds: an input whose node is reached only
  // through another of its outputs (e.g. one half of a split) gets no gradient either.
  std::set<std::pair<const Node*, uint32_t>> fed;
  {
    std::unordered_set<const Node*> multi;
    for (auto& e : input_edges)
      if (task.slot_of(e.fn.get()) != kNoSlot && !e.fn->is_accumulator()) multi.insert(e.fn.get());
    if (!multi.empty()) {
      for (auto& e : root_edges)
        if (multi.count(e.fn.get())) fed.emplace(e.fn.get(), e.input_nr);
      for (size_t s = 0; s < task.nodes.size(); ++s)
        for (auto& e : task.nodes[s].node->next_edges)
          if (e.valid() && multi.count(e.fn.get())) fed.emplace(e.fn.get(), e.input_nr);
    }
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    const Edge& e = input_edges[i];
    const uint32_t slot = task.slot_of(e.fn.get());
    bool reached = slot != kNoSlot;
    if (reached && !e.fn->is_accumulator()) reached = fed.count({e.fn.get(), e.input_nr}) > 0;
    if (!reached) {
      if (!opt.accumulate_grad && !opt.allow_unused && !opt.materialize_grads)
        throw RuntimeError(with_culprit(unused_message(i), unused_input_culprit(i, x, e, slot != kNoSlot)));
      continue;
    }
    NodeTask& rec = task.nodes[slot];
    rec.target = true;
    if (!(opt.accumulate_grad && is_leaf(x))) {  // a leaf of backward(inputs=) accumulates instead
      auto head = task.capture_heads.try_emplace(slot, -1).first;
      task.captures.push_back({e.input_nr, static_cast<uint32_t>(i), head->second});
      head->second = static_cast<int32_t>(task.captures.size() - 1);
      rec.captures = true;
    }
  }
  // Post-order walk: a node is needed when it is a target or an edge leads to a needed node.
  for (size_t s = 0; s < task.nodes.size(); ++s) task.nodes[s].needed = false;
  // (Every reached node is tracked here: count_dependencies claimed them all.)
  auto next_slot = [&](const NodeTask& rec, size_t i) {
    const Edge& e = rec.node->next_edges[i];
    return e.valid() ? task.slot_of(e.fn.get()) : kNoSlot;
  };
  enum : uint8_t { kUnseen, kOpen, kDone };
  std::vector<std::pair<uint32_t, size_t>> stack;  // (slot, next edge to look at)
  for (auto& e : root_edges) {
    uint32_t root = task.slot_of(e.fn.get());
    if (task.nodes[root].visit != kUnseen) continue;
    task.nodes[root].visit = kOpen;
    stack.emplace_back(root, 0);
    while (!stack.empty()) {
      auto& [slot, child] = stack.back();
      NodeTask& rec = task.nodes[slot];
      if (child < rec.node->next_edges.size()) {
        uint32_t next = next_slot(rec, child++);
        if (next != kNoSlot && task.nodes[next].visit == kUnseen) {
          task.nodes[next].visit = kOpen;
          stack.emplace_back(next, 0);
        }
        continue;
      }
      bool need = rec.target, feeds = false;
      for (size_t i = 0; i < rec.node->next_edges.size(); ++i) {
        uint32_t next = next_slot(rec, i);
        if (next != kNoSlot && task.nodes[next].needed) feeds = true;
      }
      rec.needed = need || feeds;
      // A leaf's accumulator runs only when backward(inputs=) asked for that leaf (autograd.grad
      // captures instead); another node runs when it feeds something needed.
      rec.execute = rec.node->is_accumulator() ? opt.accumulate_grad && rec.needed : feeds;
      rec.visit = kDone;
      stack.pop_back();
    }
  }
}

// ---- 4. execute ---------------------------------------------------------------------------------

double add_as(DType dtype, double a, double b) {
  return dtype == DType::Float32 ? static_cast<double>(static_cast<float>(a) + static_cast<float>(b)) : a + b;
}

// The 0-d fast path: taken when every gradient into the node is a number and nothing (hooks,
// captures, create_graph, anomaly checks) needs to see tensors. False: take the general path.
[[gnu::always_inline]] inline bool evaluate_0d(GraphTask& task, NodeTask& rec, NodeResult& result) {
  Node& node = *rec.node;
  if (!task.scalar_path || node.is_accumulator() || rec.captures || !rec.execute || node.has_hooks() ||
      node.output_meta.size() != 1 || !node.output_meta[0].shape.empty() ||
      node.next_edges.size() > Node::ScalarGrads::kMax)
    return false;
  const DType dtype = node.output_meta[0].dtype;
  double grad = 0;
  bool any = false;
  const bool numbers = task.for_each_cell(rec, [&](const GradCell& cell) {
    double v;
    if (cell.is_value) {
      if (cell.dtype != dtype) return false;
      v = cell.value;
    } else if (cell.grad.defined()) {  // a 0-d tensor (the root's gradient, a general node's result)
      if (!with_float_0d(dtype, [&](auto t) {
            decltype(t) x;
            if (!scalar_value(cell.grad, x)) return false;
            v = x;
            return true;
          }))
        return false;
    } else {
      return true;
    }
    grad = any ? add_as(dtype, grad, v) : v;
    any = true;
    return true;
  });
  if (!numbers || !any || !node.apply_0d(grad, result.values)) return false;
  for (uint32_t k = 0; k < rec.incoming; ++k) {
    GradCell& cell = task.cell(rec, k);
    cell.grad = Tensor();  // (leaves the cell empty: an inline record is used again)
    cell.is_value = false;
  }
  result.dtype = dtype;
  result.as_values = true;
  if (!task.options.keep_graph) node.release_saved();
  return true;
}

// The node's gradient cells summed, in their order, into one gradient per forward output.
void gather(GraphTask& task, NodeTask& rec, TensorList& grads) {
  uint64_t owned = 0;  // outputs whose tensor this sum created (a number may be added in place)
  task.for_each_cell(rec, [&](GradCell& cell) {
    Tensor& g = grads[cell.input_nr];
    const uint64_t bit = cell.input_nr < 64 ? uint64_t{1} << cell.input_nr : 0;
    if (cell.is_value) {
      cell.is_value = false;
      if (g.defined() && (owned & bit) && g.dtype() == cell.dtype) {
        if (g.dtype() == DType::Float32) *g.data<float>() += static_cast<float>(cell.value);
        else *g.data<double>() += cell.value;
        return true;
      }
      Tensor v = Tensor::full({}, cell.value, cell.dtype);
      g = g.defined() ? ops::add(g, v) : std::move(v);
      owned |= bit;
      return true;
    }
    if (!cell.grad.defined()) return true;
    if (g.defined()) {
      if (!GradMode::is_enabled() && g.shape() == cell.grad.shape() && g.dtype() == cell.grad.dtype() && can_steal(g))
        ops::add_(g, cell.grad);  // nothing else sees the buffer: sum in place (no new buffer)
      else
        g = ops::add(g, cell.grad);
      owned |= bit;
    } else {
      g = std::move(cell.grad);
    }
    cell.grad = Tensor();
    return true;
  });
}

// Everything but the 0-d fast path: out of line, so that the serial executor's loop holds the
// fast path inline and a chain of 0-d links does not pay for this part's large stack frame (hook
// lists, the anomaly guard) and a call per node.
[[gnu::noinline]] void evaluate_tensors(GraphTask& task, uint32_t slot, NodeTask& rec, TensorList& grads,
                                        NodeResult& result) {
  Node& node = *rec.node;
  if (task.take_fused_outputs(node, result.tensors)) return;  // a later node of a fused chain
  AnomalyNodeGuard anomaly_guard(node);  // anomaly mode: an error below shows where `node` was created
  grads.clear();
  grads.resize(num_outputs(node));
  gather(task, rec, grads);

  // Tensor hooks see the gradient first, then retain_grad and captures read it.
  std::optional<Node::Hooks> hooks;
  if (node.has_hooks()) hooks = node.hooks_snapshot();
  run_tensor_hooks(node, hooks, grads);
  if (hooks) retain_grads(*hooks, grads);
  for (int32_t c = rec.captures ? task.first_capture(slot) : -1; c >= 0; c = task.captures[c].next)
    if (task.captures[c].input_nr < grads.size()) task.captured[task.captures[c].index] = grads[task.captures[c].input_nr];

  bool any_defined = false;
  for (auto& g : grads) any_defined |= g.defined();
  if (!rec.execute || !any_defined) {
    grads.clear();
    return;
  }
  if (hooks) run_pre_hooks(*hooks, grads);
  if (node.materializes_grads())
    for (size_t i = 0; i < grads.size() && i < node.output_meta.size(); ++i)
      if (!grads[i].defined()) grads[i] = Tensor::zeros(node.output_meta[i].shape, node.output_meta[i].dtype);
  TensorList grads_in = hooks && !hooks->post.empty() ? grads : TensorList();
  // (A fused chain looks at the records of the nodes below: they must be counted.)
  if (task.walk_deferred && !node.is_accumulator() && !hooks && may_fuse(grads)) finish_deferred_walk(task, node);
  if (node.is_accumulator())
    result.tensors = accumulate_leaf(static_cast<AccumulateGrad&>(node), std::move(grads));
  else if (hooks || !run_fused_chain(task, slot, grads, result.tensors))  // engine/fused_chain.h
    result.tensors = node.apply(std::move(grads));
  grads.clear();  // what apply left here must not keep gradients alive (AccumulateGrad steals unique ones)
  if (hooks) {
    // A post hook sees one gradient per input, None for an input that is not a tensor (x * 2's
    // number), as PyTorch's nodes have an edge for it.
    if (result.tensors.size() < node.next_edges.size()) result.tensors.resize(node.next_edges.size());
    run_post_hooks(*hooks, result.tensors, grads_in);
  }
  check_node_outputs(node, result.tensors);  // anomaly mode's check_nan / set_nan_check
  if (!task.options.keep_graph) node.release_saved();
}

[[gnu::always_inline]] inline void evaluate_into(GraphTask& task, uint32_t slot, NodeTask& rec, TensorList& grads,
                                                 NodeResult& result) {
  if (!evaluate_0d(task, rec, result)) evaluate_tensors(task, slot, rec, grads, result);  // (0-d: never in anomaly mode)
}

}  // namespace

// (engine/parallel_walk.h)
NodeResult evaluate(GraphTask& task, uint32_t slot, NodeTask& rec, TensorList& grads) {
  NodeResult result;
  evaluate_into(task, slot, rec, grads, result);
  return result;
}

void push_ready(GraphTask& task, uint32_t slot) { task.ready.push(slot, task.nodes[slot].node->sequence_nr()); }

namespace {

// The records of a serial walk, for deliver (parallel_walk.h): plain counts, the task's inline records.
struct SerialRecords {
  GraphTask& task;
  void give_back(NodeTask& rec) { release_claim(task, rec); }
  // The inline record made last, usually the next link of a chain, which runs next: the executor
  // takes it from here instead of looking its slot up (records never move).
  uint32_t last_slot = kNoSlot;
  NodeTask* last = nullptr;
  NodeTask& add_inline(Node* fn, uint32_t& slot) {
    NodeTask& rec = task.add_inline(fn, slot);
    last_slot = slot;
    last = &rec;
    return rec;
  }
  NodeTask& record(uint32_t slot) { return slot == last_slot ? *last : task.nodes[slot]; }
  GradCell& arrive(uint32_t, NodeTask& to) { return task.cell(to, to.incoming - to.dependencies); }  // in arrival order
  bool filled(uint32_t, NodeTask& to) { return --to.dependencies == 0; }
  void free_inline(uint32_t slot, NodeTask& rec) { task.free_inline(slot, rec); }
};

// Runs nodes on this thread until none is ready, or, with `threads` > 1, until two heavy nodes
// are ready at once: from there on the task runs in parallel (a chain never checks anything).
void execute(GraphTask& task, int threads) {
  TensorList grads;
  SerialRecords records{task, kNoSlot, nullptr};
  uint32_t next = kNoSlot;  // the one ready node, passed on without the queue (a chain's next link)
  while (next != kNoSlot || !task.ready.empty()) {
    if (next == kNoSlot && threads > 1 && task.ready.size() > 1 && should_go_parallel(task))
      return execute_parallel(task, threads);
    uint32_t slot = next;
    next = kNoSlot;
    if (slot == kNoSlot) slot = task.ready.pop();
    NodeTask& rec = records.record(slot);
    NodeResult result;
    evaluate_into(task, slot, rec, grads, result);
    if (task.walk_deferred && !leads_to_one_node(*rec.node)) finish_deferred_walk(task, *rec.node);
    deliver(records, slot, rec, result, [&](uint32_t s) {
      if (next == kNoSlot && task.ready.empty()) {
        next = s;
        return;
      }
      if (next != kNoSlot) push_ready(task, next);  // several ready: the queue decides (in this order)
      next = kNoSlot;
      push_ready(task, s);
    });
  }
}

// ---- 5. collect ---------------------------------------------------------------------------------

// autograd.grad returns the captures; backward(inputs=) adds non-leaf ones into .grad.
TensorList collect(GraphTask& task, const TensorList& inputs) {
  const BackwardOptions& opt = task.options;
  for (const Capture& c : task.captures) {
    const Tensor& x = inputs[c.index];
    Tensor& g = task.captured[c.index];
    if (!g.defined() && opt.materialize_grads) g = Tensor::zeros(x.shape(), x.dtype());
    if (opt.accumulate_grad) {
      if (g.defined()) accumulate_into_grad(x, g);
    } else if (!g.defined() && !opt.allow_unused && !opt.materialize_grads) {
      throw RuntimeError(with_culprit(unused_message(c.index),
                                      ::cg::msg("input ", c.index, " (", describe_tensor(x),
                                                ") is in the graph, but the gradients flowing to it were all undefined.")));
    }
  }
  if (!opt.accumulate_grad && opt.materialize_grads)
    for (size_t i = 0; i < inputs.size(); ++i)
      if (!task.captured[i].defined()) task.captured[i] = Tensor::zeros(inputs[i].shape(), inputs[i].dtype());
  return std::move(task.captured);
}

}  // namespace

TensorList run_backward(const TensorList& roots, const TensorList& grad_roots, const TensorList& inputs,
                        const BackwardOptions& opt) {
  std::vector<Edge> root_edges;
  TensorList root_grads;
  seed_roots(roots, grad_roots, root_edges, root_grads);

  GraphTask task(opt, inputs.size());
  // One root, every node runs, no graph is made of the gradients (whose nodes would hold
  // references into this graph): the walk waits until the chain from the root ends.
  task.walk_deferred = inputs.empty() && root_edges.size() == 1 && !opt.create_graph;
  if (task.walk_deferred)
    count_dependencies(task, root_edges.data(), 1, false, /*walk=*/false);
  else
    count_dependencies(task, root_edges.data(), root_edges.size(), !inputs.empty());
  if (!inputs.empty()) plan(task, inputs, root_edges);

  BackwardFilter::Scope scope(&task);
  GradModeGuard grad_mode(opt.create_graph);
  for (size_t j = 0; j < root_edges.size(); ++j) {
    const uint32_t slot = task.slot_of(root_edges[j].fn.get());
    NodeTask& rec = task.nodes[slot];
    if (!rec.needed) continue;  // a root with no path to the requested inputs
    GradCell& cell = task.cell(rec, rec.incoming - rec.dependencies);  // (roots' cells come first)
    cell.grad = std::move(root_grads[j]);
    cell.input_nr = root_edges[j].input_nr;
    cell.from_seq = UINT64_MAX;
    cell.from_edge = static_cast<uint32_t>(j);
    if (--rec.dependencies == 0) push_ready(task, slot);
  }
  // (Not with a dual level: gradients of tensors with tangents must carry theirs.)
  task.scalar_path = !opt.create_graph && !AnomalyMode::is_enabled() && !NanCheck::is_enabled() &&
                     !forward_ad::active();
  // Parallel tasks never create graph nor see a dual level (helpers would need the caller's
  // thread-local state).
  execute(task, opt.create_graph || AnomalyMode::is_enabled() || forward_ad::active() ? 1 : backward_threads());
  note_last_backward(task);
  return collect(task, inputs);
}

}  // namespace cg::autograd
