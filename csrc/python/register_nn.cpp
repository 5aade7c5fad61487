// nn.functional's sliding-window layers and einsum: convolution, unfold/fold, pooling, padding.
// The Python layer normalizes int-or-tuple arguments to lists.
#include "ops/ops.h"
#include "python/bindings.h"

namespace cg::python {

namespace {
std::optional<Tensor> opt_tensor(py::handle h) {
  if (h.is_none()) return std::nullopt;
  return h.cast<Tensor>();
}
using Ints = std::vector<int64_t>;
}  // namespace

void register_nn(py::module_& m) {
  // padding: a list of ints or the strings "same" / "valid"
  m.def("_conv", [](int spatial, const Tensor& x, const Tensor& w, py::handle b, const Ints& stride, py::handle padding,
                    const Ints& dilation, int64_t groups) {
    ops::ConvArgs args;
    args.stride = stride;
    args.dilation = dilation;
    args.groups = groups;
    if (py::isinstance<py::str>(padding)) args.padding_mode = padding.cast<std::string>();
    else args.padding = padding.cast<Ints>();
    std::optional<Tensor> bias = opt_tensor(b);
    MaybeReleaseGil g(x.numel() * std::max<int64_t>(1, w.numel() / std::max<int64_t>(1, w.shape()[0])));
    return ops::conv(spatial, x, w, bias, args);
  });
  m.def("_unfold", [](const Tensor& x, const Ints& k, const Ints& d, const Ints& p, const Ints& s) {
    MaybeReleaseGil g(x.numel());
    return ops::unfold(x, k, d, p, s);
  });
  m.def("_fold", [](const Tensor& x, const Ints& out, const Ints& k, const Ints& d, const Ints& p, const Ints& s) {
    MaybeReleaseGil g(x.numel());
    return ops::fold(x, out, k, d, p, s);
  });
  m.def("_max_pool2d", [](const Tensor& x, const Ints& k, const Ints& s, const Ints& p, const Ints& d, bool ceil) {
    MaybeReleaseGil g(x.numel());
    return ops::max_pool2d_with_indices(x, ops::PoolArgs{k, s, p, d, ceil});
  });
  m.def("_avg_pool2d", [](const Tensor& x, const Ints& k, const Ints& s, const Ints& p, bool ceil, bool count_pad,
                          std::optional<int64_t> divisor) {
    MaybeReleaseGil g(x.numel());
    return ops::avg_pool2d(x, ops::PoolArgs{k, s, p, {1, 1}, ceil}, count_pad, divisor);
  });
  m.def("_constant_pad", [](const Tensor& x, const Ints& pads, py::handle value) {
    return ops::constant_pad_nd(x, pads, value.is_none() ? Scalar(0) : to_scalar(value));
  });
  m.def("_index_pad", [](const Tensor& x, const Ints& pads, const std::string& mode) {
    return ops::index_pad(x, pads, mode);
  });
  m.def("_einsum", [](const std::string& eq, const std::vector<Tensor>& operands) {
    return ops::einsum(eq, operands);
  });
}

}  // namespace cg::python
