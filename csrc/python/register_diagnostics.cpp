// Diagnostics bindings: anomaly mode (the Python stack as each node's creation trace, warnings
// through Python's warnings module), the NaN check, saved-tensor hooks, the generator's state
// (replaying a computation for checkpointing) and the storage high-water mark.
#include <Python.h>
#include <frameobject.h>

#include "core/allocator.h"
#include "graph/anomaly.h"
#include "graph/saved_hooks.h"
#include "core/storage.h"
#include "ops/creation.h"
#include "python/bindings.h"

namespace cg::python {

using autograd::Node;

namespace {


// The current Python stack in traceback.format_stack's layout, outermost frame first, without the
// source lines (anomaly_mode._format_trace adds them when the trace is shown).
std::string python_stack() {
  if (!Py_IsInitialized()) return {};
  py::gil_scoped_acquire gil;
  std::vector<std::string> frames;
  try {
    PyFrameObject* f = PyEval_GetFrame();  // borrowed
    Py_XINCREF(f);
    while (f) {
      PyCodeObject* code = PyFrame_GetCode(f);  // new reference
      const int line = PyFrame_GetLineNumber(f);
      py::handle c(reinterpret_cast<PyObject*>(code));
      std::string file = py::str(c.attr("co_filename"));
      std::string name = py::str(c.attr("co_name"));
      Py_DECREF(code);
      frames.push_back("  File \"" + file + "\", line " + std::to_string(line) + ", in " + name + "\n");
      PyFrameObject* back = PyFrame_GetBack(f);  // new reference
      Py_DECREF(f);
      f = back;
    }
  } catch (py::error_already_set& e) {
    e.restore();
    PyErr_Clear();
  }
  std::string out;
  for (auto it = frames.rbegin(); it != frames.rend(); ++it) out += *it;
  return out;
}

void python_warning(const std::string& message) {
  if (!Py_IsInitialized()) return;
  py::gil_scoped_acquire gil;
  try {
    py::module_::import("chaingrad.autograd.anomaly_mode").attr("_warn")(message);
  } catch (py::error_already_set& e) {
    // warnings turned into errors, or the module not importable: print rather than lose it
    e.restore();
    PyErr_Clear();
    PySys_WriteStderr("Warning: %s\n", message.substr(0, 900).c_str());
  }
}

// What a Python pack hook returned; unpack() calls the unpack hook under the GIL.
struct PyPacked : autograd::PackedTensor {
  std::unique_ptr<PyOwned> packed;
  std::shared_ptr<PyOwned> unpack_hook;
  PyPacked(py::object p, std::shared_ptr<PyOwned> u) : packed(std::make_unique<PyOwned>(std::move(p))), unpack_hook(std::move(u)) {}
  Tensor unpack() const override {
    py::gil_scoped_acquire gil;
    py::object r = unpack_hook->obj(packed->obj);
    if (!is_tensor(r))
      throw TypeError(msg("Output of saved tensor unpack_hook expected to be a Tensor but got result of type ",
                          py::str(py::type::of(r).attr("__name__")).cast<std::string>()));
    return r.cast<Tensor>();
  }
};

}  // namespace

void register_diagnostics(py::module_& m) {
  autograd::set_trace_provider(&python_stack);
  autograd::set_warning_handler(&python_warning);

  // ---- anomaly mode and the NaN check ----
  m.def("_set_anomaly_enabled", &autograd::AnomalyMode::set_enabled, py::arg("enabled"), py::arg("check_nan") = true);
  m.def("_is_anomaly_enabled", &autograd::AnomalyMode::is_enabled);
  m.def("_is_anomaly_check_nan_enabled", &autograd::AnomalyMode::should_check_nan);
  m.def("_set_nan_check", &autograd::NanCheck::set_enabled, py::arg("enabled"), py::arg("check_inf") = true);
  m.def("_is_nan_check_enabled", &autograd::NanCheck::is_enabled);
  m.def("_is_nan_check_inf_enabled", &autograd::NanCheck::checks_inf);
  m.def("_node_creation_trace", [](const Node& n) { return n.creation_trace(); });
  m.def("_python_stack", &python_stack);  // tests: the trace a node would record now

  // ---- saved-tensor hooks ----
  m.def("_push_saved_tensors_hooks", [](py::object pack, py::object unpack) {
    auto p = std::make_shared<PyOwned>(std::move(pack));
    auto u = std::make_shared<PyOwned>(std::move(unpack));
    autograd::push_saved_tensors_hooks([p, u](const Tensor& t) -> std::shared_ptr<autograd::PackedTensor> {
      py::gil_scoped_acquire gil;
      py::object packed = p->obj(t);
      return std::make_shared<PyPacked>(std::move(packed), u);
    });
  });
  m.def("_pop_saved_tensors_hooks", &autograd::pop_saved_tensors_hooks);
  m.def("_saved_tensors_hooks_depth", &autograd::saved_tensors_hooks_depth);
  m.def("_saved_tensors_hooks_disable", [](const std::string& message) {
    autograd::set_saved_tensors_hooks_disabled(message);
  });
  m.def("_saved_tensors_hooks_enable", [] { autograd::set_saved_tensors_hooks_disabled(std::nullopt); });
  m.def("_saved_tensors_hooks_get_disabled_error_message", []() -> py::object {
    const auto& message = autograd::saved_tensors_hooks_disabled_message();
    return message ? py::object(py::str(*message)) : py::object(py::none());
  });

  // ---- the generator's state ----
  m.def("_get_rng_state", [] {
    std::vector<uint64_t> state = ops::get_rng_state();
    Tensor t = Tensor::empty({static_cast<int64_t>(state.size())}, DType::Int64);
    int64_t* p = t.data<int64_t>();
    for (size_t i = 0; i < state.size(); ++i) p[i] = static_cast<int64_t>(state[i]);
    return t;
  });
  m.def("_set_rng_state", [](const Tensor& t) {
    CG_CHECK_TYPE(t.dtype() == DType::Int64 && t.dim() == 1, "set_rng_state expects the 1-d int64 tensor that "
                  "get_rng_state returned, got ", dtype_name(t.dtype()), " ", shape_str(t.shape()));
    std::vector<uint64_t> state(static_cast<size_t>(t.numel()));
    for (int64_t i = 0; i < t.numel(); ++i)
      state[i] = static_cast<uint64_t>(*reinterpret_cast<const int64_t*>(t.data_bytes() + i * t.stride(0) * 8));
    ops::set_rng_state(state);
  });

  // ---- memory ----
  m.def("_storage_peak_bytes", &Storage::peak_bytes);
  m.def("_reset_storage_peak_bytes", &Storage::reset_peak_bytes);
  // The cache of large freed buffers (core/allocator.h); its bytes are not live storage bytes.
  m.def("_buffer_cache_info", [] {
    const BufferCacheStats s = buffer_cache_stats();
    py::dict d;
    d["cached_bytes"] = s.cached_bytes;
    d["cached_buffers"] = s.cached_buffers;
    d["limit_bytes"] = s.limit_bytes;
    d["hits"] = s.hits;
    d["misses"] = s.misses;
    return d;
  });
  m.def("_empty_buffer_cache", &release_buffer_cache);
  m.def("_set_buffer_cache_limit", &set_buffer_cache_limit, py::arg("bytes"));
}

}  // namespace cg::python
