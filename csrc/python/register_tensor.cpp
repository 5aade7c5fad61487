// The Tensor class: properties, autograd state and argument parsing helpers.
#include <pybind11/numpy.h>
#include <structmember.h>

#include <algorithm>
#include <cstring>

#include "graph/meta.h"
#include "ops/ops.h"
#include "python/bindings.h"

namespace cg::python {

// ---- GIL safety --------------------------------------------------------------------------------
namespace {
// The parsing helpers below touch Python objects, so they must hold the GIL. Some bindings call
// them after MaybeReleaseGil has dropped it (x.add_(1) or x.sum(0) on a large x); rather than
// crash in the interpreter they take the GIL back for the duration of the call.
struct EnsureGil {
  std::optional<py::gil_scoped_acquire> gil;
  EnsureGil() {
    if (!PyGILState_Check()) gil.emplace();
  }
};
}  // namespace

// ---- dtypes ----------------------------------------------------------------------------------
namespace {
struct DTypeObject {
  DType type;
};
PyObject* g_dtype_objects[kNumDTypes] = {};  // interned singletons
}  // namespace

py::object dtype_object(DType t) { return py::reinterpret_borrow<py::object>(g_dtype_objects[static_cast<int>(t)]); }

DType to_dtype(py::handle h) {
  EnsureGil gil;
  if (py::isinstance<DTypeObject>(h)) return h.cast<const DTypeObject&>().type;
  if (h.ptr() == reinterpret_cast<PyObject*>(&PyFloat_Type)) return DType::Float64;
  if (h.ptr() == reinterpret_cast<PyObject*>(&PyLong_Type)) return DType::Int64;
  if (h.ptr() == reinterpret_cast<PyObject*>(&PyBool_Type)) return DType::Bool;
  // numpy dtypes and type objects (np.float32, np.dtype('int64')); not strings ("float"), which
  // PyTorch rejects too.
  if (py::isinstance<py::str>(h) || py::isinstance<py::bytes>(h))
    throw TypeError(msg("expected a chaingrad dtype (such as chaingrad.float32), got ", std::string(py::repr(h))));
  try {
    std::string name = py::str(py::module_::import("numpy").attr("dtype")(h).attr("name"));
    for (DType t : kAllDTypes)
      if (name == dtype_name(t) && t != DType::BFloat16) return t;
  } catch (const py::error_already_set&) {
  }
  throw TypeError(msg("expected a chaingrad dtype (such as chaingrad.float32), got ", std::string(py::repr(h))));
}

void register_dtypes(py::module_& m) {
  py::class_<DTypeObject>(m, "dtype")
      .def("__repr__", [](const DTypeObject& d) { return std::string("chaingrad.") + dtype_name(d.type); })
      .def_property_readonly("is_floating_point", [](const DTypeObject& d) { return is_floating(d.type); })
      .def_property_readonly("is_complex", [](const DTypeObject&) { return false; })
      .def_property_readonly("is_signed", [](const DTypeObject& d) {
        return d.type != DType::Bool && d.type != DType::UInt8;
      })
      .def_property_readonly("itemsize", [](const DTypeObject& d) { return itemsize(d.type); })
      .def("to_real", [](const DTypeObject& d) { return dtype_object(d.type); })
      .def("__reduce__", [](const DTypeObject& d) { return std::string(dtype_name(d.type)); });
  for (DType t : kAllDTypes) {
    py::object o = py::cast(DTypeObject{t});
    g_dtype_objects[static_cast<int>(t)] = o.release().ptr();  // interned for the process lifetime
    m.attr(dtype_name(t)) = dtype_object(t);
  }
}

// ---- argument parsing ------------------------------------------------------------------------
namespace {
// An integer argument (a size or a dim): anything with __index__ (ints, numpy ints, one-element
// integer tensors) but not floats, strings or bools-as-floats; TypeError naming the culprit.
int64_t to_index_int(py::handle item, const char* what) {
  if (PyLong_Check(item.ptr()) && !PyBool_Check(item.ptr())) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(item.ptr(), &overflow);
    if (overflow != 0) throw RuntimeError(msg("Overflow when unpacking long: ", what, " out of int64 range"));
    return v;
  }
  if (PyFloat_Check(item.ptr()) || !py::hasattr(item, "__index__"))
    throw TypeError(msg("expected an integer ", what, ", but got ",
                        std::string(py::str(py::type::handle_of(item).attr("__name__")))));
  py::object v = py::reinterpret_steal<py::object>(PyNumber_Index(item.ptr()));
  if (!v) throw py::error_already_set();
  return to_index_int(v, what);
}
}  // namespace

