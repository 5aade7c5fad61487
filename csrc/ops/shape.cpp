// Views and shape ops. A view shares its input's storage; its VJP maps the gradient back
// to the input's shape. Views remember their base so in-place writes through them rebase it.
#include "ops/shape.h"

#include <algorithm>
#include <numeric>

#include "kernels/elementwise.h"
#include "ops/common.h"
#include "ops/ops.h"
#include "ops/shape_internal.h"

namespace cg::ops {

using autograd::any_requires_grad;

namespace {

// A view's history rebuilt from its base's after an in-place write: a strided window of the base.
Tensor replay_as_window(const Tensor& base, const Tensor& view) {
  return as_strided(base, view.shape(), view.strides(), view.offset());
}

// Marks `out` as a view of `input` (of its base, when `input` is a view itself).
Tensor finish_view(const Tensor& input, Tensor out) {
  autograd::forward_ad::note_view(input, out);
  const bool grad_mode = autograd::GradMode::is_enabled();
  // Under no_grad only views of tensors that require grad are marked: an in-place op on such a
  // view with grad mode back on is PyTorch's "view was created in no_grad mode" error.
  if (!grad_mode && !autograd::requires_grad(input)) return out;
  const autograd::AutogradMeta* im = autograd::meta(input);
  autograd::AutogradMeta& m = autograd::meta_mut(out);
  m.no_grad_view = !grad_mode;
  m.is_view = true;
  m.extras().view_base = (im && im->is_view && im->view_base().defined()) ? im->view_base() : input;
  m.extras().replay_view = &replay_as_window;
  m.multi_output_view = im && im->multi_output_view;  // views of such views keep the restriction
  return out;
}

struct ReshapeBackward : BackwardNode<ReshapeBackward> {  // view, reshape, flatten, squeeze, unsqueeze
  Shape input_shape;
  const char* node_name = "ViewBackward0";
  TensorList apply(TensorList&& g) override { return {reshape(g[0], input_shape)}; }
  TensorList jvp(const TensorList& t) override { return {reshape(t[0], output_meta[0].shape)}; }
  static auto saved_fields() {
    return std::make_tuple(saved("self_sym_sizes", &ReshapeBackward::input_shape));
  }
};

Tensor record_reshape(const Tensor& x, Tensor out, const char* name, bool is_view = true) {
  if (any_requires_grad({&x})) {
    auto node = ReshapeBackward::make({&x});
    node->input_shape = x.shape();
    node->node_name = name;
    record(node, out);
  }
  return is_view ? finish_view(x, std::move(out)) : out;
}

// Gradient of a strided window into the input: scatter it into zeros of the input's shape.
// Geometry (shape/strides/offset) is expressed on a contiguous layout of the input.
struct WindowBackward : BackwardNode<WindowBackward> {
  Shape input_shape, shape, strides;
  int64_t offset = 0;
  const char* node_name = "AsStridedBackward0";
  TensorList apply(TensorList&& g) override;
  TensorList jvp(const TensorList& t) override {  // the same window of the tangent
    Tensor c = contiguous(t[0]);
    return {as_strided(c, shape, strides, c.offset() + offset)};
  }
  static auto saved_fields() {
    return std::make_tuple(saved("self_sym_sizes", &WindowBackward::input_shape));
  }
};

// zeros(input_shape) with the window set to g; differentiable (its VJP reads the window back).
struct WindowScatterBackward : BackwardNode<WindowScatterBackward> {
  Shape shape, strides;
  int64_t offset = 0;
  TensorList apply(TensorList&& g) override {
    Tensor gc = contiguous(g[0]);
    return {as_strided(gc, shape, strides, gc.offset() + offset)};
  }
  std::string name() const override { return "AsStridedScatterBackward0"; }
  TensorList jvp(const TensorList& t) override;
};

Tensor window_scatter(const Tensor& g, const Shape& input_shape, const Shape& shape, const Shape& strides,
                      int64_t offset) {
  Tensor out = Tensor::zeros(input_shape, g.dtype());
  Tensor window = out.as_strided(shape, strides, offset);
  // Overlapping windows (expand-like strides) accumulate, non-overlapping ones just copy.
  kernels::add_scaled(window, g, 1.0, window);
  if (any_requires_grad({&g})) {
    auto node = WindowScatterBackward::make({&g});
    node->shape = shape;
    node->strides = strides;
    node->offset = offset;
    record(node, out);
  }
  return out;
}

TensorList WindowBackward::apply(TensorList&& g) { return {window_scatter(g[0], input_shape, shape, strides, offset)}; }
// Linear: the tangent scattered into the same window.
TensorList WindowScatterBackward::jvp(const TensorList& t) {
  return {window_scatter(t[0], output_meta[0].shape, shape, strides, offset)};
}

Tensor record_window(const Tensor& x, Tensor out, const Shape& shape, const Shape& cstrides, int64_t coffset,
                     const char* name) {
  if (any_requires_grad({&x})) {
    auto node = WindowBackward::make({&x});
    node->input_shape = x.shape();
    node->shape = shape;
    node->strides = cstrides;
    node->offset = coffset;
    node->node_name = name;
    record(node, out);
  }
  return finish_view(x, std::move(out));
}

}  // namespace

// ---- reshape family --------------------------------------------------------------------------
Tensor view(const Tensor& x, const Shape& shape) {
  Shape target = infer_size(shape, x.numel());
  Shape strides;
  if (!compute_view_strides(x.shape(), x.strides(), target, strides))
    throw RuntimeError(
        "view size is not compatible with input tensor's size and stride (at least one dimension spans across two "
        "contiguous subspaces). Use .reshape(...) instead.");
  return record_reshape(x, x.as_strided(target, strides, x.offset()), "ViewBackward0");
}

Tensor alias(const Tensor& x) { return record_reshape(x, x.alias(), "AliasBackward0"); }

Tensor unsafe_view(const Tensor& x, const Shape& shape) {
  Shape target = infer_size(shape, x.numel());
  Shape strides;
  Tensor c = x;
  if (!compute_view_strides(x.shape(), x.strides(), target, strides)) {
    c = contiguous(x);
    strides = contiguous_strides(target);
  }
  return record_reshape(c, c.as_strided(target, strides, c.offset()), "UnsafeViewBackward0", false);
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  Shape target = infer_size(shape, x.numel());
  Shape strides;
  if (compute_view_strides(x.shape(), x.strides(), target, strides))
    return record_reshape(x, x.as_strided(target, strides, x.offset()), "ViewBackward0");
  Tensor c = contiguous(x);
  return record_reshape(c, c.as_strided(target, contiguous_strides(target), c.offset()), "UnsafeViewBackward0");
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  if (x.dim() == 0) return reshape(x, {1});
  int64_t s = wrap_dim(start_dim, x.dim()), e = wrap_dim(end_dim, x.dim());
  CG_CHECK(s <= e, "flatten() has invalid args: start_dim cannot come after end_dim");
  if (s == e) return x;
  Shape shape(x.shape().begin(), x.shape().begin() + s);
  int64_t n = 1;
  for (int64_t d = s; d <= e; ++d) n *= x.shape()[d];
  shape.push_back(n);
  shape.insert(shape.end(), x.shape().begin() + e + 1, x.shape().end());
  return reshape(x, shape);
}

Tensor squeeze(const Tensor& x) {
  Shape shape, strides;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (x.shape()[d] != 1) { shape.push_back(x.shape()[d]); strides.push_back(x.strides()[d]); }
  return record_reshape(x, x.as_strided(shape, strides, x.offset()), "SqueezeBackward0");
}

Tensor squeeze_named(const Tensor& x, const std::vector<int64_t>& dims, const char* node_name) {
  std::vector<bool> drop = dims_mask(dims, x.dim());
  Shape shape, strides;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (!(drop[d] && x.shape()[d] == 1)) { shape.push_back(x.shape()[d]); strides.push_back(x.strides()[d]); }
  return record_reshape(x, x.as_strided(shape, strides, x.offset()), node_name);
}

Tensor squeeze(const Tensor& x, const std::vector<int64_t>& dims) {
  return squeeze_named(x, dims, dims.size() == 1 ? "SqueezeBackward1" : "SqueezeBackward2");
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  int64_t d = wrap_dim(dim, x.dim() + 1);
  Shape shape = x.shape(), strides = x.strides();
  int64_t st = d < x.dim() ? x.strides()[d] * x.shape()[d] : 1;
  shape.insert(shape.begin() + d, 1);
  strides.insert(strides.begin() + d, st);
  return record_reshape(x, x.as_strided(shape, strides, x.offset()), "UnsqueezeBackward0");
}

// ---- transpose / permute / expand ------------------------------------------------------------
struct PermuteBackward0 : BackwardNode<PermuteBackward0> {
  std::vector<int64_t> inverse;
  int64_t dim0 = 0, dim1 = 0;  // transpose's arguments (wrapped)
  const char* node_name = "PermuteBackward0";
  TensorList apply(TensorList&& g) override { return {permute(g[0], inverse)}; }
  TensorList jvp(const TensorList& t) override {  // the forward permutation is inverse's inverse
    std::vector<int64_t> dims(inverse.size());
    for (size_t i = 0; i < inverse.size(); ++i) dims[static_cast<size_t>(inverse[i])] = static_cast<int64_t>(i);
    return {permute(t[0], dims)};
  }
  // PyTorch's names: dims (permute), dim0/dim1 (transpose); TBackward0 saves nothing.
  static auto saved_fields() {
    return std::make_tuple(saved("dims", [](const PermuteBackward0& n) {
                             if (std::string(n.node_name) != "PermuteBackward0") return SavedValue();
                             Shape dims(n.inverse.size());
                             for (size_t i = 0; i < dims.size(); ++i) dims[n.inverse[i]] = static_cast<int64_t>(i);
                             return SavedValue(dims);
                           }),
                           saved("dim0", [](const PermuteBackward0& n) {
                             return std::string(n.node_name) == "TransposeBackward0" ? SavedValue(n.dim0) : SavedValue();
                           }),
                           saved("dim1", [](const PermuteBackward0& n) {
                             return std::string(n.node_name) == "TransposeBackward0" ? SavedValue(n.dim1) : SavedValue();
                           }));
  }
};

static Tensor permute_named(const Tensor& x, const std::vector<int64_t>& dims, const char* name, int64_t dim0 = 0,
                            int64_t dim1 = 0) {
  CG_CHECK(static_cast<int64_t>(dims.size()) == x.dim(),
           "permute(sparse_coo): number of dimensions in the tensor input does not match the length of the desired "
           "ordering of dimensions i.e. input.dim() = ", x.dim(), " is not equal to len(dims) = ", dims.size());
  std::vector<bool> seen(x.dim(), false);
  Shape shape(x.dim()), strides(x.dim());
  std::vector<int64_t> inverse(x.dim());
  for (int64_t i = 0; i < x.dim(); ++i) {
    int64_t d = wrap_dim(dims[i], x.dim());
    CG_CHECK(!seen[d], "permute(): duplicate dims are not allowed.");
    seen[d] = true;
    shape[i] = x.shape()[d];
    strides[i] = x.strides()[d];
    inverse[d] = i;
  }
  Tensor out = x.as_strided(shape, strides, x.offset());
  if (any_requires_grad({&x})) {
    auto node = PermuteBackward0::make({&x});
    node->inverse = inverse;
    node->node_name = name;
    node->dim0 = dim0;
    node->dim1 = dim1;
    record(node, out);
  }
  return finish_view(x, std::move(out));
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) { return permute_named(x, dims, "PermuteBackward0"); }

Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) {
  int64_t a = wrap_dim(d0, x.dim()), b = wrap_dim(d1, x.dim());
  std::vector<int64_t> dims(x.dim());
  std::iota(dims.begin(), dims.end(), 0);
  if (x.dim()) std::swap(dims[a], dims[b]);
  return permute_named(x, dims, "TransposeBackward0", a, b);
}

