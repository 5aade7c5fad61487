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
  // Integer division by zero: PyTorch raises RuntimeError("ZeroDivisionError"); this type is both
  // a RuntimeError and a ZeroDivisionError, so code written for either catches it.
  static PyObject* zero_division = [] {
    PyObject* bases = PyTuple_Pack(2, PyExc_RuntimeError, PyExc_ZeroDivisionError);
    PyObject* type = PyErr_NewException("chaingrad.ZeroDivisionError", bases, nullptr);
    Py_XDECREF(bases);
    return type;
  }();
  if (!zero_division) throw py::error_already_set();
  m.attr("ZeroDivisionError") = py::handle(zero_division);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const cg::ZeroDivisionError& e) {
      set_error(zero_division, e.what());
    } catch (const cg::IndexError& e) {
      set_error(PyExc_IndexError, e.what());
    } catch (const cg::TypeError& e) {
      set_error(PyExc_TypeError, e.what());
    } catch (const cg::ValueError& e) {
      set_error(PyExc_ValueError, e.what());
    } catch (const cg::NotImplementedError& e) {
      set_error(PyExc_NotImplementedError, e.what());
    } catch (const cg::RuntimeError& e) {
      set_error(PyExc_RuntimeError, e.what());
    }
  });
  cg::python::register_dtypes(m);
  cg::python::register_tensor(m);
  cg::python::register_functions(m);
  cg::python::register_autograd(m);
  cg::python::register_diagnostics(m);
  cg::python::register_nn_norm(m);
  cg::python::register_forward_ad(m);
  cg::python::register_nn(m);
  cg::python::install_argument_errors(m, m.attr("Tensor"));
}
