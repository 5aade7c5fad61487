// The extension module chaingrad._C: one register_<area> call per bindings file.
#include "python/bindings.h"

#include "core/errors.h"

PYBIND11_MODULE(_C, m) {
  m.doc() = "chaingrad's native core: tensors, kernels, differentiable ops and the autograd engine";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const cg::IndexError& e) {
      PyErr_SetString(PyExc_IndexError, e.what());
    } catch (const cg::TypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const cg::ValueError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const cg::RuntimeError& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });
  cg::python::register_dtypes(m);
  cg::python::register_tensor(m);
  cg::python::register_functions(m);
  cg::python::register_autograd(m);
}
