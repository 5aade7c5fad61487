// What the serial executor (engine.cpp) and the parallel walk (parallel_walk.cpp) share: a node's
// evaluation and delivery, lent by engine.cpp, and the switch into parallel mode.
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

// Evaluates the node at `slot`: its gradients, hooks, captures, apply (or apply_0d). The result
// is empty when the node did not run.
NodeResult evaluate(GraphTask& task, uint32_t slot, TensorList& grads);
// Moves the node's results into its consumers' cells and calls on_ready(ctx, s) for each consumer
// `s` whose last dependency this was (the caller holds task.mutex in parallel mode).
using OnReady = void (*)(void* ctx, uint32_t slot);
void deliver_each(GraphTask& task, uint32_t slot, NodeResult& result, OnReady on_ready, void* ctx);
void push_ready(GraphTask& task, uint32_t slot);

// ---- from parallel_walk.cpp ---------------------------------------------------------------------

// Two heavy nodes among the first ready ones: independent branches worth a second thread.
bool branches_ready(const GraphTask& task);
// Runs the rest of the task on this thread and up to `threads` - 1 pool threads.
void execute_parallel(GraphTask& task, int threads);
// What last_backward_was_parallel() reports on this thread.
void note_last_backward(const GraphTask& task);

}  // namespace cg::autograd