bool is_tensor(py::handle h) { return tensor_of(h.ptr()) != nullptr; }

bool is_scalar(py::handle h) {
  EnsureGil gil;
  if (PyBool_Check(h.ptr()) || PyLong_Check(h.ptr()) || PyFloat_Check(h.ptr())) return true;
  if (PyType_Check(h.ptr())) return false;  // `float` itself has __float__ (tensor == float is False)
  return py::hasattr(h, "__index__") || (py::hasattr(h, "__float__") && !is_tensor(h) && !py::hasattr(h, "__len__"));
}

Scalar to_scalar(py::handle h) {
  EnsureGil gil;
  PyObject* o = h.ptr();
  if (PyBool_Check(o)) return Scalar(o == Py_True);
  if (PyFloat_Check(o)) return Scalar(PyFloat_AS_DOUBLE(o));
  if (PyLong_Check(o)) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow != 0) throw RuntimeError("Overflow when unpacking long");
    return Scalar(static_cast<int64_t>(v));
  }
  if (is_tensor(h)) {
    return h.cast<Tensor>().item();
  }
  std::string tname = py::str(py::type::handle_of(h).attr("__name__"));
  py::object o_ = py::reinterpret_borrow<py::object>(h);
  if (tname.rfind("bool", 0) == 0) return Scalar(py::bool_(o_).cast<bool>());
  // numpy integers (which, like floats, also have is_integer) are ints; numpy floats have no __index__.
  if (py::hasattr(h, "__index__") && !PyFloat_Check(o)) return Scalar(py::int_(o_).cast<int64_t>());
  if (py::hasattr(h, "__float__")) return Scalar(py::float_(o_).cast<double>());
  throw TypeError(msg("expected a number, got ", tname));
}

Shape to_shape(py::handle h) {
  EnsureGil gil;
  Shape s;
  if (is_tensor(h)) {
    Tensor t = h.cast<Tensor>();
    CG_CHECK_TYPE(is_integral(t.dtype()) && t.dim() <= 1, "expected a sequence of integers for a shape");
    Tensor c = ops::contiguous(ops::to_dtype(t, DType::Int64));
    for (int64_t i = 0; i < c.numel(); ++i) s.push_back(c.data<int64_t>()[i]);
    return s;
  }
  if (PyLong_Check(h.ptr())) return {to_index_int(h, "size")};
  CG_CHECK_TYPE(py::isinstance<py::sequence>(h) && !py::isinstance<py::str>(h) && !py::isinstance<py::bytes>(h),
                "expected a sequence of integers, got ", std::string(py::str(py::type::handle_of(h).attr("__name__"))));
  for (auto item : py::reinterpret_borrow<py::sequence>(h)) s.push_back(to_index_int(item, "in a shape"));
  return s;
}

Shape shape_from_args(const py::args& args) {
  EnsureGil gil;
  if (args.size() == 1 && !PyLong_Check(args[0].ptr())) return to_shape(args[0]);
  Shape s;
  for (auto a : args) s.push_back(to_index_int(a, "size"));
  return s;
}

std::vector<int64_t> to_dims(py::handle h) {
  EnsureGil gil;
  if (PyLong_Check(h.ptr())) return {to_index_int(h, "dim")};
  return to_shape(h);
}

py::tuple shape_tuple(const Shape& s) {
  py::tuple t(s.size());
  for (size_t i = 0; i < s.size(); ++i) t[i] = py::int_(s[i]);
  return t;
}

// ---- the class -------------------------------------------------------------------------------
namespace {
// The C++ type name PyTorch's messages use for a dtype ("long int", "float").
const char* c_type_name(DType t) {
  switch (t) {
    case DType::Int64: return "long int";
    case DType::Float32: return "float";
    case DType::Float64: return "double";
    default: return dtype_name(t);
  }
}
}  // namespace

