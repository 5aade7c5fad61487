// Thread-local grad mode (the only mutable global state the engine has).
#pragma once

namespace cg::autograd {

struct GradMode {
  static bool is_enabled();
  static void set_enabled(bool enabled);
  static bool is_inference();
  static void set_inference(bool inference);
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
