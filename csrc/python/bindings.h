// Shared pieces of the bindings: the Tensor type caster (a Tensor is passed as the Python
// object that owns its TensorImpl, so identity is kept), scalar/shape argument parsing, and
// a GIL release for large native work.
#pragma once
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <vector>

#include "core/tensor.h"

namespace py = pybind11;

namespace pybind11::detail {
template <>
struct type_caster<cg::Tensor> {
 public:
  PYBIND11_TYPE_CASTER(cg::Tensor, const_name("Tensor"));
  bool load(handle src, bool convert) {
    copyable_holder_caster<cg::TensorImpl, std::shared_ptr<cg::TensorImpl>> holder;
    if (src.is_none() || !holder.load(src, convert)) return false;
    value = cg::Tensor(static_cast<std::shared_ptr<cg::TensorImpl>>(holder));
    return true;
  }
  static handle cast(const cg::Tensor& t, return_value_policy, handle) {
    if (!t.defined()) return none().release();
    return copyable_holder_caster<cg::TensorImpl, std::shared_ptr<cg::TensorImpl>>::cast(
        t.impl_ptr(), return_value_policy::take_ownership, handle());
  }
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
void register_tensor_ops(py::module_& m, py::class_<TensorImpl, std::shared_ptr<TensorImpl>>& cls);
void register_functions(py::module_& m);
void register_autograd(py::module_& m);
void register_diagnostics(py::module_& m);  // anomaly mode, saved-tensor hooks, RNG state, peak memory
void register_nn(py::module_& m);  // convolution, pooling, padding, einsum
void register_interop(py::module_& m, py::class_<TensorImpl, std::shared_ptr<TensorImpl>>& cls);
void register_nn_norm(py::module_& m);  // normalization, embedding, sorting (after register_tensor)
void register_forward_ad(py::module_& m);  // dual levels, dual tensors

}  // namespace cg::python