Tensor t(const Tensor& x) {
  CG_CHECK(x.dim() <= 2, "t() expects a tensor with <= 2 dimensions, but self is ", x.dim(), "D");
  if (x.dim() < 2) return permute_named(x, x.dim() ? std::vector<int64_t>{0} : std::vector<int64_t>{}, "TBackward0");
  return permute_named(x, {1, 0}, "TBackward0");
}

struct ExpandBackward0 : BackwardNode<ExpandBackward0> {
  Shape input_shape;
  DType dtype = DType::Float32;
  TensorList apply(TensorList&& g) override { return {sum_to(g[0], input_shape, dtype)}; }
  TensorList jvp(const TensorList& t) override { return {expand(t[0], output_meta[0].shape)}; }
  std::string name() const override { return "ExpandBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("self_sym_sizes", &ExpandBackward0::input_shape));
  }
};

Tensor expand(const Tensor& x, const Shape& shape) {
  CG_CHECK(shape.size() >= static_cast<size_t>(x.dim()), "expand(", legacy_type_name(x.dtype()), "{",
           shape_str(x.shape()), "}, size=", shape_str(shape),
           "): the number of sizes provided (", shape.size(), ") must be greater or equal to the number of dimensions in the tensor (",
           x.dim(), ")");
  const int64_t lead = static_cast<int64_t>(shape.size()) - x.dim();
  Shape out_shape(shape.size()), strides(shape.size());
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    if (i < lead) {
      CG_CHECK(shape[i] >= 0, "The expanded size of the tensor (", shape[i], ") isn't allowed in a leading, non-existing dimension ", i);
      out_shape[i] = shape[i];
      strides[i] = 0;
      continue;
    }
    int64_t have = x.shape()[i - lead];
    int64_t want = shape[i] == -1 ? have : shape[i];
    if (have == want) {
      out_shape[i] = have;
      strides[i] = x.strides()[i - lead];
    } else {
      CG_CHECK(have == 1, "The expanded size of the tensor (", want, ") must match the existing size (", have,
               ") at non-singleton dimension ", i, ".  Target sizes: ", shape_str(shape), ".  Tensor sizes: ",
               shape_str(x.shape()));
      out_shape[i] = want;
      strides[i] = 0;
    }
  }
  Tensor out = x.as_strided(out_shape, strides, x.offset());
  if (any_requires_grad({&x})) {
    auto node = ExpandBackward0::make({&x});
    node->input_shape = x.shape();
    node->dtype = x.dtype();
    record(node, out);
  }
  return finish_view(x, std::move(out));
}

