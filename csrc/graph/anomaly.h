// Anomaly detection and the NaN check: where a bad gradient comes from.
//
// Anomaly mode (PyTorch's detect_anomaly / set_detect_anomaly): every node created while it is on
// records the stack of the forward call that created it (Node::creation_trace); when the
// evaluation of a node in backward fails, that stack is shown as a warning before the error
// propagates; with check_nan, a node whose backward returns NaN fails with PyTorch's message
// "Function 'MulBackward0' returned nan values in its 0th output.". Like PyTorch, the mode is
// process-wide and only NaN (not inf) is an anomaly.
//
// The NaN check is the cheap part alone: no stacks are recorded, every node's gradients are checked
// for NaN and, unless turned off, for inf ("... returned inf values in its 0th output.").
//
// The core has no Python: the bindings install a trace provider (the Python stack as text) and a
// warning handler (Python's warnings.warn); without them traces are empty and warnings go to stderr.
#pragma once
#include <functional>
#include <string>

#include "graph/node.h"

namespace cg::autograd {

struct AnomalyMode {
  static bool is_enabled();
  static bool should_check_nan();
  static void set_enabled(bool enabled, bool check_nan = true);
};

struct NanCheck {
  static bool is_enabled();
  static bool checks_inf();
  static void set_enabled(bool enabled, bool check_inf = true);
};

// Returns the stack of the current (Python) call, outermost frame first, in traceback format.
using TraceProvider = std::function<std::string()>;
void set_trace_provider(TraceProvider provider);
// Shows `message` to the user as a warning.
using WarningHandler = std::function<void(const std::string& message)>;
void set_warning_handler(WarningHandler handler);
void anomaly_warn(const std::string& message);

// Node's constructor in anomaly mode: the current stack, followed, for a node created while
// another node's backward runs (double backward), by that node's name and creation stack.
std::string capture_creation_trace();

// RAII around the evaluation of one node in the engine. In anomaly mode it makes the node the
// parent of nodes created meanwhile and, when the evaluation throws, warns "Error detected in
// <name>. Traceback of forward call that caused the error: ..." with the node's creation stack.
class AnomalyNodeGuard {
 public:
  explicit AnomalyNodeGuard(const Node& node);
  ~AnomalyNodeGuard();
  AnomalyNodeGuard(const AnomalyNodeGuard&) = delete;
  AnomalyNodeGuard& operator=(const AnomalyNodeGuard&) = delete;

 private:
  const Node* node_ = nullptr;
  const Node* prev_parent_ = nullptr;
  int uncaught_ = 0;
};

// After a node ran: with anomaly mode's check_nan or the NaN check on, throws RuntimeError when
// one of its gradients has NaN (or inf, NaN check only). A no-op when both are off.
void check_node_outputs(const Node& node, const TensorList& outputs);

}  // namespace cg::autograd
