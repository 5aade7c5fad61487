// Tensor methods: operators, math, reductions, shape ops and in-place forms. Module-level
// functions (chaingrad.exp(x), ...) are generated from these in Python.
#include <pybind11/numpy.h>
#include <cmath>

#include "kernels/elementwise.h"
#include "ops/common.h"
#include "ops/ops.h"
#include "python/bindings.h"

namespace cg::python {

using kernels::Binary;
using kernels::Unary;

namespace {

// A numpy array operand becomes a tensor; with PyTorch (where numpy computes such mixes) the
// result has numpy's promoted dtype, so both operands are cast to it (chaingrad._tensor).
// Numpy scalars stay numbers.
bool with_ndarray(Tensor& a, py::handle& b, py::object& keep) {
  if (!py::isinstance<py::array>(b)) return false;
  py::tuple pair = py::module_::import("chaingrad._tensor").attr("_with_ndarray")(a, b);
  a = pair[0].cast<Tensor>();
  keep = pair[1];
  b = keep;
  return true;
}

// Applies a binary op to (tensor, tensor-or-number); NotImplemented for other operand types.
// div's rounding_mode: None (""), "trunc" or "floor"; PyTorch's errors otherwise.
std::string rounding_mode(py::handle mode) {
  if (mode.is_none()) return "";
  CG_CHECK_TYPE(py::isinstance<py::str>(mode), "div(): argument 'rounding_mode' must be str, not ",
                std::string(py::str(py::type::handle_of(mode).attr("__name__"))));
  std::string m = py::str(mode);
  CG_CHECK(m == "trunc" || m == "floor",
           "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '", m, "'");
  return m;
}
// The true quotient rounded toward zero, in the operands' promoted dtype (integers stay integers).
Tensor trunc_divide(const Tensor& quotient, DType dtype) {
  if (!is_floating(dtype)) {  // an integer quotient by zero came out inf or nan
    Tensor q = Tensor::empty(quotient.shape(), DType::Float64);
    kernels::copy(q, quotient);
    const double* p = q.data<double>();
    for (int64_t i = 0; i < q.numel(); ++i) CG_CHECK(std::isfinite(p[i]), "ZeroDivisionError");
  }
  Tensor t = ops::unary(kernels::Unary::Trunc, quotient);
  return t.dtype() == dtype ? t : ops::to_dtype(t, dtype);
}

template <typename TT, typename TS>
py::object binop(const Tensor& self, py::handle b, const TT& tt, const TS& ts) {
  Tensor a = self;
  py::object converted;
  with_ndarray(a, b, converted);
  Tensor result;
  if (is_tensor(b)) {
    Tensor bt = b.cast<Tensor>();
    MaybeReleaseGil g(std::max(a.numel(), bt.numel()));
    result = tt(a, bt);
  } else if (is_scalar(b)) {
    Scalar s = to_scalar(b);
    MaybeReleaseGil g(a.numel());
    result = ts(a, s);
  } else {
    return py::reinterpret_borrow<py::object>(Py_NotImplemented);
  }
  return py::cast(result);  // with the GIL held again
}

py::object compare_op(const Tensor& a, py::handle b, Binary op) {
  return binop(a, b, [op](const Tensor& x, const Tensor& y) { return ops::compare(static_cast<int>(op), x, y); },
               [op](const Tensor& x, Scalar s) { return ops::compare(static_cast<int>(op), x, s); });
}

Tensor& as_mut(const Tensor& t) { return const_cast<Tensor&>(t); }

std::optional<ops::Dims> opt_dims(py::handle dim) {
  if (dim.is_none()) return std::nullopt;
  return to_dims(dim);
}

py::object max_min(const Tensor& x, py::object dim, bool keepdim, bool is_max) {
  if (dim.is_none()) return py::cast(is_max ? ops::max(x) : ops::min(x));
  if (is_tensor(dim)) return py::cast(is_max ? ops::maximum(x, dim.cast<Tensor>()) : ops::minimum(x, dim.cast<Tensor>()));
  auto [v, i] = is_max ? ops::max(x, dim.cast<int64_t>(), keepdim) : ops::min(x, dim.cast<int64_t>(), keepdim);
  py::object rt = py::module_::import("chaingrad.return_types").attr(is_max ? "max" : "min");
  return rt(v, i);
}

double norm_p(py::handle p) {
  if (p.is_none()) return 2.0;
  if (py::isinstance<py::str>(p)) {
    std::string s = p.cast<std::string>();
    if (s == "fro") return 2.0;
    throw ValueError("norm: only 'fro' is supported as a string p, got '" + s + "'");
  }
  return p.cast<double>();
}

// Converts a Python subscript into the ops' index items.
std::vector<ops::IndexItem> to_index(py::handle key) {
  std::vector<ops::IndexItem> items;
  auto one = [&](py::handle k) {
    if (k.is_none()) {
      items.emplace_back(ops::NoneIndex{});
    } else if (k.ptr() == Py_Ellipsis) {
      items.emplace_back(ops::EllipsisIndex{});
    } else if (PySlice_Check(k.ptr())) {
      py::slice s = py::reinterpret_borrow<py::slice>(k);
      ops::Slice sl;
      auto get = [](py::object o) -> std::optional<int64_t> {
        if (o.is_none()) return std::nullopt;
        return py::int_(o.attr("__index__")()).cast<int64_t>();
      };
      sl.start = get(s.attr("start"));
      sl.stop = get(s.attr("stop"));
      sl.step = get(s.attr("step"));
      items.emplace_back(sl);
    } else if (is_tensor(k)) {
      Tensor t = k.cast<Tensor>();
      if (t.dim() == 0 && t.dtype() == DType::Int64) items.emplace_back(t.item_int());
      else items.emplace_back(t);
    } else if (PyBool_Check(k.ptr())) {
      items.emplace_back(Tensor::scalar(Scalar(k.ptr() == Py_True), DType::Bool));
    } else if (PyLong_Check(k.ptr()) || (py::hasattr(k, "__index__") && !py::isinstance<py::sequence>(k))) {
      items.emplace_back(py::int_(k.attr("__index__")()).cast<int64_t>());
    } else if (py::isinstance<py::sequence>(k) || py::hasattr(k, "__array__")) {
      // Lists and numpy arrays index like integer (or bool) tensors.
      py::object t = py::module_::import("chaingrad").attr("tensor")(k);
      Tensor tt = t.cast<Tensor>();
      items.emplace_back(tt);
    } else {
      throw IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid indices (got " +
                       std::string(py::str(py::type::handle_of(k).attr("__name__"))) + ")");
    }
  };
  if (py::isinstance<py::tuple>(key)) {
    for (auto k : py::reinterpret_borrow<py::tuple>(key)) one(k);
  } else {
    one(key);
  }
  return items;
}

}  // namespace

void register_tensor_ops(py::module_& m, TensorClass& cls) {
  // clamp(min=, max=) with number or tensor bounds; also bound as clip.
  auto clamp = [](const Tensor& a, py::handle lo, py::handle hi) {
    if (is_tensor(lo) || is_tensor(hi))
      return ops::clamp(a, lo.is_none() ? Tensor() : lo.cast<Tensor>(), hi.is_none() ? Tensor() : hi.cast<Tensor>());
    std::optional<double> l, h;
    if (!lo.is_none()) l = lo.cast<double>();
    if (!hi.is_none()) h = hi.cast<double>();
    return ops::clamp(a, l, h);
  };
  // ---- arithmetic operators ----
  cls.def("__add__", [](const Tensor& a, py::handle b) {
        return binop(a, b, [](const Tensor& x, const Tensor& y) { return ops::add(x, y); },
                     [](const Tensor& x, Scalar s) { return ops::add(x, s); });
      })
      .def("__radd__", [](const Tensor& a, py::handle b) {
        return binop(a, b, [](const Tensor& x, const Tensor& y) { return ops::add(y, x); },
                     [](const Tensor& x, Scalar s) { return ops::add(x, s); });
      })
      .def("__sub__", [](const Tensor& a, py::handle b) {
        return binop(a, b, [](const Tensor& x, const Tensor& y) { return ops::sub(x, y); },
                     [](const Tensor& x, Scalar s) { return ops::sub(x, s); });
      })
      .def("__rsub__", [](const Tensor& a, py::handle b) {
        return binop(a, b, [](const Tensor& x, const Tensor& y) { return ops::sub(y, x); },
                     [](const Tensor& x, Scalar s) { return ops::rsub(x, s); });
      })
      .def("__mul__", [](const Tensor& a, py::handle b) {
        return binop(a, b, [](const Tensor& x, const Tensor& y) { return ops::mul(x, y); },
                     [](const Tensor& x, Scalar s) { return ops::mul(x, s); });
      })
      .def("__rmul__", [](const Tensor& a, py::handle b) {
        return binop(a, b, [](const Tensor& x, const Tensor& y) { return ops::mul(y, x); },
                     [](const Tensor& x, Scalar s) { return ops::mul(x, s); });
      })
      .def("__truediv__", [](const Tensor& a, py::handle b) {
        return binop(a, b, [](const Tensor& x, const Tensor& y) { return ops::div(x, y); },
                     [](const Tensor& x, Scalar s) { return ops::div(x, s); });
      })
      .def("__rtruediv__", [](const Tensor& a, py::handle b) {
        return binop(a, b, [](const Tensor& x, const Tensor& y) { return ops::div(y, x); },
                     [](const Tensor& x, Scalar s) { return ops::rdiv(x, s); });
      })
      .def("__floordiv__", [](const Tensor& a, py::handle b) {
        return binop(a, b, [](const Tensor& x, const Tensor& y) { return ops::floor_divide(x, y); },
                     [](const Tensor& x, Scalar s) { return ops::floor_divide(x, s); });
      })
      .def("__mod__", [](const Tensor& a, py::handle b) {
        return binop(a, b, [](const Tensor& x, const Tensor& y) { return ops::remainder(x, y); },
                     [](const Tensor& x, Scalar s) { return ops::remainder(x, s); });
      })
      .def("__pow__", [](const Tensor& a, py::handle b) {
        return binop(a, b, [](const Tensor& x, const Tensor& y) { return ops::pow(x, y); },
                     [](const Tensor& x, Scalar s) { return ops::pow(x, s); });
      })
      .def("__rpow__", [](const Tensor& a, py::handle b) {
        return binop(a, b, [](const Tensor& x, const Tensor& y) { return ops::pow(y, x); },
                     [](const Tensor& x, Scalar s) { return ops::pow(s, x); });
      })
      // Other operand types get NotImplemented, as in PyTorch: Python then tries their __rmatmul__
      // (chaingrad.func's BatchedTensor) or raises "unsupported operand type(s) for @".
      .def("__matmul__", [](const Tensor& a, py::handle b) -> py::object {
        const Tensor* bt = tensor_of(b.ptr());
        if (!bt) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
        Tensor r;
        {
          MaybeReleaseGil g(a.numel() + bt->numel());
          r = ops::matmul(a, *bt);
        }
        return py::cast(r);
      })
      .def("__rmatmul__", [](const Tensor& a, py::handle b) -> py::object {
        const Tensor* bt = tensor_of(b.ptr());
        if (!bt) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
        return py::cast(ops::matmul(*bt, a));
      })
      .def("__neg__", [](const Tensor& a) { return ops::neg(a); })
      .def("__pos__", [](const Tensor& a) { return a; })
      .def("__abs__", [](const Tensor& a) { return ops::abs(a); })
      .def("__invert__", [](const Tensor& a) {
        CG_CHECK(a.dtype() == DType::Bool, "~ (bitwise_not) is only implemented for bool tensors here");
        return ops::unary(Unary::LogicalNot, a);
      })
      .def("__and__", [](const Tensor& a, py::handle b) { return compare_op(a, b, Binary::LogicalAnd); })
      .def("__or__", [](const Tensor& a, py::handle b) { return compare_op(a, b, Binary::LogicalOr); })
      .def("__xor__", [](const Tensor& a, py::handle b) { return compare_op(a, b, Binary::LogicalXor); })
      .def("__eq__", [](const Tensor& a, py::handle b) { return compare_op(a, b, Binary::Eq); })
      .def("__ne__", [](const Tensor& a, py::handle b) { return compare_op(a, b, Binary::Ne); })
      .def("__lt__", [](const Tensor& a, py::handle b) { return compare_op(a, b, Binary::Lt); })
      .def("__le__", [](const Tensor& a, py::handle b) { return compare_op(a, b, Binary::Le); })
      .def("__gt__", [](const Tensor& a, py::handle b) { return compare_op(a, b, Binary::Gt); })
      .def("__ge__", [](const Tensor& a, py::handle b) { return compare_op(a, b, Binary::Ge); })
      .def("eq", [](const Tensor& a, py::handle b) { return compare_op(a, b, Binary::Eq); })
      .def("ne", [](const Tensor& a, py::handle b) { return compare_op(a, b, Binary::Ne); })
      .def("lt", [](const Tensor& a, py::handle b) { return compare_op(a, b, Binary::Lt); })
      .def("le", [](const Tensor& a, py::handle b) { return compare_op(a, b, Binary::Le); })
      .def("gt", [](const Tensor& a, py::handle b) { return compare_op(a, b, Binary::Gt); })
      .def("ge", [](const Tensor& a, py::handle b) { return compare_op(a, b, Binary::Ge); })
      .def("logical_and", [](const Tensor& a, py::handle b) { return compare_op(a, b, Binary::LogicalAnd); })
      .def("logical_or", [](const Tensor& a, py::handle b) { return compare_op(a, b, Binary::LogicalOr); })
      .def("logical_xor", [](const Tensor& a, py::handle b) { return compare_op(a, b, Binary::LogicalXor); })
      .def("logical_not", [](const Tensor& a) { return ops::unary(Unary::LogicalNot, a); })
      .def("isnan", [](const Tensor& a) { return ops::unary(Unary::IsNan, a); })
      .def("isinf", [](const Tensor& a) { return ops::unary(Unary::IsInf, a); })
      .def("isfinite", [](const Tensor& a) { return ops::unary(Unary::IsFinite, a); })
      .def("signbit", [](const Tensor& a) { return ops::unary(Unary::SignBit, a); })
      .def("__hash__", [](const Tensor& a) { return reinterpret_cast<intptr_t>(a.impl()); })
      .def("add", [](const Tensor& a, py::handle b, py::handle alpha) {
             Scalar al = alpha.is_none() ? Scalar(1) : to_scalar(alpha);
             return binop(a, b, [al](const Tensor& x, const Tensor& y) { return ops::add(x, y, al); },
                          [al](const Tensor& x, Scalar s) { return ops::add(x, s, al); });
           }, py::arg("other"), py::kw_only(), py::arg("alpha") = py::none())
      .def("sub", [](const Tensor& a, py::handle b, py::handle alpha) {
             Scalar al = alpha.is_none() ? Scalar(1) : to_scalar(alpha);
             return binop(a, b, [al](const Tensor& x, const Tensor& y) { return ops::sub(x, y, al); },
                          [al](const Tensor& x, Scalar s) { return ops::sub(x, s, al); });
           }, py::arg("other"), py::kw_only(), py::arg("alpha") = py::none())
      .def("mul", [](const Tensor& a, py::handle b) {
        return binop(a, b, [](const Tensor& x, const Tensor& y) { return ops::mul(x, y); },
                     [](const Tensor& x, Scalar s) { return ops::mul(x, s); });
      }, py::arg("other"))
      .def("div", [](const Tensor& a, py::handle b, py::handle mode) {
        const std::string m = rounding_mode(mode);
        if (m == "floor")
          return binop(a, b, [](const Tensor& x, const Tensor& y) { return ops::floor_divide(x, y); },
                       [](const Tensor& x, Scalar s) { return ops::floor_divide(x, s); });
        if (m == "trunc")
          return binop(a, b, [](const Tensor& x, const Tensor& y) { return trunc_divide(ops::div(x, y), ops::result_type(x, y)); },
                       [](const Tensor& x, Scalar s) { return trunc_divide(ops::div(x, s), ops::result_type(x, s)); });
        return binop(a, b, [](const Tensor& x, const Tensor& y) { return ops::div(x, y); },
                     [](const Tensor& x, Scalar s) { return ops::div(x, s); });
      }, py::arg("other"), py::kw_only(), py::arg("rounding_mode") = py::none())
      .def("pow", [](const Tensor& a, py::handle b) {
        return binop(a, b, [](const Tensor& x, const Tensor& y) { return ops::pow(x, y); },
                     [](const Tensor& x, Scalar s) { return ops::pow(x, s); });
      }, py::arg("exponent"))
      .def("remainder", [](const Tensor& a, py::handle b) {
        return binop(a, b, [](const Tensor& x, const Tensor& y) { return ops::remainder(x, y); },
                     [](const Tensor& x, Scalar s) { return ops::remainder(x, s); });
      }, py::arg("other"))
      .def("maximum", [](const Tensor& a, const Tensor& b) { return ops::maximum(a, b); }, py::arg("other"))
      .def("minimum", [](const Tensor& a, const Tensor& b) { return ops::minimum(a, b); }, py::arg("other"))
      .def("atan2", [](const Tensor& a, const Tensor& b) { return ops::atan2(a, b); }, py::arg("other"))
      .def("matmul", [](const Tensor& a, const Tensor& b) { return ops::matmul(a, b); }, py::arg("other"))
      .def("mm", [](const Tensor& a, const Tensor& b) { return ops::mm(a, b); }, py::arg("mat2"))
      .def("bmm", [](const Tensor& a, const Tensor& b) { return ops::bmm(a, b); }, py::arg("mat2"))
      .def("dot", [](const Tensor& a, const Tensor& b) { return ops::dot(a, b); }, py::arg("other"))
      .def("mv", [](const Tensor& a, const Tensor& b) { return ops::mv(a, b); }, py::arg("vec"))
      .def("outer", [](const Tensor& a, const Tensor& b) { return ops::outer(a, b); }, py::arg("vec2"))
      .def("trace", [](const Tensor& a) { return ops::trace(a); })
      .def("where", [](const Tensor& a, const Tensor& cond, py::handle other) {
             Tensor o = is_tensor(other) ? other.cast<Tensor>() : Tensor::scalar(to_scalar(other), a.dtype());
             return ops::where(cond, a, o);
           }, py::arg("condition"), py::arg("other"))
      .def("clamp", clamp, py::arg("min") = py::none(), py::arg("max") = py::none())
      .def("clip", clamp, py::arg("min") = py::none(), py::arg("max") = py::none())  // alias
      .def("clamp_", [](const Tensor& a, py::handle lo, py::handle hi) {
             std::optional<double> l, h;
             if (!lo.is_none()) l = lo.cast<double>();
             if (!hi.is_none()) h = hi.cast<double>();
             return ops::clamp_(as_mut(a), l, h);
           }, py::arg("min") = py::none(), py::arg("max") = py::none())
      .def("leaky_relu", [](const Tensor& a, double s) { return ops::leaky_relu(a, s); }, py::arg("negative_slope") = 0.01)
      .def("elu", [](const Tensor& a, double al) { return ops::elu(a, al); }, py::arg("alpha") = 1.0)
      .def("softplus", [](const Tensor& a, double b, double t) { return ops::softplus(a, b, t); },
           py::arg("beta") = 1.0, py::arg("threshold") = 20.0);

  // ---- pointwise math: a method and its in-place form per generated row of the unary table
  // (kernels/unary_ops.h), under its name and alias; the module functions are their names too.
  std::vector<std::pair<const char*, Unary>> unary_methods;
#define CG_UNARY_METHOD(Name, py_name, alias, node_name, saves, float_only_kernel, bind, ...)          \
  if (bind) {                                                                                          \
    unary_methods.emplace_back(py_name, Unary::Name);                                                  \
    if (alias) unary_methods.emplace_back(alias, Unary::Name);                                         \
  }
  CG_UNARY_OPS(CG_UNARY_METHOD)
#undef CG_UNARY_METHOD
  py::list unary_method_names;
  for (const auto& entry : unary_methods) unary_method_names.append(entry.first);
  m.attr("_unary_method_names") = py::tuple(unary_method_names);
  for (const auto& [name, op] : unary_methods) {
    Unary u = op;
    cls.def(name, [u](const Tensor& a) {
      MaybeReleaseGil g(a.numel());
      return ops::unary(u, a);
    });
    cls.def((std::string(name) + "_").c_str(), [u](const Tensor& a) -> Tensor {
      MaybeReleaseGil g(a.numel());
      return ops::unary_(u, as_mut(a));
    });
  }
  cls.def("gelu", [](const Tensor& a, const std::string& approximate) { return ops::gelu(a, approximate); },
          py::arg("approximate") = "none");

  // ---- in-place arithmetic ----
  auto inplace_bin = [](auto tensor_fn, auto scalar_fn) {
    return [tensor_fn, scalar_fn](const Tensor& a, py::handle b) -> py::object {
      Tensor& self = as_mut(a);
      py::object converted;
      if (py::isinstance<py::array>(b)) {  // in place: self keeps its dtype
        converted = py::module_::import("chaingrad").attr("as_tensor")(b);
        b = converted;
      }
      if (is_tensor(b)) tensor_fn(self, b.cast<Tensor>());
      else if (is_scalar(b)) scalar_fn(self, to_scalar(b));
      else return py::reinterpret_borrow<py::object>(Py_NotImplemented);
      return py::cast(self);
    };
  };
  auto add_t = [](Tensor& s, const Tensor& o) { ops::add_(s, o); };
  auto add_s = [](Tensor& s, Scalar o) { ops::add_(s, o); };
  auto sub_t = [](Tensor& s, const Tensor& o) { ops::sub_(s, o); };
  auto sub_s = [](Tensor& s, Scalar o) { ops::sub_(s, o); };
  auto mul_t = [](Tensor& s, const Tensor& o) { ops::mul_(s, o); };
  auto mul_s = [](Tensor& s, Scalar o) { ops::mul_(s, o); };
  auto div_t = [](Tensor& s, const Tensor& o) { ops::div_(s, o); };
  auto div_s = [](Tensor& s, Scalar o) { ops::div_(s, o); };
  auto pow_t = [](Tensor& s, const Tensor& o) { ops::pow_(s, o); };
  auto pow_s = [](Tensor& s, Scalar o) { ops::pow_(s, o); };
  cls.def("__iadd__", inplace_bin(add_t, add_s))
      .def("__isub__", inplace_bin(sub_t, sub_s))
      .def("__imul__", inplace_bin(mul_t, mul_s))
      .def("__itruediv__", inplace_bin(div_t, div_s))
      .def("__ipow__", inplace_bin(pow_t, pow_s))
      .def("mul_", inplace_bin(mul_t, mul_s), py::arg("other"))
      .def("div_", inplace_bin(div_t, div_s), py::arg("other"))
      .def("pow_", inplace_bin(pow_t, pow_s), py::arg("exponent"))
      .def("add_", [](const Tensor& a, py::handle b, py::handle alpha) {
             // Parse every Python argument before the GIL is released.
             Scalar al = alpha.is_none() ? Scalar(1) : to_scalar(alpha);
             Tensor& s = as_mut(a);
             const bool tensor_other = is_tensor(b);
             Tensor bt = tensor_other ? b.cast<Tensor>() : Tensor();
             Scalar bs = tensor_other ? Scalar(0) : to_scalar(b);
             MaybeReleaseGil g(a.numel());
             if (tensor_other) ops::add_(s, bt, al);
             else ops::add_(s, bs, al);
             return s;
           }, py::arg("other"), py::kw_only(), py::arg("alpha") = py::none())
      .def("sub_", [](const Tensor& a, py::handle b, py::handle alpha) {
             // Parse every Python argument before the GIL is released.
             Scalar al = alpha.is_none() ? Scalar(1) : to_scalar(alpha);
             Tensor& s = as_mut(a);
             const bool tensor_other = is_tensor(b);
             Tensor bt = tensor_other ? b.cast<Tensor>() : Tensor();
             Scalar bs = tensor_other ? Scalar(0) : to_scalar(b);
             MaybeReleaseGil g(a.numel());
             if (tensor_other) ops::sub_(s, bt, al);
             else ops::sub_(s, bs, al);
             return s;
           }, py::arg("other"), py::kw_only(), py::arg("alpha") = py::none())
      .def("zero_", [](const Tensor& a) { return ops::zero_(as_mut(a)); })
      .def("fill_", [](const Tensor& a, py::handle v) { return ops::fill_(as_mut(a), to_scalar(v)); }, py::arg("value"))
      .def("copy_", [](const Tensor& a, const Tensor& src) {
             MaybeReleaseGil g(a.numel());
             return ops::copy_(as_mut(a), src);
           }, py::arg("src"))
      .def("uniform_", [](const Tensor& a, double lo, double hi) { return ops::uniform_(as_mut(a), lo, hi); },
           py::arg("from") = 0.0, py::arg("to") = 1.0)
      .def("normal_", [](const Tensor& a, double mean, double std) { return ops::normal_(as_mut(a), mean, std); },
           py::arg("mean") = 0.0, py::arg("std") = 1.0)
      .def("masked_fill_", [](const Tensor& a, const Tensor& mask, py::handle v) {
             Tensor vt = is_tensor(v) ? v.cast<Tensor>() : Tensor::scalar(to_scalar(v), a.dtype());
             Tensor r = ops::masked_fill(a, mask, vt);
             return ops::copy_(as_mut(a), r);
           }, py::arg("mask"), py::arg("value"));

  // ---- reductions ----
  cls.def("sum", [](const Tensor& a, py::handle dim, bool keepdim, py::handle dtype) {
        std::optional<DType> dt;
        if (!dtype.is_none()) dt = to_dtype(dtype);
        const bool all = dim.is_none();
        const ops::Dims dims = all ? ops::Dims{} : to_dims(dim);  // parsed with the GIL held
        MaybeReleaseGil g(a.numel());
        if (all) return keepdim ? ops::sum(a, {}, true, dt) : ops::sum(a, dt);
        return ops::sum(a, dims, keepdim, dt);
      }, py::arg("dim") = py::none(), py::arg("keepdim") = false, py::kw_only(), py::arg("dtype") = py::none())
      .def("mean", [](const Tensor& a, py::handle dim, bool keepdim, py::handle dtype) {
        Tensor x = dtype.is_none() ? a : ops::to_dtype(a, to_dtype(dtype));
        const bool all = dim.is_none();
        const ops::Dims dims = all ? ops::Dims{} : to_dims(dim);  // parsed with the GIL held
        MaybeReleaseGil g(a.numel());
        if (all) return keepdim ? ops::mean(x, {}, true) : ops::mean(x);
        return ops::mean(x, dims, keepdim);
      }, py::arg("dim") = py::none(), py::arg("keepdim") = false, py::kw_only(), py::arg("dtype") = py::none())
      .def("prod", [](const Tensor& a, py::handle dim, bool keepdim) {
        if (dim.is_none()) return ops::prod(a);
        return ops::prod(a, dim.cast<int64_t>(), keepdim);
      }, py::arg("dim") = py::none(), py::arg("keepdim") = false)
      .def("max", [](const Tensor& a, py::object dim, bool keepdim) { return max_min(a, dim, keepdim, true); },
           py::arg("dim") = py::none(), py::arg("keepdim") = false)
      .def("min", [](const Tensor& a, py::object dim, bool keepdim) { return max_min(a, dim, keepdim, false); },
           py::arg("dim") = py::none(), py::arg("keepdim") = false)
      .def("amax", [](const Tensor& a, py::handle dim, bool keepdim) {
        return ops::amax(a, dim.is_none() ? ops::Dims{} : to_dims(dim), keepdim);
      }, py::arg("dim") = py::none(), py::arg("keepdim") = false)
      .def("amin", [](const Tensor& a, py::handle dim, bool keepdim) {
        return ops::amin(a, dim.is_none() ? ops::Dims{} : to_dims(dim), keepdim);
      }, py::arg("dim") = py::none(), py::arg("keepdim") = false)
      .def("argmax", [](const Tensor& a, py::handle dim, bool keepdim) {
        return ops::argmax(a, dim.is_none() ? std::nullopt : std::optional<int64_t>(dim.cast<int64_t>()), keepdim);
      }, py::arg("dim") = py::none(), py::arg("keepdim") = false)
      .def("argmin", [](const Tensor& a, py::handle dim, bool keepdim) {
        return ops::argmin(a, dim.is_none() ? std::nullopt : std::optional<int64_t>(dim.cast<int64_t>()), keepdim);
      }, py::arg("dim") = py::none(), py::arg("keepdim") = false)
      .def("var", [](const Tensor& a, py::handle dim, py::handle unbiased, bool keepdim, py::handle correction) {
        double c = 1.0;
        if (!correction.is_none()) c = correction.cast<double>();
        else if (!unbiased.is_none()) c = unbiased.cast<bool>() ? 1.0 : 0.0;
        if (PyBool_Check(dim.ptr())) return ops::var(a, std::nullopt, dim.cast<bool>() ? 1.0 : 0.0, keepdim);
        return ops::var(a, opt_dims(dim), c, keepdim);
      }, py::arg("dim") = py::none(), py::arg("unbiased") = py::none(), py::arg("keepdim") = false, py::kw_only(),
         py::arg("correction") = py::none())
      .def("std", [](const Tensor& a, py::handle dim, py::handle unbiased, bool keepdim, py::handle correction) {
        double c = 1.0;
        if (!correction.is_none()) c = correction.cast<double>();
        else if (!unbiased.is_none()) c = unbiased.cast<bool>() ? 1.0 : 0.0;
        if (PyBool_Check(dim.ptr())) return ops::std(a, std::nullopt, dim.cast<bool>() ? 1.0 : 0.0, keepdim);
        return ops::std(a, opt_dims(dim), c, keepdim);
      }, py::arg("dim") = py::none(), py::arg("unbiased") = py::none(), py::arg("keepdim") = false, py::kw_only(),
         py::arg("correction") = py::none())
      .def("norm", [](const Tensor& a, py::handle p, py::handle dim, bool keepdim) {
        return ops::norm(a, norm_p(p), opt_dims(dim), keepdim);
      }, py::arg("p") = "fro", py::arg("dim") = py::none(), py::arg("keepdim") = false)
      .def("logsumexp", [](const Tensor& a, py::handle dim, bool keepdim) {
        return ops::logsumexp(a, to_dims(dim), keepdim);
      }, py::arg("dim"), py::arg("keepdim") = false)
      .def("cumsum", [](const Tensor& a, int64_t dim) { return ops::cumsum(a, dim); }, py::arg("dim"))
      .def("cumprod", [](const Tensor& a, int64_t dim) { return ops::cumprod(a, dim); }, py::arg("dim"))
      .def("softmax", [](const Tensor& a, int64_t dim) {
        MaybeReleaseGil g(a.numel());
        return ops::softmax(a, dim);
      }, py::arg("dim"))
      .def("log_softmax", [](const Tensor& a, int64_t dim) {
        MaybeReleaseGil g(a.numel());
        return ops::log_softmax(a, dim);
      }, py::arg("dim"))
      .def("any", [](const Tensor& a, py::handle dim, bool keepdim) { return ops::any(a, opt_dims(dim), keepdim); },
           py::arg("dim") = py::none(), py::arg("keepdim") = false)
      .def("all", [](const Tensor& a, py::handle dim, bool keepdim) { return ops::all(a, opt_dims(dim), keepdim); },
           py::arg("dim") = py::none(), py::arg("keepdim") = false);

  // ---- shape ops ----
  cls.def("view", [](const Tensor& a, py::args args) {
        if (args.size() == 1 && !PyLong_Check(args[0].ptr()) && !py::isinstance<py::sequence>(args[0]) && !is_tensor(args[0]))
          return ops::to_dtype(a, to_dtype(args[0]));
        return ops::view(a, shape_from_args(args));
      })
      .def("reshape", [](const Tensor& a, py::args args) { return ops::reshape(a, shape_from_args(args)); })
      .def("view_as", [](const Tensor& a, const Tensor& o) { return ops::view(a, o.shape()); }, py::arg("other"))
      .def("reshape_as", [](const Tensor& a, const Tensor& o) { return ops::reshape(a, o.shape()); }, py::arg("other"))
      .def("expand", [](const Tensor& a, py::args args) { return ops::expand(a, shape_from_args(args)); })
      .def("expand_as", [](const Tensor& a, const Tensor& o) { return ops::expand(a, o.shape()); }, py::arg("other"))
      .def("repeat", [](const Tensor& a, py::args args) { return ops::repeat(a, shape_from_args(args)); })
      .def("permute", [](const Tensor& a, py::args args) { return ops::permute(a, shape_from_args(args)); })
      .def("transpose", [](const Tensor& a, int64_t d0, int64_t d1) { return ops::transpose(a, d0, d1); },
           py::arg("dim0"), py::arg("dim1"))
      .def("swapaxes", [](const Tensor& a, int64_t d0, int64_t d1) { return ops::transpose(a, d0, d1); })
      .def("t", [](const Tensor& a) { return ops::t(a); })
      .def_property_readonly("T", [](const Tensor& a) {
        std::vector<int64_t> dims;
        for (int64_t d = a.dim() - 1; d >= 0; --d) dims.push_back(d);
        return ops::permute(a, dims);
      })
      .def_property_readonly("mT", [](const Tensor& a) { return ops::transpose(a, -2, -1); })
      .def("flatten", [](const Tensor& a, int64_t s, int64_t e) { return ops::flatten(a, s, e); },
           py::arg("start_dim") = 0, py::arg("end_dim") = -1)
      .def("squeeze", [](const Tensor& a, py::handle dim) {
        if (dim.is_none()) return ops::squeeze(a);
        return ops::squeeze(a, to_dims(dim));
      }, py::arg("dim") = py::none())
      .def("unsqueeze", [](const Tensor& a, int64_t dim) { return ops::unsqueeze(a, dim); }, py::arg("dim"))
      .def("narrow", [](const Tensor& a, int64_t dim, int64_t start, int64_t len) { return ops::narrow(a, dim, start, len); },
           py::arg("dim"), py::arg("start"), py::arg("length"))
      .def("select", [](const Tensor& a, int64_t dim, int64_t index) { return ops::select(a, dim, index); },
           py::arg("dim"), py::arg("index"))
      .def("diagonal", [](const Tensor& a, int64_t off, int64_t d0, int64_t d1) { return ops::diagonal(a, off, d0, d1); },
           py::arg("offset") = 0, py::arg("dim1") = 0, py::arg("dim2") = 1)
      .def("flip", [](const Tensor& a, py::args args) { return ops::flip(a, shape_from_args(args)); })
      .def("split", [](const Tensor& a, py::handle size, int64_t dim) {
        if (PyLong_Check(size.ptr())) return ops::split(a, size.cast<int64_t>(), dim);
        return ops::split_sizes(a, to_shape(size), dim);
      }, py::arg("split_size"), py::arg("dim") = 0)
      .def("chunk", [](const Tensor& a, int64_t chunks, int64_t dim) { return ops::chunk(a, chunks, dim); },
           py::arg("chunks"), py::arg("dim") = 0)
      .def("unbind", [](const Tensor& a, int64_t dim) { return ops::unbind(a, dim); }, py::arg("dim") = 0)
      .def("contiguous", [](const Tensor& a) { return ops::contiguous(a); })
      .def("clone", [](const Tensor& a) {
        MaybeReleaseGil g(a.numel());
        return ops::clone(a);
      })
      .def("_to_dtype", [](const Tensor& a, py::handle dt) { return ops::to_dtype(a, to_dtype(dt)); })
      .def("float", [](const Tensor& a) { return ops::to_dtype(a, DType::Float32); })
      .def("double", [](const Tensor& a) { return ops::to_dtype(a, DType::Float64); })
      .def("long", [](const Tensor& a) { return ops::to_dtype(a, DType::Int64); })
      .def("int", [](const Tensor& a) { return ops::to_dtype(a, DType::Int32); })
      .def("bool", [](const Tensor& a) { return ops::to_dtype(a, DType::Bool); })
      .def("type_as", [](const Tensor& a, const Tensor& o) { return ops::to_dtype(a, o.dtype()); });

  // ---- indexing ----
  cls.def("__getitem__", [](const Tensor& a, py::handle key) { return ops::index(a, to_index(key)); })
      .def("__setitem__", [](const Tensor& a, py::handle key, py::handle value) {
        Tensor v = is_tensor(value) ? value.cast<Tensor>()
                   : is_scalar(value) ? Tensor::scalar(to_scalar(value), a.dtype())
                                      : py::module_::import("chaingrad").attr("tensor")(value, py::arg("dtype") = dtype_object(a.dtype())).cast<Tensor>();
        ops::index_put_(as_mut(a), to_index(key), v);
      })
      .def("gather", [](const Tensor& a, int64_t dim, const Tensor& index) { return ops::gather(a, dim, index); },
           py::arg("dim"), py::arg("index"))
      .def("scatter_add", [](const Tensor& a, int64_t dim, const Tensor& index, const Tensor& src) {
        return ops::scatter_add(a, dim, index, src);
      }, py::arg("dim"), py::arg("index"), py::arg("src"))
      .def("scatter", [](const Tensor& a, int64_t dim, const Tensor& index, py::handle src) {
        Tensor s = is_tensor(src) ? src.cast<Tensor>() : Tensor::full(index.shape(), to_scalar(src), a.dtype());
        return ops::scatter(a, dim, index, s);
      }, py::arg("dim"), py::arg("index"), py::arg("src"))
      .def("index_select", [](const Tensor& a, int64_t dim, const Tensor& index) { return ops::index_select(a, dim, index); },
           py::arg("dim"), py::arg("index"))
      .def("index_add", [](const Tensor& a, int64_t dim, const Tensor& index, const Tensor& src) {
        return ops::index_add(a, dim, index, src);
      }, py::arg("dim"), py::arg("index"), py::arg("source"))
      .def("masked_fill", [](const Tensor& a, const Tensor& mask, py::handle v) {
        Tensor vt = is_tensor(v) ? v.cast<Tensor>() : Tensor::scalar(to_scalar(v), a.dtype());
        return ops::masked_fill(a, mask, vt);
      }, py::arg("mask"), py::arg("value"))
      .def("index_copy", [](const Tensor& a, int64_t dim, const Tensor& index, const Tensor& src) {
        return ops::index_copy(a, dim, index, src);
      }, py::arg("dim"), py::arg("index"), py::arg("source"))
      // In-place forms: the out-of-place result written back through the shared in-place path.
      .def("scatter_", [](const Tensor& a, int64_t dim, const Tensor& index, py::handle src) {
        Tensor s = is_tensor(src) ? src.cast<Tensor>() : Tensor::full(index.shape(), to_scalar(src), a.dtype());
        return ops::copy_(as_mut(a), ops::scatter(a, dim, index, s));
      }, py::arg("dim"), py::arg("index"), py::arg("src"))
      .def("scatter_add_", [](const Tensor& a, int64_t dim, const Tensor& index, const Tensor& src) {
        return ops::copy_(as_mut(a), ops::scatter_add(a, dim, index, src));
      }, py::arg("dim"), py::arg("index"), py::arg("src"))
      .def("index_add_", [](const Tensor& a, int64_t dim, const Tensor& index, const Tensor& src) {
        return ops::copy_(as_mut(a), ops::index_add(a, dim, index, src));
      }, py::arg("dim"), py::arg("index"), py::arg("source"))
      .def("index_copy_", [](const Tensor& a, int64_t dim, const Tensor& index, const Tensor& src) {
        return ops::copy_(as_mut(a), ops::index_copy(a, dim, index, src));
      }, py::arg("dim"), py::arg("index"), py::arg("source"))
      .def("masked_select", [](const Tensor& a, const Tensor& mask) { return ops::masked_select(a, mask); }, py::arg("mask"))
      .def("nonzero", [](const Tensor& a) { return ops::nonzero(a); });
}

}  // namespace cg::python
