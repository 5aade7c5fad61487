// Shared pieces of the bindings: the Tensor type and its caster (a Tensor is passed as the
// Python object that owns its TensorImpl, so identity is kept), scalar/shape argument parsing,
// and a GIL release for large native work.
#pragma once
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <vector>

#include "core/tensor.h"

namespace py = pybind11;

namespace cg::python {

// The Python Tensor type is written against the CPython API (register_tensor.cpp): an object
// holding a Tensor handle, created and destroyed without pybind11's instance registry and
// holders. A TensorImpl points back at its Python object (TensorImpl::py_object) while one
// exists, so a tensor returned twice is the same Python object.
struct TensorObject {
  PyObject_HEAD
  Tensor tensor;  // undefined between Tensor.__new__ and Tensor.__init__
  PyObject* dict;
  PyObject* weakrefs;
};
PyTypeObject* tensor_type();
// The tensor held by a Tensor object (or subclass instance), or null for anything else.
inline const Tensor* tensor_of(PyObject* o) {
  if (!PyObject_TypeCheck(o, tensor_type())) return nullptr;
  const Tensor& t = reinterpret_cast<TensorObject*>(o)->tensor;
  return t.defined() ? &t : nullptr;
}
// A new reference to `t`'s Python object (made on first use); None for an undefined tensor.
PyObject* wrap_tensor(const Tensor& t);

// pybind11's class_ interface (def, def_property, def_property_readonly) for the Tensor type,
// so that methods are bound the same way as on any pybind11 class. Binary operators that have a
// native number slot keep pybind11's function as that slot's general case (see register_tensor).
class TensorClass : public py::object {
 public:
  using py::object::object;
  explicit TensorClass(py::handle type) : py::object(py::reinterpret_borrow<py::object>(type)) {}

  template <typename Func, typename... Extra>
  TensorClass& def(const char* name, Func&& f, const Extra&... extra) {
    py::cpp_function cf(std::forward<Func>(f), py::name(name), py::is_method(*this),
                        py::sibling(sibling(name)), extra...);
    add_method(name, cf);
    return *this;
  }
  template <typename Getter, typename... Extra>
  TensorClass& def_property_readonly(const char* name, Getter&& get, const Extra&... extra) {
    return add_property(name, py::cpp_function(std::forward<Getter>(get), py::is_method(*this), extra...), py::none());
  }
  template <typename Getter, typename Setter, typename... Extra>
  TensorClass& def_property(const char* name, Getter&& get, Setter&& set, const Extra&... extra) {
    return add_property(name, py::cpp_function(std::forward<Getter>(get), py::is_method(*this), extra...),
                        py::cpp_function(std::forward<Setter>(set), py::is_method(*this)));
  }

 private:
  py::object sibling(const char* name) const;  // an earlier overload of `name`, or None
  void add_method(const char* name, const py::cpp_function& f);
  TensorClass& add_property(const char* name, const py::object& get, const py::object& set);
};

}  // namespace cg::python

namespace pybind11::detail {
template <>
struct type_caster<cg::Tensor> {
 public:
  PYBIND11_TYPE_CASTER(cg::Tensor, const_name("Tensor"));
  bool load(handle src, bool) {
    const cg::Tensor* t = cg::python::tensor_of(src.ptr());
    if (!t) return false;
    value = *t;
    return true;
  }
  static handle cast(const cg::Tensor& t, return_value_policy, handle) { return cg::python::wrap_tensor(t); }
};
}  // namespace pybind11::detail

namespace cg::python {

// Native work above this many elements runs with the GIL released.
constexpr int64_t kReleaseGilAbove = 1 << 16;
struct MaybeReleaseGil {
  std::optional<py::gil_scoped_release> release;
  explicit MaybeReleaseGil(int64_t numel) {
    if (numel >= kReleaseGilAbove) release.emplace();
  }
};

// A Python object owned from C++: released under the GIL whatever thread drops it (graph nodes
// and storages may die on any thread, with or without the GIL).
struct PyOwned {
  py::object obj;
  explicit PyOwned(py::object o) : obj(std::move(o)) {}
  ~PyOwned() {
    if (!Py_IsInitialized()) {
      obj.release();  // interpreter gone: leak rather than touch it
      return;
    }
    py::gil_scoped_acquire gil;
    obj = py::object();
  }
  PyOwned(const PyOwned&) = delete;
  PyOwned& operator=(const PyOwned&) = delete;
};

bool is_tensor(py::handle h);
Scalar to_scalar(py::handle h);  // bool/int/float (and numpy scalars); TypeError otherwise
bool is_scalar(py::handle h);
DType to_dtype(py::handle h);    // a chaingrad dtype object (or Python float/int/bool types)
py::object dtype_object(DType t);
Shape to_shape(py::handle h);    // int sequence
Shape shape_from_args(const py::args& args);  // view(2, 3) or view((2, 3))
std::vector<int64_t> to_dims(py::handle h);   // int or int sequence
py::tuple shape_tuple(const Shape& s);

void register_dtypes(py::module_& m);
void register_tensor(py::module_& m);
void register_tensor_ops(py::module_& m, TensorClass& cls);
void register_functions(py::module_& m);
void register_autograd(py::module_& m);
void register_diagnostics(py::module_& m);  // anomaly mode, saved-tensor hooks, RNG state, peak memory
void register_nn(py::module_& m);  // convolution, pooling, padding, einsum
void register_interop(py::module_& m, TensorClass& cls);
void register_nn_norm(py::module_& m);  // normalization, embedding, sorting (after register_tensor)
void register_forward_ad(py::module_& m);  // dual levels, dual tensors

}  // namespace cg::python
