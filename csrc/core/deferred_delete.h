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

}  // namespace cg
