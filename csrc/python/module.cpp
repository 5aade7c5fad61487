// The extension module chaingrad._C: one register_<area> call per bindings file.
#include "python/bindings.h"

#include "core/errors.h"

namespace cg::python {
void install_argument_errors(py::module_& m, py::handle tensor_class);  // argument_errors.cpp
}

namespace {
// Raises `type` with the core's message. Details after cg::kCulpritMarker become an exception note
// (PEP 678): str(e) keeps PyTorch's text, tracebacks and pytest's match= also show the culprit.
// Before Python 3.11 (no add_note) the details stay in the message.
void set_error(PyObject* type, const char* what) {
  const std::string text(what);
  const size_t pos = text.find(cg::kCulpritMarker);
  if (pos == std::string::npos) {
    PyErr_SetString(type, what);
    return;
  }
  PyObject* exc = PyObject_CallFunction(type, "s", text.substr(0, pos).c_str());
  if (exc) {
    PyObject* r = PyObject_CallMethod(exc, "add_note", "s", text.substr(pos + 1).c_str());
    if (r) {
      Py_DECREF(r);
      PyErr_SetObject(type, exc);
      Py_DECREF(exc);
      return;
    }
    Py_DECREF(exc);
  }
  PyErr_Clear();
  PyErr_SetString(type, what);
}
}  // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "chaingrad's native core: tensors, kernels, differentiable ops and the autograd engine";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const cg::IndexError& e) {
      set_error(PyExc_IndexError, e.what());
    } catch (const cg::TypeError& e) {
      set_error(PyExc_TypeError, e.what());
    } catch (const cg::ValueError& e) {
      set_error(PyExc_ValueError, e.what());
    } catch (const cg::RuntimeError& e) {
      set_error(PyExc_RuntimeError, e.what());
    }
  });
  cg::python::register_dtypes(m);
  cg::python::register_tensor(m);
  cg::python::register_functions(m);
  cg::python::register_autograd(m);
  cg::python::register_diagnostics(m);
  cg::python::install_argument_errors(m, m.attr("Tensor"));
}
