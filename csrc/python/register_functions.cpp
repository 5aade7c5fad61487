// Module-level functions: creation, random numbers, joins, nn.functional kernels, threads,
// fused optimizer steps and diagnostics.
#include "graph/node.h"
#include "kernels/elementwise.h"
#include "kernels/optim.h"
#include "kernels/parallel.h"
#include "ops/inplace.h"
#include "ops/ops.h"
#include "python/bindings.h"

namespace cg::python {

namespace {
DType dtype_or(py::handle dt, DType fallback) { return dt.is_none() ? fallback : to_dtype(dt); }
std::optional<Tensor> opt_tensor(py::handle h) {
  if (h.is_none()) return std::nullopt;
  return h.cast<Tensor>();
}
std::vector<Tensor> tensor_list(py::handle seq) {
  std::vector<Tensor> out;
  CG_CHECK_TYPE(py::isinstance<py::sequence>(seq) && !is_tensor(seq),
                "expected a sequence of Tensors, got ", std::string(py::str(py::type::handle_of(seq).attr("__name__"))));
  for (auto item : py::reinterpret_borrow<py::sequence>(seq)) {
    CG_CHECK_TYPE(is_tensor(item), "expected Tensor as element in the sequence, but got ",
                  std::string(py::str(py::type::handle_of(item).attr("__name__"))));
    out.push_back(item.cast<Tensor>());
  }
  return out;
}
// An optimizer state entry: a tensor or None (anything else is PyTorch's error for it).
Tensor state_tensor(py::handle h, const char* name) {
  if (h.is_none()) return Tensor();
  CG_CHECK_TYPE(is_tensor(h), "optimizer state '", name, "' must be a Tensor, but got ",
                std::string(py::str(py::type::handle_of(h).attr("__name__"))));
  return h.cast<Tensor>();
}

// The fused optimizer kernels update packed buffers of the parameter's dtype. A tensor that is
// not one (a transposed parameter, a double or strided state a user set) goes through a packed
// copy that is written back, so the step updates it in place as PyTorch's does.
struct Staged {
  Tensor user, work;
  Staged(const Tensor& t, DType dtype, bool written) : user(t), work(t) {
    if (!t.defined() || (t.dtype() == dtype && t.is_contiguous())) return;
    if (written) ops::check_can_cast(dtype, t.dtype());
    work = Tensor::empty(t.shape(), dtype);
    kernels::copy(work, t);
  }
  void write_back() const {
    if (!work.is_same(user)) kernels::copy(user, work);
  }
};
}  // namespace

void register_functions(py::module_& m) {
  // ---- creation (shape given as a tuple by the Python layer) ----
  m.def("_empty", [](const Shape& s, py::handle dt) { return Tensor::empty(s, dtype_or(dt, default_float_dtype())); });
  m.def("_zeros", [](const Shape& s, py::handle dt) { return Tensor::zeros(s, dtype_or(dt, default_float_dtype())); });
  m.def("_full", [](const Shape& s, py::handle v, py::handle dt) {
    Scalar sv = to_scalar(v);
    return Tensor::full(s, sv, dtype_or(dt, sv.default_dtype()));
  });
  m.def("_arange", [](double start, double end, double step, py::handle dt) {
    return ops::arange(start, end, step, dtype_or(dt, default_float_dtype()));
  });
  m.def("_linspace", [](double start, double end, int64_t steps, py::handle dt) {
    return ops::linspace(start, end, steps, dtype_or(dt, default_float_dtype()));
  });
  m.def("_eye", [](int64_t n, int64_t mm, py::handle dt) { return ops::eye(n, mm, dtype_or(dt, default_float_dtype())); });
  m.def("_rand", [](const Shape& s, py::handle dt) { return ops::rand(s, dtype_or(dt, default_float_dtype())); });
  m.def("_randn", [](const Shape& s, py::handle dt) { return ops::randn(s, dtype_or(dt, default_float_dtype())); });
  m.def("_randint", [](int64_t lo, int64_t hi, const Shape& s, py::handle dt) {
    return ops::randint(lo, hi, s, dtype_or(dt, DType::Int64));
  });
  m.def("randperm", [](int64_t n) { return ops::randperm(n); }, py::arg("n"));
  // The default float dtype (chaingrad.set_default_dtype checks its argument): this thread's.
  m.def("_set_default_dtype", [](py::handle dt) { set_default_float_dtype(to_dtype(dt)); });
  m.def("_get_default_dtype", [] { return dtype_object(default_float_dtype()); });
  m.def("manual_seed", [](int64_t seed) { ops::manual_seed(static_cast<uint64_t>(seed)); }, py::arg("seed"));
  m.def("initial_seed", [] { return ops::initial_seed(); });
  m.def("bernoulli", [](const Tensor& p) { return ops::bernoulli(p); }, py::arg("input"));

  // ---- joins and multi-tensor ops ----
  m.def("cat", [](py::handle ts, int64_t dim) { return ops::cat(tensor_list(ts), dim); }, py::arg("tensors"),
        py::arg("dim") = 0);
  m.def("stack", [](py::handle ts, int64_t dim) { return ops::stack(tensor_list(ts), dim); }, py::arg("tensors"),
        py::arg("dim") = 0);
  m.def("_where", [](const Tensor& c, const Tensor& a, const Tensor& b) { return ops::where(c, a, b); });

  // ---- nn.functional kernels ----
  m.def("_linear", [](const Tensor& x, const Tensor& w, py::handle b) {
    MaybeReleaseGil g(x.numel() * w.shape()[0]);
    return ops::linear(x, w, opt_tensor(b));
  });
  m.def("_cross_entropy", [](const Tensor& x, const Tensor& t, py::handle w, const std::string& r, int64_t ignore, double ls) {
    return ops::cross_entropy(x, t, opt_tensor(w), ops::reduction_from(r), ignore, ls);
  });
  m.def("_nll_loss", [](const Tensor& x, const Tensor& t, py::handle w, const std::string& r, int64_t ignore) {
    return ops::nll_loss(x, t, opt_tensor(w), ops::reduction_from(r), ignore);
  });
  m.def("_mse_loss", [](const Tensor& x, const Tensor& t, const std::string& r) {
    return ops::mse_loss(x, t, ops::reduction_from(r));
  });
  m.def("_l1_loss", [](const Tensor& x, const Tensor& t, const std::string& r) {
    return ops::l1_loss(x, t, ops::reduction_from(r));
  });
  m.def("_binary_cross_entropy", [](const Tensor& x, const Tensor& t, py::handle w, const std::string& r) {
    return ops::binary_cross_entropy(x, t, opt_tensor(w), ops::reduction_from(r));
  });
  m.def("_binary_cross_entropy_with_logits", [](const Tensor& x, const Tensor& t, py::handle w, py::handle pw,
                                                const std::string& r) {
    return ops::binary_cross_entropy_with_logits(x, t, opt_tensor(w), opt_tensor(pw), ops::reduction_from(r));
  });
  m.def("_dropout", [](const Tensor& x, double p, bool training) { return ops::dropout(x, p, training); });

  // ---- fused optimizer steps (argument order documented in chaingrad/optim/_functional.py) ----
  m.def("_sgd_step_", [](const Tensor& p, const Tensor& g, py::handle buf, double lr, double momentum,
                         double dampening, bool nesterov, double wd, bool maximize, bool first) {
    Staged sp(p, p.dtype(), true), sg(g, p.dtype(), false), sb(state_tensor(buf, "momentum_buffer"), p.dtype(), true);
    {
      MaybeReleaseGil gil(p.numel());
      kernels::sgd_step(sp.work, sg.work, sb.work, {lr, momentum, dampening, wd, nesterov, maximize, first});
    }
    sp.write_back();
    sb.write_back();
    p.bump_version();
  });
  m.def("_adam_step_", [](const Tensor& p, const Tensor& g, py::handle m1, py::handle m2, py::handle vmax,
                          int64_t step, double lr, double b1, double b2, double eps, double wd, bool amsgrad,
                          bool decoupled, bool maximize) {
    Staged sp(p, p.dtype(), true), sg(g, p.dtype(), false);
    Staged s1(state_tensor(m1, "exp_avg"), p.dtype(), true), s2(state_tensor(m2, "exp_avg_sq"), p.dtype(), true);
    Staged s3(state_tensor(vmax, "max_exp_avg_sq"), p.dtype(), true);
    {
      MaybeReleaseGil gil(p.numel());
      kernels::adam_step(sp.work, sg.work, s1.work, s2.work, s3.work,
                         {lr, b1, b2, eps, wd, step, amsgrad, decoupled, maximize});
    }
    for (Staged* s : {&sp, &s1, &s2, &s3}) s->write_back();
    p.bump_version();
  });

  // ---- threads and diagnostics ----
  m.def("get_num_threads", &get_num_threads);
  m.def("set_num_threads", &set_num_threads, py::arg("num"));
  m.def("_live_counts", [] {
    py::dict d;
    d["nodes"] = autograd::Node::live_count();
    d["storages"] = Storage::live_count();
    d["storage_bytes"] = Storage::live_bytes();
    d["tensors"] = TensorImpl::live_count();
    return d;
  });
}

}  // namespace cg::python
