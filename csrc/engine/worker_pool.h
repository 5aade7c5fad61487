// The few threads that help a backward call run independent branches (engine/engine.cpp).
#pragma once
#include <functional>

namespace cg::autograd {

// Runs `job` on an idle pool thread, starting threads on demand up to `max_threads`; false (and
// `job` not run) when all of them are busy. Jobs must not wait for each other.
bool submit_to_worker_pool(std::function<void()> job, int max_threads);

}  // namespace cg::autograd
