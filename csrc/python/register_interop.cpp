// Zero-copy exchange with numpy (buffer/array interface) and DLPack, both directions.
#include <pybind11/numpy.h>

#include <cstring>

#include "autograd/meta.h"
#include "kernels/elementwise.h"
#include "ops/ops.h"
#include "python/bindings.h"
#include "python/dlpack.h"

namespace cg::python {

using TensorClass = py::class_<TensorImpl, std::shared_ptr<TensorImpl>>;

namespace {

// Keeps a Python object alive from C++; drops it under the GIL (storages may die anywhere).
std::shared_ptr<void> hold_python(py::object obj) {
  return std::shared_ptr<void>(new py::object(std::move(obj)), [](void* p) {
    auto* o = static_cast<py::object*>(p);
    if (Py_IsInitialized()) {
      py::gil_scoped_acquire gil;
      delete o;
    }
  });
}

py::dtype numpy_dtype(DType t) {
  switch (t) {
    case DType::Bool: return py::dtype::of<bool>();
    case DType::Int64: return py::dtype::of<int64_t>();
    case DType::Float32: return py::dtype::of<float>();
    case DType::Float64: return py::dtype::of<double>();
  }
  throw TypeError("unsupported dtype");
}

DType from_numpy_dtype(const py::dtype& dt) {
  const char kind = dt.kind();
  const auto size = dt.itemsize();
  if (kind == 'f' && size == 4) return DType::Float32;
  if (kind == 'f' && size == 8) return DType::Float64;
  if (kind == 'i' && size == 8) return DType::Int64;
  if (kind == 'b') return DType::Bool;
  throw TypeError(msg("can't convert np.ndarray of type numpy.", std::string(py::str(dt.attr("name"))),
                      ". The only supported types are: float64, float32, int64, and bool."));
}

py::array to_numpy(const Tensor& t, bool force) {
  if (!force && autograd::requires_grad(t))
    throw RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.");
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end()), strides;
  for (int64_t s : t.strides()) strides.push_back(s * static_cast<int64_t>(t.itemsize()));
  return py::array(numpy_dtype(t.dtype()), shape, strides, t.data_bytes(), py::cast(t));
}

Tensor from_numpy(py::array arr) {
  DType dt = from_numpy_dtype(arr.dtype());
  const auto isz = static_cast<int64_t>(itemsize(dt));
  Shape shape, strides;
  for (py::ssize_t i = 0; i < arr.ndim(); ++i) {
    shape.push_back(arr.shape(i));
    CG_CHECK_VALUE(arr.strides(i) % isz == 0,
                   "given numpy array strides not a multiple of the element byte size. Copy the numpy array to reallocate the memory.");
    strides.push_back(arr.strides(i) / isz);
  }
  // The storage spans the array's whole buffer range; negative strides are allowed.
  void* data = const_cast<void*>(arr.data());
  size_t nbytes = static_cast<size_t>(arr.nbytes());
  return Tensor::from_blob(data, shape, strides, dt, hold_python(arr), nbytes);
}

// ---- DLPack ----------------------------------------------------------------------------------
struct DLPackOwner {
  Tensor tensor;  // keeps storage alive while the consumer uses it
  std::vector<int64_t> shape, strides;
  DLManagedTensor managed{};
};

void dlpack_deleter(DLManagedTensor* self) {
  auto* owner = static_cast<DLPackOwner*>(self->manager_ctx);
  delete owner;
}

py::capsule to_dlpack(const Tensor& t) {
  auto* owner = new DLPackOwner{t, t.shape(), t.strides(), {}};
  DLTensor& dl = owner->managed.dl_tensor;
  dl.data = t.data_bytes();
  dl.device = {kDLCPU, 0};
  dl.ndim = static_cast<int32_t>(t.dim());
  switch (t.dtype()) {
    case DType::Bool: dl.dtype = {kDLBool, 8, 1}; break;
    case DType::Int64: dl.dtype = {kDLInt, 64, 1}; break;
    case DType::Float32: dl.dtype = {kDLFloat, 32, 1}; break;
    case DType::Float64: dl.dtype = {kDLFloat, 64, 1}; break;
  }
  dl.shape = owner->shape.data();
  dl.strides = owner->strides.data();
  dl.byte_offset = 0;
  owner->managed.manager_ctx = owner;
  owner->managed.deleter = dlpack_deleter;
  // A capsule nobody consumed still frees the tensor; a consumed one was renamed "used_dltensor".
  return py::capsule(&owner->managed, "dltensor", [](PyObject* cap) {
    if (PyCapsule_IsValid(cap, "dltensor")) {
      auto* m = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(cap, "dltensor"));
      if (m && m->deleter) m->deleter(m);
    }
  });
}

