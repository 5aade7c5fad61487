// Zero-copy exchange with numpy (buffer/array interface) and DLPack, both directions.
#include <pybind11/numpy.h>

#include <cstring>

#include "graph/meta.h"
#include "kernels/elementwise.h"
#include "ops/ops.h"
#include "python/bindings.h"
#include "python/dlpack.h"

namespace cg::python {


namespace {

// Keeps a Python object alive from C++ as a storage's owner.
std::shared_ptr<void> hold_python(py::object obj) { return std::make_shared<PyOwned>(std::move(obj)); }

py::dtype numpy_dtype(DType t) {
  // numpy has no bfloat16: PyTorch refuses it with this TypeError too.
  if (t == DType::BFloat16) throw TypeError("Got unsupported ScalarType BFloat16");
  return py::dtype(dtype_name(t));  // numpy's names are chaingrad's for all other dtypes
}

DType from_numpy_dtype(const py::dtype& dt) {
  const char kind = dt.kind();
  const auto size = dt.itemsize();
  if (kind == 'b') return DType::Bool;
  if (kind == 'f' && size == 2) return DType::Float16;
  if (kind == 'f' && size == 4) return DType::Float32;
  if (kind == 'f' && size == 8) return DType::Float64;
  if (kind == 'u' && size == 1) return DType::UInt8;
  if (kind == 'i' && size == 1) return DType::Int8;
  if (kind == 'i' && size == 2) return DType::Int16;
  if (kind == 'i' && size == 4) return DType::Int32;
  if (kind == 'i' && size == 8) return DType::Int64;
  throw TypeError(msg("can't convert np.ndarray of type numpy.", std::string(py::str(dt.attr("type").attr("__name__"))),
                      ". The only supported types are: float64, float32, float16, int64, int32, int16, int8, uint8, "
                      "and bool."));
}

py::array to_numpy(const Tensor& t, bool force) {
  if (!force && autograd::requires_grad(t))
    throw RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.");
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end()), strides;
  for (int64_t s : t.strides()) strides.push_back(s * static_cast<int64_t>(t.itemsize()));
  py::array a(numpy_dtype(t.dtype()), shape, strides, t.data_bytes(), py::cast(t));
  if (t.storage()->read_only()) a.attr("flags").attr("writeable") = false;  // lent read-only: stays so
  return a;
}

// Values for Python (tolist, repr): a numpy view, or a float32 copy for bfloat16 (no numpy dtype).
py::array values_array(const Tensor& t) {
  if (t.dtype() != DType::BFloat16) return to_numpy(t, true);
  Tensor f = Tensor::empty(t.shape(), DType::Float32);
  kernels::copy(f, t);
  return to_numpy(f, true);
}

Tensor from_numpy_view(py::array arr, bool mark_read_only) {
  DType dt = from_numpy_dtype(arr.dtype());
  const char order = py::str(arr.dtype().attr("byteorder")).cast<std::string>()[0];
  // '>' on this little-endian machine (or '<' on a big-endian one): the bytes would read as garbage.
  constexpr char kForeign = (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) ? '>' : '<';
  CG_CHECK_VALUE(order != kForeign, "given numpy array has byte order different from the native byte order. "
                                    "Conversion between byte orders is currently not supported.");
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
  Tensor t = Tensor::from_blob(data, shape, strides, dt, hold_python(arr), nbytes);
  if (mark_read_only && !arr.writeable()) {
    // PyTorch's warning (once per process), then chaingrad refuses in-place writes to the memory.
    static bool warned = false;
    if (!warned) {
      warned = true;
      PyErr_WarnEx(PyExc_UserWarning,
                   "The given NumPy array is not writable, and PyTorch does not support non-writable tensors. This "
                   "means writing to this tensor will result in undefined behavior. You may want to copy the array to "
                   "protect its data or make it writable before converting it to a tensor. This type of warning will "
                   "be suppressed for the rest of this program.", 1);
    }
    t.storage()->set_read_only(true);
  }
  return t;
}

Tensor from_numpy(py::array arr) { return from_numpy_view(arr, true); }

// ---- DLPack ----------------------------------------------------------------------------------
// DLPack 1.x adds a versioned capsule ("dltensor_versioned") with flags; consumers such as
// numpy only hand out a *writable* array for it (a legacy capsule gives a read-only one).
struct DLPackVersion {
  uint32_t major;
  uint32_t minor;
};
struct DLManagedTensorVersioned {
  DLPackVersion version;
  void* manager_ctx;
  void (*deleter)(DLManagedTensorVersioned* self);
  uint64_t flags;
  DLTensor dl_tensor;
};
constexpr uint64_t kDLPackFlagReadOnly = 1ULL << 0;
constexpr uint32_t kDLPackMajor = 1, kDLPackMinor = 0;

struct DLPackOwner {
  Tensor tensor;  // keeps storage alive while the consumer uses it
  std::vector<int64_t> shape, strides;
  DLManagedTensor managed{};
  DLManagedTensorVersioned versioned{};
};

void fill_dltensor(DLTensor& dl, DLPackOwner* owner) {
  const Tensor& t = owner->tensor;
  dl.data = t.data_bytes();
  dl.device = {kDLCPU, 0};
  dl.ndim = static_cast<int32_t>(t.dim());
  const auto bits = static_cast<uint8_t>(8 * t.itemsize());
  const DType d = t.dtype();
  const uint8_t code = d == DType::Bool ? kDLBool : d == DType::BFloat16 ? kDLBfloat : is_floating(d) ? kDLFloat
                       : d == DType::UInt8 ? kDLUInt : kDLInt;
  dl.dtype = {code, bits, 1};
  dl.shape = owner->shape.data();
  dl.strides = owner->strides.data();
  dl.byte_offset = 0;
}

py::capsule to_dlpack(const Tensor& t, bool versioned) {
  auto* owner = new DLPackOwner{t, t.shape(), t.strides(), {}, {}};
  if (versioned) {
    DLManagedTensorVersioned& m = owner->versioned;
    m.version = {kDLPackMajor, kDLPackMinor};
    m.manager_ctx = owner;
    m.deleter = [](DLManagedTensorVersioned* self) { delete static_cast<DLPackOwner*>(self->manager_ctx); };
    m.flags = 0;  // writable, not a copy
    fill_dltensor(m.dl_tensor, owner);
    // A capsule nobody consumed still frees the tensor; a consumed one was renamed "used_...".
    return py::capsule(&m, "dltensor_versioned", [](PyObject* cap) {
      if (PyCapsule_IsValid(cap, "dltensor_versioned")) {
        auto* mv = static_cast<DLManagedTensorVersioned*>(PyCapsule_GetPointer(cap, "dltensor_versioned"));
        if (mv && mv->deleter) mv->deleter(mv);
      }
    });
  }
  DLManagedTensor& m = owner->managed;
  m.manager_ctx = owner;
  m.deleter = [](DLManagedTensor* self) { delete static_cast<DLPackOwner*>(self->manager_ctx); };
  fill_dltensor(m.dl_tensor, owner);
  return py::capsule(&m, "dltensor", [](PyObject* cap) {
    if (PyCapsule_IsValid(cap, "dltensor")) {
      auto* ml = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(cap, "dltensor"));
      if (ml && ml->deleter) ml->deleter(ml);
    }
  });
}

