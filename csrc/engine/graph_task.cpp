// GraphTask's bookkeeping (graph_task.h): records, claims on nodes, and giving them back.
#include "engine/graph_task.h"

namespace cg::autograd {

uint32_t GraphTask::slot_for(Node* fn, bool& fresh) {
  fresh = false;
  if (fn->exec_owner.load(std::memory_order_relaxed) == this) return fn->exec_slot;
  // Checked before claiming: a node that was busy when first met and freed since stays in the map.
  if (!overflow_.empty()) {
    auto it = overflow_.find(fn);
    if (it != overflow_.end()) return it->second;
  }
  fresh = true;
  const auto slot = static_cast<uint32_t>(nodes.size());
  NodeTask& rec = nodes.emplace_back();
  rec.node = fn;
  const void* expected = nullptr;
  if (fn->exec_owner.compare_exchange_strong(expected, this, std::memory_order_acquire)) {
    fn->exec_slot = slot;
    rec.claimed = true;
    ++claims_;
  } else {
    overflow_.emplace(fn, slot);  // another backward call is running through this node
  }
  return slot;
}

void GraphTask::finish_counting() {
  uint32_t extra = 0;
  for (size_t s = 0; s < nodes.size(); ++s) {
    NodeTask& rec = nodes[s];
    rec.extra_cells = extra;
    if (rec.incoming > 1) extra += rec.incoming - 1;
  }
  cells.create(extra);
}

GraphTask::~GraphTask() {
  if (claims_ == 0) return;  // the usual end: every node ran and gave itself back
  for (size_t s = 0; s < nodes.size(); ++s) release_claim(*this, nodes[s]);
}

}  // namespace cg::autograd