// ---- windows: narrow / select / slice / diagonal / as_strided ---------------------------------
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t stop, int64_t step) {
  return slice_named(x, dim, start, stop, step, "SliceBackward0");
}

Tensor slice_named(const Tensor& x, int64_t dim, int64_t start, int64_t stop, int64_t step, const char* name) {
  CG_CHECK(x.dim() > 0, "slice() cannot be applied to a 0-dim tensor.");
  CG_CHECK_VALUE(step > 0, "step must be greater than zero");
  int64_t d = wrap_dim(dim, x.dim());
  const int64_t n = x.shape()[d];
  if (start < 0) start += n;
  if (stop < 0) stop += n;
  start = std::clamp<int64_t>(start, 0, n);
  stop = std::clamp<int64_t>(stop, start, n);
  const int64_t len = (stop - start + step - 1) / step;
  Shape shape = x.shape(), strides = x.strides();
  shape[d] = len;
  strides[d] *= step;
  Tensor out = x.as_strided(shape, strides, x.offset() + start * x.strides()[d]);
  Shape cs = contiguous_strides(x.shape());
  Shape cstr = cs;
  cstr[d] *= step;
  return record_window(x, out, shape, cstr, start * cs[d], name);
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  CG_CHECK(x.dim() > 0, "narrow() cannot be applied to a 0-dim tensor.");
  CG_CHECK(length >= 0, "narrow(): length must be non-negative.");
  int64_t d = wrap_dim(dim, x.dim());
  const int64_t n = x.shape()[d];
  CG_CHECK_INDEX(start >= -n && start <= n, "start out of range (expected to be in range of [", -n, ", ", n, "], but got ",
                 start, ")");
  if (start < 0) start += n;
  CG_CHECK(length >= 0 && start + length <= n, "start (", start, ") + length (", length, ") exceeds dimension size (", n, ").");
  return slice(x, d, start, start + length, 1);
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) { return select_named(x, dim, index, "SelectBackward0"); }