DType dtype_from_dl(const DLDataType& t) {
  CG_CHECK_TYPE(t.lanes == 1, "from_dlpack: vector dtypes are not supported");
  for (DType d : kAllDTypes) {
    const uint8_t code = d == DType::Bool ? kDLBool : d == DType::BFloat16 ? kDLBfloat : is_floating(d) ? kDLFloat
                         : d == DType::UInt8 ? kDLUInt : kDLInt;
    if (t.code == code && t.bits == 8 * itemsize(d)) return d;
  }
  throw TypeError(msg("from_dlpack: unsupported dtype (code ", int(t.code), ", bits ", int(t.bits), ")"));
}

// Takes ownership of a (legacy or versioned) capsule's tensor and wraps its memory, no copy.
Tensor from_dlpack_capsule(py::capsule cap) {
  const bool versioned = PyCapsule_IsValid(cap.ptr(), "dltensor_versioned");
  CG_CHECK_TYPE(versioned || PyCapsule_IsValid(cap.ptr(), "dltensor"),
                "from_dlpack: expected an unconsumed 'dltensor' or 'dltensor_versioned' capsule");
  void* raw = PyCapsule_GetPointer(cap.ptr(), versioned ? "dltensor_versioned" : "dltensor");
  CG_CHECK_TYPE(raw != nullptr, "from_dlpack: the capsule holds no tensor");
  const DLTensor* dlp = nullptr;
  bool read_only = false;
  if (versioned) {
    auto* mv = static_cast<DLManagedTensorVersioned*>(raw);
    CG_CHECK_TYPE(mv->version.major == kDLPackMajor, "from_dlpack: unsupported DLPack version ",
                  mv->version.major, ".", mv->version.minor, " (chaingrad reads 1.x)");
    dlp = &mv->dl_tensor;
    read_only = (mv->flags & kDLPackFlagReadOnly) != 0;
  } else {
    dlp = &static_cast<DLManagedTensor*>(raw)->dl_tensor;
  }
  const DLTensor& dl = *dlp;
  CG_CHECK_TYPE(dl.device.device_type == kDLCPU, "from_dlpack: only CPU tensors are supported");
  const DType dt = dtype_from_dl(dl.dtype);
  CG_CHECK_VALUE(dl.ndim >= 0 && (dl.ndim == 0 || dl.shape), "from_dlpack: invalid tensor dimensions");
  Shape shape(dl.shape, dl.shape + dl.ndim);
  for (int64_t s : shape) CG_CHECK_VALUE(s >= 0, "from_dlpack: negative size in shape ", shape_str(shape));
  Shape strides = dl.strides ? Shape(dl.strides, dl.strides + dl.ndim) : contiguous_strides(shape);
  int64_t lo = 0, hi = 0;
  for (int32_t i = 0; i < dl.ndim; ++i) {
    if (shape[i] == 0) { lo = hi = 0; break; }
    (strides[i] < 0 ? lo : hi) += strides[i] * (shape[i] - 1);
  }
  char* data = static_cast<char*>(dl.data) + dl.byte_offset;
  size_t nbytes = static_cast<size_t>((hi - lo + 1) * static_cast<int64_t>(itemsize(dt)));
  // Mark the capsule consumed only once nothing can throw: from here we own the tensor.
  PyCapsule_SetName(cap.ptr(), versioned ? "used_dltensor_versioned" : "used_dltensor");
  std::shared_ptr<void> owner;
  if (versioned) {
    owner = std::shared_ptr<void>(raw, [](void* p) {
      auto* mt = static_cast<DLManagedTensorVersioned*>(p);
      if (mt->deleter) mt->deleter(mt);
    });
  } else {
    owner = std::shared_ptr<void>(raw, [](void* p) {
      auto* mt = static_cast<DLManagedTensor*>(p);
      if (mt->deleter) mt->deleter(mt);
    });
  }
  Tensor t = Tensor::from_blob(data, shape, strides, dt, owner, nbytes);
  // chaingrad has no read-only tensors: a producer that forbids writes gets a private copy.
  if (read_only) return ops::clone(t);
  return t;
}

}  // namespace

