#include "core/deferred_delete.h"

#include <vector>

namespace cg {

namespace {
thread_local std::vector<std::shared_ptr<void>> t_queue;
// Read on every release: plain flags, without the init guard of the non-trivial `t_queue`.
thread_local bool t_draining = false;
thread_local bool t_queued = false;
}  // namespace

void defer_release(std::shared_ptr<void> link) noexcept {
  if (!link) return;
  if (t_draining) {  // inside another release: queue it for the outermost one
    t_queue.push_back(std::move(link));
    t_queued = true;
    return;
  }
  t_draining = true;
  link.reset();
  if (t_queued) {
    std::vector<std::shared_ptr<void>>& queue = t_queue;
    while (!queue.empty()) {
      std::shared_ptr<void> next = std::move(queue.back());
      queue.pop_back();
      next.reset();  // may queue more links; never recurses
    }
    t_queued = false;
  }
  t_draining = false;
}

}  // namespace cg
