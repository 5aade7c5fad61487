#include "core/deferred_delete.h"

#include <new>
#include <vector>

namespace cg {

namespace {
thread_local std::vector<std::shared_ptr<void>> t_queue;
// Read on every release: a plain flag, without the init guard of the non-trivial `t_queue`.
// (t_draining and the one-link slot t_next_* are in the header, for its inline fast path.)
thread_local bool t_queued = false;
using deferred_detail::t_draining;
using deferred_detail::t_next_bytes;
using deferred_detail::t_next_full;

std::shared_ptr<void>* next_slot() { return std::launder(reinterpret_cast<std::shared_ptr<void>*>(t_next_bytes)); }

__attribute__((noinline)) void queue_link(std::shared_ptr<void>&& link) noexcept {
  t_queue.push_back(std::move(link));
  t_queued = true;
}

// The links queued while the outermost release ran, and those they queue in turn.
__attribute__((noinline)) void drain_queued() noexcept {
  for (;;) {
    std::shared_ptr<void> next;
    if (t_next_full) {
      std::shared_ptr<void>* slot = next_slot();
      next = std::move(*slot);
      slot->~shared_ptr();
      t_next_full = false;
    } else if (t_queued && !t_queue.empty()) {
      next = std::move(t_queue.back());
      t_queue.pop_back();
    } else {
      break;
    }
    next.reset();  // may queue more links; never recurses
  }
  t_queued = false;
}

// The outermost release: drops `link`, then every link queued meanwhile (none, when the object
// held no other last link: a small frame for that common case, the loop out of line).
__attribute__((noinline)) void drain(std::shared_ptr<void>&& link) noexcept {
  t_draining = true;
  link.reset();
  if (t_next_full || t_queued) drain_queued();
  t_draining = false;
}
}  // namespace

void defer_release(std::shared_ptr<void> link) noexcept {
  if (!link) return;
  if (!t_draining) return drain(std::move(link));
  // Inside another release: queue it for the outermost one.
  if (t_next_full) return queue_link(std::move(link));
  deferred_detail::park(std::move(link));
}

}  // namespace cg
