// Bindings for normalization layers, embedding, sorting/selection, smooth L1 / Huber losses and
// gelu's tanh form: module-level kernels for nn.functional plus the Tensor methods sort/argsort/topk.
#include "ops/ops.h"
#include "python/bindings.h"

namespace cg::python {

namespace {
constexpr const char* kSortDoc =
    "sort(input, dim=-1, descending=False, *, stable=None) -> (values, indices)\n\n"
    "Sorts along dim (NaN counts as the largest value); equal elements come in PyTorch's CPU order\n"
    "(their positions' order with stable=True).\n"
    "Returns chaingrad.return_types.sort; values carry the gradient back to the input.";
constexpr const char* kArgsortDoc =
    "argsort(input, dim=-1, descending=False, stable=False) -> Tensor\n\n"
    "The int64 indices that sort input along dim (the indices of sort()).";
constexpr const char* kTopkDoc =
    "topk(input, k, dim=-1, largest=True, sorted=True) -> (values, indices)\n\n"
    "The k largest (smallest with largest=False) elements along dim, sorted unless sorted=False.\n"
    "Returns chaingrad.return_types.topk; RuntimeError unless 0 <= k <= input.size(dim).";

std::optional<Tensor> opt_tensor(py::handle h) {
  if (h.is_none()) return std::nullopt;
  return h.cast<Tensor>();
}

py::object named(const char* type, const std::tuple<Tensor, Tensor>& vi) {
  py::object rt = py::module_::import("chaingrad.return_types").attr(type);
  return rt(std::get<0>(vi), std::get<1>(vi));
}

py::object sort(const Tensor& x, int64_t dim, bool descending, py::handle stable) {
  std::tuple<Tensor, Tensor> vi;
  {
    MaybeReleaseGil g(x.numel());
    vi = ops::sort(x, dim, descending, !stable.is_none(), !stable.is_none() && stable.cast<bool>());
  }
  return named("sort", vi);
}

py::object topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
  std::tuple<Tensor, Tensor> vi;
  {
    MaybeReleaseGil g(x.numel());
    vi = ops::topk(x, k, dim, largest, sorted);
  }
  return named("topk", vi);
}

Tensor argsort(const Tensor& x, int64_t dim, bool descending, bool stable) {
  MaybeReleaseGil g(x.numel());
  return ops::argsort(x, dim, descending, stable);
}
}  // namespace

void register_nn_norm(py::module_& m) {
  m.def("_layer_norm", [](const Tensor& x, const Shape& shape, py::handle w, py::handle b, double eps) {
    MaybeReleaseGil g(x.numel());
    return ops::layer_norm(x, shape, opt_tensor(w), opt_tensor(b), eps);
  });
  m.def("_batch_norm", [](const Tensor& x, py::handle rm, py::handle rv, py::handle w, py::handle b, bool training,
                          double momentum, double eps) {
    MaybeReleaseGil g(x.numel());
    return ops::batch_norm(x, opt_tensor(rm), opt_tensor(rv), opt_tensor(w), opt_tensor(b), training, momentum, eps);
  });
  m.def("_embedding", [](const Tensor& weight, const Tensor& indices, std::optional<int64_t> padding_idx,
                         bool scale_grad_by_freq) {
    return ops::embedding(weight, indices, padding_idx, scale_grad_by_freq);
  });
  m.def("_smooth_l1_loss", [](const Tensor& x, const Tensor& t, const std::string& r, double beta) {
    return ops::smooth_l1_loss(x, t, ops::reduction_from(r), beta);
  });
  m.def("_huber_loss", [](const Tensor& x, const Tensor& t, const std::string& r, double delta) {
    return ops::huber_loss(x, t, ops::reduction_from(r), delta);
  });
  m.def("_gelu", [](const Tensor& x, const std::string& approximate) { return ops::gelu(x, approximate); });

  m.def("sort", &sort, kSortDoc, py::arg("input"), py::arg("dim") = -1, py::arg("descending") = false,
        py::kw_only(), py::arg("stable") = py::none());
  m.def("argsort", &argsort, kArgsortDoc, py::arg("input"), py::arg("dim") = -1, py::arg("descending") = false,
        py::arg("stable") = false);
  m.def("topk", &topk, kTopkDoc, py::arg("input"), py::arg("k"), py::arg("dim") = -1, py::arg("largest") = true,
        py::arg("sorted") = true);

  TensorClass cls(m.attr("Tensor"));
  cls.def("sort", &sort, kSortDoc, py::arg("dim") = -1, py::arg("descending") = false, py::kw_only(),
          py::arg("stable") = py::none());
  cls.def("argsort", &argsort, kArgsortDoc, py::arg("dim") = -1, py::arg("descending") = false, py::arg("stable") = false);
  cls.def("topk", &topk, kTopkDoc, py::arg("k"), py::arg("dim") = -1, py::arg("largest") = true, py::arg("sorted") = true);
}

}  // namespace cg::python
