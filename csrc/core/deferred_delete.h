// Iterative destruction of linked structures. Destroying the head of a million-node graph
// would otherwise recurse a million frames deep (node -> edge -> node ...). Objects that hold
// links to further nodes hand them to defer_release instead of dropping them: a release that
// happens while another is in progress is queued and run by the outermost one, so the stack
// depth stays constant whatever the graph's length.
#pragma once
#include <memory>
#include <new>

namespace cg {

namespace deferred_detail {
// Set while a deferred release drains (deferred_delete.cpp).
inline thread_local bool t_draining = false;
// A chain (each node's one unique link is the next node) queues one link at a time: it waits
// here, in raw thread-local bytes (no init guard, no call, no vector push and pop). Only ever
// full while a release drains, so empty at thread exit.
inline thread_local bool t_next_full = false;
alignas(std::shared_ptr<void>) inline thread_local unsigned char t_next_bytes[sizeof(std::shared_ptr<void>)];
// Puts `link` in the empty slot.
inline void park(std::shared_ptr<void>&& link) noexcept {
  new (t_next_bytes) std::shared_ptr<void>(std::move(link));
  t_next_full = true;
}
}  // namespace deferred_detail

// Drops `link` now, or (when called during another deferred release) queues it.
void defer_release(std::shared_ptr<void> link) noexcept;

// The same for a typed link; a link that is not the last owner is dropped on the spot (nothing
// is destroyed by dropping it). A concurrent release elsewhere can make it the last after all:
// its object's destructor then starts a deferred release of its own, still without recursion.
template <typename T>
__attribute__((always_inline)) inline void defer_release(std::shared_ptr<T>&& link) noexcept {
  if (!link) return;
  if (link.use_count() > 1) {
    link.reset();
    return;
  }
  using namespace deferred_detail;
  if (t_draining && !t_next_full) return park(std::move(link));  // a draining chain's link, inline
  defer_release(std::shared_ptr<void>(std::move(link)));
}

}  // namespace cg
