// The state of one backward call, visible to nodes as the current BackwardFilter so that
// Node::should_compute_output can skip gradients no requested input needs.
#pragma once
#include <unordered_map>
#include <unordered_set>

#include "graph/backward_filter.h"
#include "graph/node.h"

namespace cg::autograd {

class GraphTask final : public BackwardFilter {
 public:
  // Empty `needed` set with filtering off means every node runs (plain backward()).
  std::unordered_set<const Node*> needed;  // nodes to execute or to capture from

  bool is_needed(const Node* fn) const override { return !filtered || needed.count(fn) > 0; }
};

}  // namespace cg::autograd