// ---- the Tensor type -------------------------------------------------------------------------
// Written against the CPython API: creating or destroying a tensor's Python object is an
// allocation and two pointer writes (a pybind11 class spends ~3,400 instructions per object on
// its instance registry, holder and dispatch). Methods are still bound through pybind11
// (TensorClass); the hot binary operators are native number slots.
namespace {
PyTypeObject* g_tensor_type = nullptr;

void bind(PyObject* self, Tensor t) {
  auto* o = reinterpret_cast<TensorObject*>(self);
  if (o->tensor.defined() && o->tensor.impl()->py_object == self) o->tensor.impl()->py_object = nullptr;
  o->tensor = std::move(t);
  if (!o->tensor.impl()->py_object) o->tensor.impl()->py_object = self;
}

PyObject* tensor_new(PyTypeObject* type, PyObject*, PyObject*) {
  PyObject* self = type->tp_alloc(type, 0);
  if (self) new (&reinterpret_cast<TensorObject*>(self)->tensor) Tensor();
  return self;
}

// Tensor(data_tensor, requires_grad) aliases data (used by Tensor._make_subclass for
// nn.Parameter); Tensor(list) copies like the legacy float constructor; Tensor(*sizes) allocates.
Tensor construct(const py::args& args) {
  if (args.size() >= 1 && is_tensor(args[0])) {
    Tensor alias = args[0].cast<Tensor>().alias();
    if (args.size() > 1 && args[1].cast<bool>()) autograd::set_requires_grad(alias, true);
    return alias;
  }
  if (args.size() == 1 && !PyLong_Check(args[0].ptr())) {
    py::object t = py::module_::import("chaingrad").attr("tensor")(args[0], py::arg("dtype") = dtype_object(default_float_dtype()));
    return t.cast<Tensor>().alias();
  }
  return Tensor::empty(shape_from_args(args), default_float_dtype());
}

int tensor_init(PyObject* self, PyObject* args, PyObject* kwargs) {
  try {
    if (kwargs && PyDict_Size(kwargs) > 0) throw TypeError("Tensor(): keyword arguments are not supported");
    bind(self, construct(py::reinterpret_borrow<py::args>(args)));
    return 0;
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (...) {
    py::detail::try_translate_exceptions();
  }
  return -1;
}

void tensor_dealloc(PyObject* self) {
  PyTypeObject* type = Py_TYPE(self);
  auto* o = reinterpret_cast<TensorObject*>(self);
  PyObject_GC_UnTrack(self);
  if (o->weakrefs) PyObject_ClearWeakRefs(self);
  Py_CLEAR(o->dict);
  if (o->tensor.defined() && o->tensor.impl()->py_object == self) o->tensor.impl()->py_object = nullptr;
  o->tensor.~Tensor();  // may free a whole graph: released iteratively (core/deferred_delete.h)
  type->tp_free(self);
  Py_DECREF(type);
}

int tensor_traverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(reinterpret_cast<TensorObject*>(self)->dict);
  Py_VISIT(Py_TYPE(self));
  return 0;
}

int tensor_clear(PyObject* self) {
  Py_CLEAR(reinterpret_cast<TensorObject*>(self)->dict);
  return 0;
}

// ---- native number slots ----
enum class Arith { Add, Sub, Mul, Div, Pow, kCount };
struct HotOperator {
  const char* name;
  Arith op;
  bool reflected;
};
constexpr HotOperator kHotOperators[] = {
    {"__add__", Arith::Add, false}, {"__radd__", Arith::Add, true},       {"__sub__", Arith::Sub, false},
    {"__rsub__", Arith::Sub, true}, {"__mul__", Arith::Mul, false},       {"__rmul__", Arith::Mul, true},
    {"__truediv__", Arith::Div, false}, {"__rtruediv__", Arith::Div, true}, {"__pow__", Arith::Pow, false},
    {"__rpow__", Arith::Pow, true},
};
// pybind11's functions for these names (bound by register_tensor_ops): the slots' general case
// (numpy operands, numpy scalars, other types). Interpreter-lifetime references.
PyObject* g_fallback[static_cast<int>(Arith::kCount)][2] = {};

const HotOperator* hot_operator(const char* name) {
  for (const HotOperator& h : kHotOperators)
    if (std::strcmp(h.name, name) == 0) return &h;
  return nullptr;
}

Tensor tensor_tensor(Arith op, const Tensor& a, const Tensor& b) {
  switch (op) {
    case Arith::Add: return ops::add(a, b);
    case Arith::Sub: return ops::sub(a, b);
    case Arith::Mul: return ops::mul(a, b);
    case Arith::Div: return ops::div(a, b);
    default: return ops::pow(a, b);
  }
}
Tensor tensor_number(Arith op, const Tensor& a, Scalar s, bool reflected) {
  switch (op) {
    case Arith::Add: return ops::add(a, s);
    case Arith::Sub: return reflected ? ops::rsub(a, s) : ops::sub(a, s);
    case Arith::Mul: return ops::mul(a, s);
    case Arith::Div: return reflected ? ops::rdiv(a, s) : ops::div(a, s);
    default: return reflected ? ops::pow(s, a) : ops::pow(a, s);
  }
}

// A Python int or float as a Scalar (not bool, not subclasses, not ints beyond int64).
bool plain_number(PyObject* o, Scalar& s) {
  if (PyFloat_CheckExact(o)) {
    s = Scalar(PyFloat_AS_DOUBLE(o));
    return true;
  }
  if (PyLong_CheckExact(o)) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow != 0) return false;
    s = Scalar(static_cast<int64_t>(v));
    return true;
  }
  return false;
}

