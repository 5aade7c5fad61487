// What the serial executor (engine.cpp) and the parallel walk (parallel_walk.cpp) share: a node's
// evaluation and delivery, and the switch into parallel mode.
#pragma once
#include <cstdint>

#include "engine/graph_task.h"

namespace cg::autograd {

// ---- from engine.cpp ----------------------------------------------------------------------------

// What a node sends along its edges: tensors, or numbers from its 0-d fast path.
struct NodeResult {
  TensorList tensors;
  Node::ScalarGrads values;
  DType dtype = DType::Float32;
  bool as_values = false;
};

// Evaluates the node at `slot` (record `rec`): its gradients, hooks, captures, apply (or
// apply_0d). The result is empty when the node did not run.
NodeResult evaluate(GraphTask& task, uint32_t slot, NodeTask& rec, TensorList& grads);
void push_ready(GraphTask& task, uint32_t slot);

// Moves the node's results into the cells of the nodes its edges lead to (an inline record for
// a node only this edge leads to) and calls `on_ready(slot)` for each of those whose last
// dependency this was. Nodes off every path to the requested inputs are never queued (nor their
// hooks run). `Records` is how records are reached: SerialRecords (engine.cpp) with plain counts,
// or the parallel walk's, with atomic ones and records of its own thread (parallel_walk.cpp).
template <typename Records, typename OnReady>
void deliver(Records& records, uint32_t slot, NodeTask& rec, NodeResult& result, OnReady&& on_ready) {
  GraphTask& task = records.task;
  // Nobody looks this node up any more (its consumers all ran): give it back while it is in cache.
  records.give_back(rec);
  const Node& node = *rec.node;
  TensorList& outputs = result.tensors;
  for (uint32_t i = 0; i < node.next_edges.size(); ++i) {
    const Edge& e = node.next_edges[i];
    if (!e.valid()) continue;
    uint32_t to_slot = task.slot_of(e.fn.get());
    NodeTask& to = to_slot == kNoSlot ? records.add_inline(e.fn.get(), to_slot) : task.nodes[to_slot];
    if (!to.needed) continue;
    GradCell& cell = records.arrive(to_slot, to);
    cell.from_seq = node.sequence_nr();
    cell.from_edge = i;
    if (result.as_values) {
      if (result.values.defined[i]) {
        cell.value = result.values.value[i];
        cell.dtype = result.dtype;
        cell.is_value = true;
        cell.input_nr = e.input_nr;
      }
    } else if (i < outputs.size() && outputs[i].defined()) {
      cell.grad = std::move(outputs[i]);
      cell.input_nr = e.input_nr;
    }
    if (records.filled(to_slot, to)) on_ready(to_slot);
  }
  if (rec.is_inline) records.free_inline(slot, rec);
}

// ---- from parallel_walk.cpp ---------------------------------------------------------------------

// Whether to go parallel now that several nodes are ready: two heavy ones among the first ready
// (independent branches worth a second thread) and, when load-aware, a free core for a helper.
bool should_go_parallel(GraphTask& task);
// Runs the rest of the task on this thread and up to `threads` - 1 helpers of its OpenMP team.
void execute_parallel(GraphTask& task, int threads);
// What last_backward_was_parallel() reports on this thread.
void note_last_backward(const GraphTask& task);

}  // namespace cg::autograd
