// Forward-mode AD bindings (chaingrad.autograd.forward_ad): levels, dual tensors, tangents.
#include "engine/jvp.h"
#include "graph/meta.h"
#include "ops/dual.h"
#include "python/bindings.h"

namespace cg::python {

namespace fw = autograd::forward_ad;

void register_forward_ad(py::module_& m) {
  m.def("_enter_dual_level", [] { return fw::enter_dual_level(); });
  m.def("_exit_dual_level", [](int64_t level) {
    (void)level;
    fw::exit_level();
  }, py::arg("level"));
  m.def("_make_dual", [](const Tensor& primal, const Tensor& tangent) { return ops::make_dual(primal, tangent); },
        py::arg("tensor"), py::arg("tangent"));
  m.def("_fw_grad", [](const Tensor& t) -> py::object {
    Tensor g = fw::tangent(t);
    return g.defined() ? py::cast(g) : py::none();
  }, py::arg("tensor"));
  m.def("_set_fw_grad", [](const Tensor& t, const Tensor& tangent) {
    CG_CHECK(tangent.shape() == t.shape(), "Trying to set a forward gradient that has a different size than that of "
             "the original Tensor, this is not supported. Tensor is of size ", shape_str(t.shape()),
             " while the given forward gradient is of size ", shape_str(tangent.shape()), ".");
    fw::set_tangent(t, tangent);
  }, py::arg("tensor"), py::arg("tangent"));
  m.def("_primal_view", [](const Tensor& t) { return ops::primal_view(t); }, py::arg("tensor"));
  m.def("_forward_ad_counts", [] {
    py::dict d;
    d["native"] = fw::counts().native;
    d["fallback"] = fw::counts().fallback;
    return d;
  });
  m.def("_reset_forward_ad_counts", [] { fw::counts() = fw::Counts{}; });
}

}  // namespace cg::python