PyObject* arith_slot(Arith op, PyObject* a, PyObject* b) {
  const Tensor* ta = tensor_of(a);
  const Tensor* tb = tensor_of(b);
  const bool reflected = ta == nullptr;
  try {
    Scalar s(0.0);
    Tensor result;
    if (ta && tb) {
      MaybeReleaseGil g(std::max(ta->numel(), tb->numel()));
      result = tensor_tensor(op, *ta, *tb);
    } else if ((ta || tb) && plain_number(reflected ? a : b, s)) {
      const Tensor& self = reflected ? *tb : *ta;
      MaybeReleaseGil g(self.numel());
      result = tensor_number(op, self, s, reflected);
    } else {
      PyObject* fallback = g_fallback[static_cast<int>(op)][reflected];
      if (!fallback) Py_RETURN_NOTIMPLEMENTED;
      return reflected ? PyObject_CallFunctionObjArgs(fallback, b, a, nullptr)
                       : PyObject_CallFunctionObjArgs(fallback, a, b, nullptr);
    }
    return wrap_tensor(result);
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (...) {
    py::detail::try_translate_exceptions();
  }
  return nullptr;
}

template <Arith op>
PyObject* arith(PyObject* a, PyObject* b) {
  return arith_slot(op, a, b);
}
PyObject* power(PyObject* a, PyObject* b, PyObject* mod) {
  if (mod != Py_None) Py_RETURN_NOTIMPLEMENTED;
  return arith_slot(Arith::Pow, a, b);
}
PyObject* negative(PyObject* a) {
  const Tensor* t = tensor_of(a);
  if (!t) {
    PyErr_SetString(PyExc_TypeError, "descriptor '__neg__' requires an initialised 'Tensor' object");
    return nullptr;
  }
  try {
    return wrap_tensor(ops::neg(*t));
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (...) {
    py::detail::try_translate_exceptions();
  }
  return nullptr;
}

PyTypeObject* make_tensor_type() {
  static PyMemberDef members[] = {
      {"__dictoffset__", T_PYSSIZET, offsetof(TensorObject, dict), READONLY, nullptr},
      {"__weaklistoffset__", T_PYSSIZET, offsetof(TensorObject, weakrefs), READONLY, nullptr},
      {nullptr, 0, 0, 0, nullptr}};
  static PyGetSetDef getset[] = {{"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, nullptr, nullptr},
                                 {nullptr, nullptr, nullptr, nullptr, nullptr}};
  static const char* doc = "A multi-dimensional array with PyTorch's autograd semantics.";
  static PyType_Slot slots[] = {
      {Py_tp_new, reinterpret_cast<void*>(tensor_new)},
      {Py_tp_init, reinterpret_cast<void*>(tensor_init)},
      {Py_tp_dealloc, reinterpret_cast<void*>(tensor_dealloc)},
      {Py_tp_traverse, reinterpret_cast<void*>(tensor_traverse)},
      {Py_tp_clear, reinterpret_cast<void*>(tensor_clear)},
      {Py_tp_members, members},
      {Py_tp_getset, getset},
      {Py_tp_doc, const_cast<char*>(doc)},
      {Py_nb_add, reinterpret_cast<void*>(arith<Arith::Add>)},
      {Py_nb_subtract, reinterpret_cast<void*>(arith<Arith::Sub>)},
      {Py_nb_multiply, reinterpret_cast<void*>(arith<Arith::Mul>)},
      {Py_nb_true_divide, reinterpret_cast<void*>(arith<Arith::Div>)},
      {Py_nb_power, reinterpret_cast<void*>(power)},
      {Py_nb_negative, reinterpret_cast<void*>(negative)},
      {0, nullptr}};
  static PyType_Spec spec = {"chaingrad._C.Tensor", sizeof(TensorObject), 0,
                             Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC, slots};
  PyObject* type = PyType_FromSpec(&spec);
  if (!type) throw py::error_already_set();
  return reinterpret_cast<PyTypeObject*>(type);
}
}  // namespace

PyTypeObject* tensor_type() { return g_tensor_type; }

PyObject* wrap_tensor(const Tensor& t) {
  if (!t.defined()) Py_RETURN_NONE;
  if (auto* existing = static_cast<PyObject*>(t.impl()->py_object)) {
    Py_INCREF(existing);
    return existing;
  }
  PyObject* self = g_tensor_type->tp_alloc(g_tensor_type, 0);
  if (!self) return nullptr;
  new (&reinterpret_cast<TensorObject*>(self)->tensor) Tensor(t);
  t.impl()->py_object = self;
  return self;
}

void TensorClass::add_method(const char* name, const py::cpp_function& f) {
  if (const HotOperator* h = hot_operator(name)) {
    PyObject*& slot = g_fallback[static_cast<int>(h->op)][h->reflected];
    Py_XDECREF(slot);
    slot = py::object(f).release().ptr();
    return;
  }
  if (std::strcmp(name, "__neg__") == 0) return;  // the native slot (same op, no other case)
  py::setattr(*this, name, f);
}

TensorClass& TensorClass::add_property(const char* name, const py::object& get, const py::object& set) {
  py::handle property(reinterpret_cast<PyObject*>(&PyProperty_Type));
  py::setattr(*this, name, property(get, set, py::none(), py::str("")));
  return *this;
}

py::object TensorClass::sibling(const char* name) const {
  if (const HotOperator* h = hot_operator(name)) {
    PyObject* f = g_fallback[static_cast<int>(h->op)][h->reflected];
    return f ? py::reinterpret_borrow<py::object>(f) : py::none();
  }
  return py::getattr(*this, name, py::none());
}

void register_tensor(py::module_& m) {
  g_tensor_type = make_tensor_type();
  TensorClass cls(reinterpret_cast<PyObject*>(g_tensor_type));
  Py_DECREF(g_tensor_type);  // `cls` and the module hold it from here on
  m.add_object("Tensor", cls);
  cls.def_property_readonly("_shape", [](const Tensor& t) { return shape_tuple(t.shape()); })
      .def_property_readonly("dtype", [](const Tensor& t) { return dtype_object(t.dtype()); })
      .def_property_readonly("ndim", [](const Tensor& t) { return t.dim(); })
      .def("dim", [](const Tensor& t) { return t.dim(); })
      .def("ndimension", [](const Tensor& t) { return t.dim(); })
      .def("numel", [](const Tensor& t) { return t.numel(); })
      .def("nelement", [](const Tensor& t) { return t.numel(); })
      .def("element_size", [](const Tensor& t) { return t.itemsize(); })
      .def("stride", [](const Tensor& t, py::object dim) -> py::object {
             if (dim.is_none()) return shape_tuple(t.strides());
             return py::int_(t.stride(dim.cast<int64_t>()));
           }, py::arg("dim") = py::none())
      .def("storage_offset", [](const Tensor& t) { return t.offset(); })
      .def("data_ptr", [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t.data_bytes()); })
      .def("is_contiguous", [](const Tensor& t) { return t.is_contiguous(); })
      .def("is_floating_point", [](const Tensor& t) { return is_floating(t.dtype()); })
      .def_property_readonly("_version", [](const Tensor& t) { return t.version(); })
      .def("_storage_id", [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t.storage().get()); })
      .def("_is_view", [](const Tensor& t) {
        auto* m = autograd::meta(t);
        return m && m->is_view;
      })
      .def("_base_tensor", [](const Tensor& t) -> Tensor {
        auto* m = autograd::meta(t);
        return m && m->is_view ? m->view_base() : Tensor();
      })
      // autograd state
      .def_property("requires_grad", [](const Tensor& t) { return autograd::requires_grad(t); },
                    [](const Tensor& t, bool v) { autograd::set_requires_grad(t, v); })
      .def_property_readonly("is_leaf", [](const Tensor& t) { return autograd::is_leaf(t); })
      .def_property_readonly("grad_fn", [](const Tensor& t) { return autograd::grad_fn(t); })
      .def_property_readonly("output_nr", [](const Tensor& t) -> int64_t {
        return autograd::grad_fn(t) ? autograd::meta(t)->output_nr : 0;
      })
      .def_property("_grad", [](const Tensor& t) { return autograd::get_grad(t); },
           [](const Tensor& t, py::object g) {
             if (g.is_none()) {
               autograd::set_grad(t, Tensor());
               return;
             }
             CG_CHECK_TYPE(is_tensor(g), "assigned grad expected to be a Tensor or None but got grad of type ",
                           std::string(py::str(py::type::handle_of(g).attr("__name__"))));
             Tensor gt = g.cast<Tensor>();
             CG_CHECK(gt.dtype() == t.dtype(), "attempting to assign a gradient with dtype '", c_type_name(gt.dtype()),
                      "' to a tensor with grad_dtype '", scalar_type_name(t.dtype()),
                      "'. The gradient must match the tensor's grad_dtype (defaults to the tensor's dtype). You can set "
                      "the tensor's grad_dtype attribute with a specific dtype, or None to allow any dtype. Set "
                      "grad_dtype with caution. Diverging the dtypes of a tensor and its gradient may break downstream "
                      "systems that assume they match.");
             CG_CHECK(gt.shape() == t.shape(), "attempting to assign a gradient of size '", shape_str(gt.shape()),
                      "' to a tensor of size '", shape_str(t.shape()),
                      "'. Please ensure that the gradient and the tensor are the same size");
             autograd::set_grad(t, gt);
           })
      .def_property_readonly("retains_grad", [](const Tensor& t) {
        auto* m = autograd::meta(t);
        return m && m->retains_grad;
      })
      .def("retain_grad", [](const Tensor& t) {
        CG_CHECK(autograd::requires_grad(t), "can't retain_grad on Tensor that has requires_grad=False");
        if (autograd::is_leaf(t)) return;
        autograd::retain_grad(t);
      })
      .def("requires_grad_", [](const Tensor& t, bool v) {
             // PyTorch words this path without "and complex" (the attribute setter keeps it).
             if (v && !is_floating(t.dtype())) throw RuntimeError("only Tensors of floating point dtype can require gradients");
             autograd::set_requires_grad(t, v);
             return t;
           }, py::arg("requires_grad") = true)
      .def("detach", [](const Tensor& t) { return autograd::detach(t); })
      .def("detach_", [](const Tensor& t) {
        auto* m = autograd::meta(t);
        if (m) {
          CG_CHECK(!m->is_view || !m->grad_fn, "Can't detach views in-place. Use detach() instead.");
          m->grad_fn = nullptr;
          m->requires_grad = false;
        }
        return t;
      })
      .def_property("data", [](const Tensor& t) { return t.alias_with_new_version(); },
                    [](const Tensor& t, const Tensor& src) {
                      // Rebinds the storage/geometry, keeping autograd state (PyTorch's `.data =`).
                      TensorImpl* i = t.impl();
                      // The version counter stays; when it was the old storage's own, the old
                      // storage is kept for it.
                      if (!i->version_owner) i->version_owner = std::shared_ptr<VersionCounter>(i->storage, i->version);
                      i->storage = src.storage();
                      i->shape = src.shape();
                      i->strides = src.strides();
                      i->offset = src.offset();
                      i->dtype = src.dtype();
                    })
      // dtype conversions by name beyond float()/double()/long()/bool() (register_tensor_ops)
      .def("half", [](const Tensor& t) { return ops::to_dtype(t, DType::Float16); })
      .def("bfloat16", [](const Tensor& t) { return ops::to_dtype(t, DType::BFloat16); })
      .def("short", [](const Tensor& t) { return ops::to_dtype(t, DType::Int16); })
      .def("char", [](const Tensor& t) { return ops::to_dtype(t, DType::Int8); })
      .def("byte", [](const Tensor& t) { return ops::to_dtype(t, DType::UInt8); })
      .def("_set_name", [](const Tensor& t, const std::string& n) { autograd::meta_mut(t).extras().name = n; });
  register_tensor_ops(m, cls);
  register_interop(m, cls);
}

}  // namespace cg::python
