#include "core/deferred_delete.h"

#include <vector>

namespace cg {

namespace {
struct Pending {
  bool draining = false;
  std::vector<std::pair<void*, void (*)(void*)>> queue;
};
thread_local Pending t_pending;
}  // namespace

void deferred_delete(void* object, void (*destroy)(void*)) noexcept {
  Pending& p = t_pending;
  if (p.draining) {
    p.queue.emplace_back(object, destroy);
    return;
  }
  p.draining = true;
  destroy(object);
  while (!p.queue.empty()) {
    auto [next, fn] = p.queue.back();
    p.queue.pop_back();
    fn(next);
  }
  p.draining = false;
}

}  // namespace cg