void register_interop(py::module_& m, TensorClass& cls) {
  cls.def("numpy", [](const Tensor& t, bool force) { return to_numpy(t, force); }, py::kw_only(),
          py::arg("force") = false)
      // numpy's protocol: a view of the tensor's memory (like numpy(), so a tensor that requires
      // grad is refused as in PyTorch); copy=True asks for a private copy, copy=False forbids one.
      .def("__array__", [](const Tensor& t, py::object dtype, py::object copy) {
             py::array a = to_numpy(t, false);
             const bool must_copy = !copy.is_none() && copy.cast<bool>();
             const bool no_copy = !copy.is_none() && !copy.cast<bool>();
             if (!dtype.is_none()) {
               py::object want = py::module_::import("numpy").attr("dtype")(dtype);
               if (!want.equal(a.attr("dtype"))) {
                 if (no_copy)
                   throw ValueError("Unable to avoid copy while creating an array as requested (dtype " +
                                    std::string(py::str(want)) + " differs from the tensor's).");
                 return py::array(a.attr("astype")(want));
               }
             }
             if (must_copy) return py::array(a.attr("copy")());
             return a;
           }, py::arg("dtype") = py::none(), py::arg("copy") = py::none())
      // The array-API signature: a versioned capsule when the consumer accepts DLPack >= 1.0.
      .def("__dlpack__", [](const Tensor& t, py::handle stream, py::handle max_version, py::handle dl_device,
                            py::handle copy) {
             CG_CHECK(!autograd::requires_grad(t), "Can't export tensors that require gradient, use tensor.detach()");
             if (!dl_device.is_none()) {
               auto dev = dl_device.cast<std::pair<int, int>>();
               if (dev.first != kDLCPU)
                 throw py::buffer_error("chaingrad tensors live on the CPU; cannot export to device type " +
                                        std::to_string(dev.first));
             }
             bool versioned = false;
             if (!max_version.is_none()) {
               auto v = max_version.cast<std::pair<int, int>>();
               versioned = v.first >= static_cast<int>(kDLPackMajor);
             }
             Tensor src = t;
             if (!copy.is_none() && copy.cast<bool>()) src = ops::clone(autograd::detach(t));
             return to_dlpack(src, versioned);
           }, py::kw_only(), py::arg("stream") = py::none(), py::arg("max_version") = py::none(),
           py::arg("dl_device") = py::none(), py::arg("copy") = py::none())
      .def("__dlpack_device__", [](const Tensor&) { return py::make_tuple(int(kDLCPU), 0); })
      .def("item", [](const Tensor& t) -> py::object {
        const Scalar s = t.item();
        if (s.kind() == ScalarKind::Bool) return py::bool_(s.to_int() != 0);
        if (s.kind() == ScalarKind::Int) return py::int_(s.to_int());
        return py::float_(s.to_double());
      })
      .def("tolist", [](const Tensor& t) { return values_array(autograd::detach(t)).attr("tolist")(); })
      .def("_values_array", [](const Tensor& t) { return values_array(autograd::detach(t)); });
  m.def("from_numpy", &from_numpy, py::arg("ndarray"));
  m.def("_from_dlpack_capsule", &from_dlpack_capsule);
  m.def("_tensor_from_numpy_copy", [](py::array arr, py::object dtype) {
    // A new tensor owning a copy of `arr`, converted by the conversion kernel to `dtype` when given
    // (so bfloat16, which numpy lacks, and every rounding are the kernel's).
    if (arr.dtype().kind() == 'u' && arr.dtype().itemsize() > 1)  // uint16..uint64: no chaingrad dtype
      arr = py::array(arr.attr("astype")("int64"));
    Tensor view = from_numpy_view(arr, false);
    DType dt = dtype.is_none() ? view.dtype() : to_dtype(dtype);
    Tensor out = Tensor::empty(view.shape(), dt);
    kernels::copy(out, view);
    return out;
  });
}

}  // namespace cg::python
