// Iterative destruction of linked structures. Destroying the head of a million-node graph
// would otherwise recurse a million frames deep (node -> edge -> node ...). Objects that hold
// links to further nodes hand them to defer_release instead of dropping them: a release that
// happens while another is in progress is queued and run by the outermost one, so the stack
// depth stays constant whatever the graph's length.
#pragma once
#include <memory>

namespace cg {

// Drops `link` now, or (when called during another deferred release) queues it.
void defer_release(std::shared_ptr<void> link) noexcept;

// The same for a typed link; a link that is not the last owner is dropped on the spot (nothing
// is destroyed by dropping it). A concurrent release elsewhere can make it the last after all:
// its object's destructor then starts a deferred release of its own, still without recursion.
template <typename T>
inline void defer_release(std::shared_ptr<T>&& link) noexcept {
  if (!link) return;
  if (link.use_count() > 1) {
    link.reset();
    return;
  }
  defer_release(std::shared_ptr<void>(std::move(link)));
}

}  // namespace cg
