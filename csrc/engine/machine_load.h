// Whether the machine has a core to spare for a backward helper (engine/parallel_walk.cpp).
#pragma once

namespace cg::autograd {

// True when, besides the calling thread, a whole core of the CPUs this process may use is free of
// other processes' work. Answers from a snapshot of at most a few hundred milliseconds ago.
bool free_core_now();

}  // namespace cg::autograd
