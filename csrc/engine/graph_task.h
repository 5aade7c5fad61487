// The state of one backward call, visible to nodes through GraphTask::current() so that
// Node::should_compute_output can skip gradients no requested input needs.
#pragma once
#include <unordered_map>
#include <unordered_set>

#include "graph/node.h"

namespace cg::autograd {

class GraphTask {
 public:
  // Empty `needed` set with filtering off means every node runs (plain backward()).
  bool filtered = false;
  std::unordered_set<const Node*> needed;  // nodes to execute or to capture from

  bool is_needed(const Node* fn) const { return !filtered || needed.count(fn) > 0; }

  static const GraphTask* current();
  // RAII: makes `task` current on this thread for a scope (re-entrant backward restores the outer one).
  class Scope {
   public:
    explicit Scope(const GraphTask* task);
    ~Scope();

   private:
    const GraphTask* prev_;
  };
};

}  // namespace cg::autograd