Tensor from_dlpack_capsule(py::capsule cap) {
  CG_CHECK_TYPE(PyCapsule_IsValid(cap.ptr(), "dltensor"), "from_dlpack: expected an unconsumed 'dltensor' capsule");
  auto* m = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(cap.ptr(), "dltensor"));
  const DLTensor& dl = m->dl_tensor;
  CG_CHECK_TYPE(dl.device.device_type == kDLCPU, "from_dlpack: only CPU tensors are supported");
  CG_CHECK_TYPE(dl.dtype.lanes == 1, "from_dlpack: vector dtypes are not supported");
  DType dt;
  if (dl.dtype.code == kDLFloat && dl.dtype.bits == 32) dt = DType::Float32;
  else if (dl.dtype.code == kDLFloat && dl.dtype.bits == 64) dt = DType::Float64;
  else if (dl.dtype.code == kDLInt && dl.dtype.bits == 64) dt = DType::Int64;
  else if (dl.dtype.code == kDLBool || (dl.dtype.code == kDLUInt && dl.dtype.bits == 8 && false)) dt = DType::Bool;
  else throw TypeError(msg("from_dlpack: unsupported dtype (code ", int(dl.dtype.code), ", bits ", int(dl.dtype.bits), ")"));
  Shape shape(dl.shape, dl.shape + dl.ndim);
  Shape strides = dl.strides ? Shape(dl.strides, dl.strides + dl.ndim) : contiguous_strides(shape);
  int64_t lo = 0, hi = 0;
  for (int32_t i = 0; i < dl.ndim; ++i) {
    if (shape[i] == 0) { lo = hi = 0; break; }
    (strides[i] < 0 ? lo : hi) += strides[i] * (shape[i] - 1);
  }
  PyCapsule_SetName(cap.ptr(), "used_dltensor");
  std::shared_ptr<void> owner(m, [](void* p) {
    auto* mt = static_cast<DLManagedTensor*>(p);
    if (mt->deleter) mt->deleter(mt);
  });
  char* data = static_cast<char*>(dl.data) + dl.byte_offset;
  size_t nbytes = static_cast<size_t>((hi - lo + 1) * static_cast<int64_t>(itemsize(dt)));
  return Tensor::from_blob(data, shape, strides, dt, owner, nbytes);
}

}  // namespace

void register_interop(py::module_& m, TensorClass& cls) {
  cls.def("numpy", [](const Tensor& t, bool force) { return to_numpy(t, force); }, py::kw_only(),
          py::arg("force") = false)
      .def("__array__", [](const Tensor& t, py::object dtype, py::object copy) {
             py::array a = to_numpy(autograd::detach(t), true);
             if (!dtype.is_none()) return py::array(a.attr("astype")(dtype));
             return a;
           }, py::arg("dtype") = py::none(), py::arg("copy") = py::none())
      .def("__dlpack__", [](const Tensor& t, py::kwargs) {
        CG_CHECK(!autograd::requires_grad(t), "Can't export tensors that require gradient, use tensor.detach()");
        return to_dlpack(t);
      })
      .def("__dlpack_device__", [](const Tensor&) { return py::make_tuple(int(kDLCPU), 0); })
      .def("item", [](const Tensor& t) -> py::object {
        CG_CHECK(t.numel() == 1, "a Tensor with ", t.numel(), " elements cannot be converted to Scalar");
        if (t.dtype() == DType::Bool) return py::bool_(t.item_int() != 0);
        if (t.dtype() == DType::Int64) return py::int_(t.item_int());
        return py::float_(t.item_double());
      })
      .def("tolist", [](const Tensor& t) { return to_numpy(autograd::detach(t), true).attr("tolist")(); });
  m.def("from_numpy", &from_numpy, py::arg("ndarray"));
  m.def("_from_dlpack_capsule", &from_dlpack_capsule);
  m.def("_tensor_from_numpy_copy", [](py::array arr, py::object dtype) {
    // A new tensor owning a copy of `arr` (converted to `dtype` when given).
    DType dt = dtype.is_none() ? from_numpy_dtype(arr.dtype()) : to_dtype(dtype);
    py::array src = py::array(arr.attr("astype")(numpy_dtype(dt), py::arg("copy") = false));
    Shape shape(src.shape(), src.shape() + src.ndim());
    Tensor out = Tensor::empty(shape, dt);
    Tensor view = from_numpy(src);
    kernels::copy(out, view);
    return out;
  });
}

}  // namespace cg::python
