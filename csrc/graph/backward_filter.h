// What a running backward call needs, as the nodes see it: Node::should_compute_output asks the
// current filter whether an input's gradient leads anywhere requested. The engine's GraphTask
// implements it and makes itself current for the call, so nodes never see the engine.
#pragma once

namespace cg::autograd {

class Node;

class BackwardFilter {
 public:
  // Off (plain backward()): every node runs and is_needed is never asked.
  bool filtered = false;
  virtual bool is_needed(const Node* fn) const = 0;

  // The filter of the backward call running on this thread (null outside backward).
  static const BackwardFilter* current();
  // RAII: makes `filter` current on this thread for a scope (re-entrant backward restores the outer one).
  class Scope {
   public:
    explicit Scope(const BackwardFilter* filter);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    const BackwardFilter* prev_;
  };

 protected:
  ~BackwardFilter() = default;
};

}  // namespace cg::autograd
