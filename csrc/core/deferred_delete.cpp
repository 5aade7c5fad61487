#include "core/deferred_delete.h"

#include <vector>

namespace cg {

namespace {
struct Pending {
  bool draining = false;
  std::vector<std::shared_ptr<void>> queue;
};
thread_local Pending t_pending;
}  // namespace

void defer_release(std::shared_ptr<void> link) noexcept {
  if (!link) return;
  Pending& p = t_pending;
  if (p.draining) {
    p.queue.push_back(std::move(link));
    return;
  }
  p.draining = true;
  link.reset();
  while (!p.queue.empty()) {
    std::shared_ptr<void> next = std::move(p.queue.back());
    p.queue.pop_back();
    next.reset();  // may queue more links; never recurses
  }
  p.draining = false;
}

}  // namespace cg
