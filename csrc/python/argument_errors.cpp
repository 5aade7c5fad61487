// pybind11's own argument errors ("incompatible function arguments", "Unable to cast Python
// instance") never reach a user. Every public binding of the module and of Tensor is wrapped once,
// at import, in a vectorcall forwarder that costs one C call; when the call fails in pybind11's
// argument handling (or a method body's cast), the forwarder raises PyTorch's TypeError instead,
// worded by chaingrad._argument_errors from the binding's signature and the arguments given.
#include <deque>
#include <string>

#include "python/bindings.h"

namespace cg::python {

namespace {

// What a wrapper knows: the wrapped binding and its name. Kept for the life of the process,
// like pybind11's own function records.
struct Wrapped {
  std::string name;
  PyMethodDef def{};
};
std::deque<Wrapped>& registry() {
  static std::deque<Wrapped> r;  // written only while the module initialises
  return r;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// Replaces the pending pybind11 argument error (or a NotImplemented result) by PyTorch's TypeError.
PyObject* reword(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames, PyObject* original) {
  PyObject* callee = PyTuple_GET_ITEM(self, 0);
  const char* name = PyUnicode_AsUTF8(PyTuple_GET_ITEM(self, 1));
  std::string message;
  if (original == nullptr) {
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    const bool type_error = PyErr_GivenExceptionMatches(type, PyExc_TypeError);
    const bool runtime_error = PyErr_GivenExceptionMatches(type, PyExc_RuntimeError);
    PyObject* text = value ? PyObject_Str(value) : nullptr;
    message = text && PyUnicode_Check(text) ? PyUnicode_AsUTF8(text) : "";
    Py_XDECREF(text);
    const bool ours = (type_error && starts_with(message, std::string(name) + "(): incompatible function arguments")) ||
                      ((type_error || runtime_error) && starts_with(message, "Unable to cast Python instance"));
    if (!ours) {
      PyErr_Restore(type, value, tb);
      return nullptr;
    }
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
  } else {
    Py_DECREF(original);
    message = "NotImplemented";
  }
  try {
    py::tuple pos(nargs);
    for (Py_ssize_t i = 0; i < nargs; ++i) pos[i] = py::reinterpret_borrow<py::object>(args[i]);
    py::dict kw;
    const Py_ssize_t nk = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t i = 0; i < nk; ++i)
      kw[PyTuple_GET_ITEM(kwnames, i)] = py::reinterpret_borrow<py::object>(args[nargs + i]);
    py::object fmt = py::module_::import("chaingrad._argument_errors").attr("describe");
    py::object doc = py::reinterpret_borrow<py::object>(callee).attr("__doc__");
    std::string text = py::str(fmt(name, doc, pos, kw, message));
    PyErr_SetString(PyExc_TypeError, text.c_str());
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_TypeError, e.what());
  }
  return nullptr;
}

PyObject* forward(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  PyObject* callee = PyTuple_GET_ITEM(self, 0);
  PyObject* r = PyObject_Vectorcall(callee, args, static_cast<size_t>(nargs), kwnames);
  if (r == nullptr || r == Py_NotImplemented) return reword(self, args, nargs, kwnames, r);
  return r;
}

// A forwarder with `fn`'s name and docstring (stub generators and help() read those).
py::object wrap(py::handle fn, const std::string& name) {
  Wrapped& w = registry().emplace_back();
  w.name = name;
  w.def.ml_name = w.name.c_str();
  w.def.ml_meth = reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&forward));
  w.def.ml_flags = METH_FASTCALL | METH_KEYWORDS;
  w.def.ml_doc = PyCFunction_Check(fn.ptr()) ? reinterpret_cast<PyCFunctionObject*>(fn.ptr())->m_ml->ml_doc : nullptr;
  py::tuple self = py::make_tuple(fn, py::str(name));
  PyObject* f = PyCFunction_NewEx(&w.def, self.ptr(), nullptr);
  if (!f) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(f);
}

}  // namespace

void install_argument_errors(py::module_& m, py::handle tensor_class) {
  // Module functions: plain pybind11 builtins.
  py::dict functions = py::reinterpret_borrow<py::dict>(m.attr("__dict__"));
  for (auto key : py::list(functions.attr("keys")())) {
    const std::string name = py::str(key);
    py::object f = functions[key];
    if (starts_with(name, "__") || !PyCFunction_Check(f.ptr())) continue;
    m.attr(name.c_str()) = wrap(f, name);
  }
  // Tensor methods: instancemethods around pybind11 builtins; property setters likewise.
  py::dict members = py::reinterpret_borrow<py::dict>(tensor_class.attr("__dict__"));
  for (auto key : py::list(members.attr("keys")())) {
    const std::string name = py::str(key);
    if (starts_with(name, "__")) continue;
    py::object value = members[key];
    PyObject* v = value.ptr();
    if (PyInstanceMethod_Check(v)) {
      PyObject* fn = PyInstanceMethod_GET_FUNCTION(v);
      if (!PyCFunction_Check(fn)) continue;
      py::object method = py::reinterpret_steal<py::object>(PyInstanceMethod_New(wrap(fn, name).ptr()));
      PyObject_SetAttrString(tensor_class.ptr(), name.c_str(), method.ptr());
    } else if (PyObject_TypeCheck(v, &PyProperty_Type)) {
      py::object prop = py::reinterpret_borrow<py::object>(v);
      py::object fset = prop.attr("fset");
      if (fset.is_none() || !PyCFunction_Check(fset.ptr())) continue;
      py::object wrapped = py::type::of(prop)(prop.attr("fget"), wrap(fset, name), prop.attr("fdel"),
                                                 prop.attr("__doc__"));
      PyObject_SetAttrString(tensor_class.ptr(), name.c_str(), wrapped.ptr());
    }
  }
}

}  // namespace cg::python
