// Thread-local grad mode (the only mutable global state the engine has).
#pragma once

namespace cg::autograd {

namespace grad_mode_detail {
// In the header so that the check every op makes is a load, not a call.
inline thread_local bool t_grad_enabled = true;
inline thread_local bool t_inference = false;
}  // namespace grad_mode_detail

struct GradMode {
  static bool is_enabled() { return grad_mode_detail::t_grad_enabled; }
  static void set_enabled(bool enabled) { grad_mode_detail::t_grad_enabled = enabled; }
  static bool is_inference() { return grad_mode_detail::t_inference; }
  static void set_inference(bool inference) { grad_mode_detail::t_inference = inference; }
};

// RAII: sets grad mode for a scope and restores the previous value.
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled) : prev_(GradMode::is_enabled()) { GradMode::set_enabled(enabled); }
  ~GradModeGuard() { GradMode::set_enabled(prev_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool prev_;
};

}  // namespace cg::autograd
