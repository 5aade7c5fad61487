// Joining and splitting: cat / stack / split / chunk / unbind (one shared node for the outputs
// of a split), repeat and flip, forward and VJP side by side.
#include "ops/shape.h"

#include <algorithm>
#include <numeric>

#include "kernels/elementwise.h"
#include "ops/common.h"
#include "ops/ops.h"
#include "ops/shape_internal.h"

namespace cg::ops {

using autograd::any_requires_grad;

// ---- cat / stack / split ---------------------------------------------------------------------
struct CatBackward0 : BackwardNode<CatBackward0> {
  int64_t dim = 0;
  std::vector<int64_t> sizes;
  std::vector<Shape> shapes;
  std::vector<DType> dtypes;
  const char* node_name = "CatBackward0";
  TensorList apply(TensorList&& g) override {
    TensorList r(sizes.size());
    int64_t start = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (should_compute_output(i)) {
        r[i] = shapes[i].size() == 1 && shapes[i][0] == 0 && g[0].dim() > 1 ? Tensor::zeros(shapes[i], g[0].dtype())
                                                                             : narrow(g[0], dim, start, sizes[i]);
        if (r[i].dtype() != dtypes[i]) r[i] = to_dtype(r[i], dtypes[i]);
      }
      start += sizes[i];
    }
    return r;
  }
  TensorList jvp(const TensorList& t) override {  // the tangents concatenated (zeros for constants)
    DType dt = DType::Float32;
    for (const Tensor& x : t)
      if (x.defined()) dt = x.dtype();
    std::vector<Tensor> parts;
    for (size_t i = 0; i < sizes.size(); ++i) parts.push_back(t[i].defined() ? t[i] : Tensor::zeros(shapes[i], dt));
    return {cat(parts, dim)};
  }
  static auto saved_fields() {
    return std::make_tuple(saved("dim", &CatBackward0::dim));
  }
};

static Tensor cat_named(const std::vector<Tensor>& xs, int64_t dim, const char* name);

Tensor cat(const std::vector<Tensor>& xs, int64_t dim) { return cat_named(xs, dim, "CatBackward0"); }

static Tensor cat_named(const std::vector<Tensor>& xs, int64_t dim, const char* name) {
  CG_CHECK(!xs.empty(), "torch.cat(): expected a non-empty list of Tensors");
  // 1-D empty tensors are skipped, as in PyTorch's legacy rule.
  const Tensor* ref = nullptr;
  DType dt = xs[0].dtype();
  for (const Tensor& x : xs) {
    dt = promote_types(dt, x.dtype());
    if (!(x.dim() == 1 && x.numel() == 0) && !ref) ref = &x;
  }
  if (!ref) ref = &xs[0];
  CG_CHECK(ref->dim() > 0, "zero-dimensional tensor (at position 0) cannot be concatenated");
  int64_t d = wrap_dim(dim, ref->dim());
  Shape shape = ref->shape();
  int64_t total = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    if (x.dim() == 1 && x.numel() == 0) continue;
    CG_CHECK(x.dim() == ref->dim(), "Tensors must have same number of dimensions: got ", ref->dim(), " and ", x.dim());
    for (int64_t k = 0; k < x.dim(); ++k)
      CG_CHECK(k == d || x.shape()[k] == shape[k], "Sizes of tensors must match except in dimension ", d,
               ". Expected size ", shape[k], " but got size ", x.shape()[k], " for tensor number ", i, " in the list.");
    total += x.shape()[d];
  }
  shape[d] = total;
  Tensor out = Tensor::empty(shape, dt);
  int64_t start = 0;
  std::vector<int64_t> sizes;
  std::vector<Shape> shapes;
  for (const Tensor& x : xs) {
    bool skip = x.dim() == 1 && x.numel() == 0;
    int64_t len = skip ? 0 : x.shape()[d];
    sizes.push_back(len);
    shapes.push_back(x.shape());
    if (skip) continue;
    Shape st = out.strides();
    Shape sh = out.shape();
    sh[d] = len;
    kernels::copy(out.as_strided(sh, st, start * st[d]), x);
    start += len;
  }
  bool any = false;
  for (const Tensor& x : xs) any |= any_requires_grad({&x});
  if (any) {
    auto node = autograd::make_node<CatBackward0>();
    for (const Tensor& x : xs) node->next_edges.push_back(autograd::requires_grad(x) ? autograd::gradient_edge(x) : autograd::Edge{});
    if (autograd::forward_ad::active()) autograd::forward_ad::capture_inputs(node, xs);
    node->dim = d;
    node->sizes = sizes;
    node->shapes = shapes;
    for (const Tensor& x : xs) node->dtypes.push_back(x.dtype());
    node->node_name = name;
    record(node, out);
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
  CG_CHECK(!xs.empty(), "stack expects a non-empty TensorList");
  int64_t d = wrap_dim(dim, xs[0].dim() + 1);
  std::vector<Tensor> us;
  for (size_t i = 0; i < xs.size(); ++i) {
    CG_CHECK(xs[i].shape() == xs[0].shape(), "stack expects each tensor to be equal size, but got ",
             shape_str(xs[0].shape()), " at entry 0 and ", shape_str(xs[i].shape()), " at entry ", i);
    us.push_back(unsqueeze(xs[i], d));
  }
  return cat_named(us, d, "StackBackward0");
}

