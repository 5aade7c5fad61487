// The backward executor: dependency counting from the roots, a ready queue ordered by creation
// (latest first), per-node input buffers, leaf accumulation and capture for autograd.grad.
#pragma once
#include <cstdint>
#include <optional>

#include "graph/node.h"

namespace cg::autograd {

struct BackwardOptions {
  bool keep_graph = false;
  bool create_graph = false;
  // autograd.grad: return the gradients of `inputs` instead of accumulating into .grad.
  bool accumulate_grad = true;
  bool allow_unused = false;
  bool materialize_grads = false;
};

// roots[i] gets gradient grad_roots[i] (undefined: ones for a one-element root). With `inputs`
// non-empty only their gradients are computed: returned (grad) or accumulated (backward).
TensorList run_backward(const TensorList& roots, const TensorList& grad_roots, const TensorList& inputs,
                        const BackwardOptions& options);

// Threads one backward call may use for independent branches: CHAINGRAD_BACKWARD_THREADS, or
// set_backward_threads(n) (0: follow set_num_threads, the default). Graphs without two nodes of
// at least parallel_min_node_work() gradient elements (and create_graph / anomaly mode) run serially.
int backward_threads();
void set_backward_threads(int n);
int64_t parallel_min_node_work();
void set_parallel_min_node_work(int64_t elements);
// Load-aware (the default): a call that follows set_num_threads (no explicit backward thread count)
// stays serial when the machine has no free core for a helper at the moment it could go parallel.
bool backward_load_aware();
void set_backward_load_aware(bool on);
// Whether the last backward call this thread finished went parallel (two heavy nodes were ready at
// once), whether or not a pool thread joined in time: for tests and benchmarks.
bool last_backward_was_parallel();

}  // namespace cg::autograd
