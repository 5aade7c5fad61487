// Exceptions the core raises; the bindings map each to the Python type of the same name.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace cg {

struct RuntimeError : std::runtime_error { using std::runtime_error::runtime_error; };
struct IndexError : std::runtime_error { using std::runtime_error::runtime_error; };
struct TypeError : std::runtime_error { using std::runtime_error::runtime_error; };
struct ValueError : std::runtime_error { using std::runtime_error::runtime_error; };
// A kernel without a case for the input's dtype: PyTorch's '"abs_cpu" not implemented for 'Bool''.
struct NotImplementedError : std::runtime_error { using std::runtime_error::runtime_error; };
// Integer division by zero. PyTorch raises RuntimeError("ZeroDivisionError"); the bindings raise a
// type deriving from both RuntimeError and Python's ZeroDivisionError, so either except clause works.
struct ZeroDivisionError : RuntimeError { using RuntimeError::RuntimeError; };

// Concatenates anything streamable: msg("got ", n, " dims").
template <typename... Args>
std::string msg(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

// Details naming the culprit (node, input, shape, dtype, versions) follow PyTorch's message after
// this marker. The bindings raise PyTorch's text as the exception message and attach the details
// as an exception note (PEP 678), so `str(e)` stays PyTorch's while tracebacks show both.
inline constexpr const char kCulpritMarker[] = "\nCulprit: ";
inline std::string with_culprit(const std::string& message, const std::string& culprit) {
  return message + kCulpritMarker + culprit;
}

#define CG_CHECK(cond, ...) \
  do { if (!(cond)) throw ::cg::RuntimeError(::cg::msg(__VA_ARGS__)); } while (0)
#define CG_CHECK_INDEX(cond, ...) \
  do { if (!(cond)) throw ::cg::IndexError(::cg::msg(__VA_ARGS__)); } while (0)
#define CG_CHECK_TYPE(cond, ...) \
  do { if (!(cond)) throw ::cg::TypeError(::cg::msg(__VA_ARGS__)); } while (0)
#define CG_CHECK_VALUE(cond, ...) \
  do { if (!(cond)) throw ::cg::ValueError(::cg::msg(__VA_ARGS__)); } while (0)
#define CG_CHECK_IMPLEMENTED(cond, ...) \
  do { if (!(cond)) throw ::cg::NotImplementedError(::cg::msg(__VA_ARGS__)); } while (0)

}  // namespace cg