static std::vector<Tensor> split_named(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim,
                                       const char* name);

namespace {
// One node for all the outputs of split/chunk/unbind, as in PyTorch: a hook on one output runs
// (with None) when backward goes through another, and the outputs may not be written in place.
struct MultiViewBackward : BackwardNode<MultiViewBackward> {
  int64_t dim = 0;
  bool stacked = false;  // unbind: the outputs lost `dim`
  const char* node_name = "SplitBackward0";
  TensorList apply(TensorList&& g) override { return {stacked ? stack(g, dim) : cat(g, dim)}; }
  TensorList jvp(const TensorList& t) override {  // the same pieces of the tangent
    TensorList r;
    int64_t start = 0;
    for (size_t k = 0; k < output_meta.size(); ++k) {
      if (stacked) {
        r.push_back(select(t[0], dim, static_cast<int64_t>(k)));
        continue;
      }
      const int64_t d = dim < 0 ? dim + t[0].dim() : dim;
      const int64_t len = output_meta[k].shape[static_cast<size_t>(d)];
      r.push_back(narrow(t[0], dim, start, len));
      start += len;
    }
    return r;
  }
  static auto saved_fields() {
    return std::make_tuple(saved("dim", &MultiViewBackward::dim));
  }
};

// Replaces the per-output histories of `outs` (views of x) by one shared node.
std::vector<Tensor> share_history(const Tensor& x, std::vector<Tensor> outs, int64_t dim, bool stacked,
                                  const char* name) {
  if (outs.empty() || !any_requires_grad({&x})) return outs;
  auto node = MultiViewBackward::make({&x});
  node->dim = dim;
  node->stacked = stacked;
  node->node_name = name;
  for (Tensor& o : outs) {
    record(node, o);
    autograd::meta_mut(o).multi_output_view = true;
  }
  return outs;
}
}  // namespace

std::vector<Tensor> split_sizes(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  return split_named(x, sizes, dim, "SplitWithSizesBackward0");
}

static std::vector<Tensor> split_named(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim,
                                       const char* name) {
  CG_CHECK(x.dim() > 0, "split expects at least a 1-dimensional tensor");
  int64_t d = wrap_dim(dim, x.dim());
  int64_t total = 0;
  for (int64_t s : sizes) total += s;
  CG_CHECK(total == x.shape()[d], "split_with_sizes expects split_sizes to sum exactly to ", x.shape()[d],
           " (input tensor's size at dimension ", d, "), but got split_sizes=", shape_str(sizes));
  std::vector<Tensor> out;
  int64_t start = 0;
  for (int64_t s : sizes) {
    CG_CHECK(s >= 0, "split_with_sizes expects split_sizes have only non-negative entries, but got split_sizes=",
             shape_str(sizes));
    out.push_back(slice_named(x, d, start, start + s, 1, name));
    start += s;
  }
  return share_history(x, std::move(out), d, false, name);
}

std::vector<Tensor> split(const Tensor& x, int64_t size, int64_t dim) {
  CG_CHECK(x.dim() > 0, "split expects at least a 1-dimensional tensor");
  int64_t d = wrap_dim(dim, x.dim());
  const int64_t n = x.shape()[d];
  CG_CHECK(size >= 0, "split expects split_size be non-negative, but got split_size=", size);
  CG_CHECK(size > 0 || n == 0, "split_size can only be 0 if dimension size is 0, but got dimension size of ", n);
  std::vector<int64_t> sizes;
  for (int64_t s = 0; s < n; s += size) sizes.push_back(std::min(size, n - s));
  if (sizes.empty()) sizes.push_back(0);
  return split_named(x, sizes, d, "SplitBackward0");
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  CG_CHECK(x.dim() > 0, "chunk expects at least a 1-dimensional tensor");
  CG_CHECK(chunks > 0, "chunk expects `chunks` to be greater than 0, got: ", chunks);
  int64_t d = wrap_dim(dim, x.dim());
  // An empty dim splits into `chunks` empty pieces, as PyTorch's chunk does.
  if (x.shape()[d] == 0) return split_named(x, std::vector<int64_t>(chunks, 0), d, "SplitWithSizesBackward0");
  int64_t size = (x.shape()[d] + chunks - 1) / chunks;
  return split(x, size, d);
}