Tensor select_named(const Tensor& x, int64_t dim, int64_t index, const char* name) {
  CG_CHECK_INDEX(x.dim() > 0, "select() cannot be applied to a 0-dim tensor.");
  int64_t d = wrap_dim(dim, x.dim());
  const int64_t n = x.shape()[d];
  CG_CHECK_INDEX(index >= -n && index < n, "select(): index ", index, " out of range for tensor of size ",
                 shape_str(x.shape()), " at dimension ", d);
  if (index < 0) index += n;
  Shape shape = x.shape(), strides = x.strides();
  shape.erase(shape.begin() + d);
  strides.erase(strides.begin() + d);
  Tensor out = x.as_strided(shape, strides, x.offset() + index * x.strides()[d]);
  Shape cs = contiguous_strides(x.shape());
  int64_t coff = index * cs[d];
  cs.erase(cs.begin() + d);
  return record_window(x, out, shape, cs, coff, name);
}

Tensor diagonal(const Tensor& x, int64_t offset, int64_t d0, int64_t d1) {
  int64_t a = wrap_dim(d0, x.dim()), b = wrap_dim(d1, x.dim());
  CG_CHECK(a != b, "diagonal dimensions cannot be identical ", d0, ", ", d1);
  int64_t len = offset >= 0 ? std::max<int64_t>(0, std::min(x.shape()[a], x.shape()[b] - offset))
                            : std::max<int64_t>(0, std::min(x.shape()[a] + offset, x.shape()[b]));
  auto geometry = [&](const Shape& st, Shape& shape, Shape& strides, int64_t& off) {
    off = len == 0 ? 0 : (offset >= 0 ? offset * st[b] : -offset * st[a]);
    for (int64_t d = 0; d < x.dim(); ++d)
      if (d != a && d != b) { shape.push_back(x.shape()[d]); strides.push_back(st[d]); }
    shape.push_back(len);
    strides.push_back(st[a] + st[b]);
  };
  Shape shape, strides, cshape, cstrides;
  int64_t off, coff;
  geometry(x.strides(), shape, strides, off);
  geometry(contiguous_strides(x.shape()), cshape, cstrides, coff);
  return record_window(x, x.as_strided(shape, strides, x.offset() + off), cshape, cstrides, coff, "DiagonalBackward0");
}

Tensor as_strided(const Tensor& x, const Shape& shape, const Shape& strides, int64_t offset) {
  // `offset` is absolute in x's storage; the window geometry is taken relative to x's own layout.
  CG_CHECK(shape.size() == strides.size(), "mismatch in length of strides and shape");
  Tensor out = x.as_strided(shape, strides, offset);
  CG_CHECK(x.is_contiguous() || !any_requires_grad({&x}), "as_strided backward needs a contiguous input");
  return record_window(x, out, shape, strides, offset - x.offset(), "AsStridedBackward0");
}

}  // namespace cg::ops