std::vector<Tensor> unbind(const Tensor& x, int64_t dim) {
  CG_CHECK_INDEX(x.dim() > 0, "Dimension specified as ", dim, " but tensor has no dimensions");
  int64_t d = wrap_dim(dim, x.dim());
  std::vector<Tensor> out;
  for (int64_t i = 0; i < x.shape()[d]; ++i) out.push_back(select_named(x, d, i, "UnbindBackward0"));
  return share_history(x, std::move(out), d, true, "UnbindBackward0");
}

// ---- repeat / flip ---------------------------------------------------------------------------
struct RepeatBackward0 : BackwardNode<RepeatBackward0> {
  Shape input_shape, repeats;
  TensorList apply(TensorList&& g) override {
    // View the gradient as [r0, s0, r1, s1, ...] and sum the repeat axes.
    const int64_t lead = static_cast<int64_t>(repeats.size() - input_shape.size());
    Shape padded(lead, 1);
    padded.insert(padded.end(), input_shape.begin(), input_shape.end());
    Shape split_shape;
    Dims dims;
    for (size_t i = 0; i < repeats.size(); ++i) {
      dims.push_back(static_cast<int64_t>(split_shape.size()));
      split_shape.push_back(repeats[i]);
      split_shape.push_back(padded[i]);
    }
    Tensor s = sum(reshape(g[0], split_shape), dims, false);
    return {reshape(s, input_shape)};
  }
  TensorList jvp(const TensorList& t) override { return {repeat(t[0], repeats)}; }  // linear: the tangent repeated
  std::string name() const override { return "RepeatBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("repeats", &RepeatBackward0::repeats),
                           saved("self_sym_sizes", &RepeatBackward0::input_shape));
  }
};

Tensor repeat(const Tensor& x, const Shape& repeats) {
  CG_CHECK(repeats.size() >= static_cast<size_t>(x.dim()),
           "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor");
  const int64_t lead = static_cast<int64_t>(repeats.size()) - x.dim();
  Shape padded(lead, 1);
  padded.insert(padded.end(), x.shape().begin(), x.shape().end());
  // Expand a [1, s0, 1, s1, ...] view to [r0, s0, r1, s1, ...] and copy.
  Shape inter, expanded, out_shape;
  for (size_t i = 0; i < repeats.size(); ++i) {
    inter.push_back(1);
    inter.push_back(padded[i]);
    expanded.push_back(repeats[i]);
    expanded.push_back(padded[i]);
    out_shape.push_back(repeats[i] * padded[i]);
  }
  Tensor xd = autograd::detach(x);
  Tensor src = expand(reshape(contiguous(xd), inter), expanded);
  Tensor out = Tensor::empty(expanded, x.dtype());
  kernels::copy(out, src);
  out = out.as_strided(out_shape, contiguous_strides(out_shape), 0);
  if (any_requires_grad({&x})) {
    auto node = RepeatBackward0::make({&x});
    node->input_shape = x.shape();
    node->repeats = repeats;
    record(node, out);
  }
  return out;
}

struct FlipBackward0 : BackwardNode<FlipBackward0> {
  std::vector<int64_t> dims;
  TensorList apply(TensorList&& g) override { return {flip(g[0], dims)}; }
  TensorList jvp(const TensorList& t) override { return {flip(t[0], dims)}; }
  std::string name() const override { return "FlipBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("dims", &FlipBackward0::dims));
  }
};

Tensor flip(const Tensor& x, const std::vector<int64_t>& dims) {
  std::vector<bool> mask = dims_mask(dims, x.dim());
  Shape strides = x.strides();
  int64_t offset = x.offset();
  for (int64_t d = 0; d < x.dim(); ++d)
    if (mask[d] && x.shape()[d] > 0) {
      offset += (x.shape()[d] - 1) * strides[d];
      strides[d] = -strides[d];
    }
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  kernels::copy(out, x.as_strided(x.shape(), strides, offset));
  if (any_requires_grad({&x})) {
    auto node = FlipBackward0::make({&x});
    node->dims = dims;
    record(node, out);
  }
  return out;
}

}  // namespace cg::ops
