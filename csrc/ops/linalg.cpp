// Matrix products. Every product reduces to mm/bmm (BLAS); their VJPs are products again,
// with transposes passed to BLAS as flags rather than copied.
#include "ops/linalg.h"

#include "kernels/elementwise.h"
#include "kernels/linalg.h"
#include "ops/common.h"
#include "ops/ops.h"

namespace cg::ops {

using autograd::any_requires_grad;
using autograd::make_grad_node;
using autograd::set_history;

namespace {

const char* c_type_name(DType t) {
  switch (t) {
    case DType::Bool: return "bool";
    case DType::Int64: return "long int";
    case DType::Float32: return "float";
    case DType::Float64: return "double";
  }
  return "?";
}

void check_same_dtype(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype())
    throw RuntimeError(::cg::msg("expected m1 and m2 to have the same dtype, but got: ", c_type_name(a.dtype()), " != ",
                           c_type_name(b.dtype())));
}

Tensor mm_data(const Tensor& a, const Tensor& b) {
  Tensor out = Tensor::empty({a.shape()[0], b.shape()[1]}, a.dtype());
  kernels::gemm(a, b, out);
  return out;
}

}  // namespace

struct MmBackward0 : Node {
  SavedTensor self_, mat2_;
  TensorList apply(TensorList&& g) override {
    TensorList r(2);
    if (should_compute_output(0)) r[0] = mm(g[0], t(mat2_.unpack(*this)));
    if (should_compute_output(1)) r[1] = mm(t(self_.unpack(*this)), g[0]);
    return r;
  }
  void release_saved() override { self_.release(); mat2_.release(); }
  std::vector<std::pair<std::string, Tensor>> saved_tensors_for_inspection() override {
    return {{"self", self_.unpack(*this)}, {"mat2", mat2_.unpack(*this)}};
  }
  std::string name() const override { return "MmBackward0"; }
};

Tensor mm(const Tensor& a, const Tensor& b) {
  CG_CHECK(a.dim() == 2, "self must be a matrix");
  CG_CHECK(b.dim() == 2, "mat2 must be a matrix");
  CG_CHECK(a.shape()[1] == b.shape()[0], "mat1 and mat2 shapes cannot be multiplied (", a.shape()[0], "x",
           a.shape()[1], " and ", b.shape()[0], "x", b.shape()[1], ")");
  check_same_dtype(a, b);
  CG_CHECK(a.dtype() != DType::Bool, "\"addmm_impl_cpu_\" not implemented for 'Bool'");
  Tensor out = mm_data(a, b);
  if (any_requires_grad({&a, &b})) {
    auto node = make_grad_node<MmBackward0>({&a, &b});
    node->self_ = save_if(needs(b), a);
    node->mat2_ = save_if(needs(a), b);
    set_history(out, node);
  }
  return out;
}

struct BmmBackward0 : Node {
  SavedTensor self_, mat2_;
  TensorList apply(TensorList&& g) override {
    TensorList r(2);
    if (should_compute_output(0)) r[0] = bmm(g[0], transpose(mat2_.unpack(*this), 1, 2));
    if (should_compute_output(1)) r[1] = bmm(transpose(self_.unpack(*this), 1, 2), g[0]);
    return r;
  }
  void release_saved() override { self_.release(); mat2_.release(); }
  std::string name() const override { return "BmmBackward0"; }
};

Tensor bmm(const Tensor& a, const Tensor& b) {
  CG_CHECK(a.dim() == 3, "batch1 must be a 3D tensor");
  CG_CHECK(b.dim() == 3, "batch2 must be a 3D tensor");
  CG_CHECK(a.shape()[0] == b.shape()[0], "batch1 and batch2 must have same number of batches, got ", a.shape()[0],
           " and ", b.shape()[0]);
  CG_CHECK(a.shape()[2] == b.shape()[1], "Expected size for first two dimensions of batch2 tensor to be: [",
           a.shape()[0], ", ", a.shape()[2], "] but got: [", b.shape()[0], ", ", b.shape()[1], "].");
  check_same_dtype(a, b);
  Tensor out = Tensor::empty({a.shape()[0], a.shape()[1], b.shape()[2]}, a.dtype());
  kernels::batched_gemm(a, b, out);
  if (any_requires_grad({&a, &b})) {
    auto node = make_grad_node<BmmBackward0>({&a, &b});
    node->self_ = save_if(needs(b), a);
    node->mat2_ = save_if(needs(a), b);
    set_history(out, node);
  }
  return out;
}

struct DotBackward0 : Node {
  SavedTensor self_, other_;
  TensorList apply(TensorList&& g) override {
    TensorList r(2);
    if (should_compute_output(0)) r[0] = mul(other_.unpack(*this), g[0]);
    if (should_compute_output(1)) r[1] = mul(self_.unpack(*this), g[0]);
    return r;
  }
  void release_saved() override { self_.release(); other_.release(); }
  std::string name() const override { return "DotBackward0"; }
};

Tensor dot(const Tensor& a, const Tensor& b) {
  CG_CHECK(a.dim() == 1 && b.dim() == 1, "1D tensors expected, but got ", a.dim(), "D and ", b.dim(), "D tensors");
  CG_CHECK(a.dtype() == b.dtype(), "dot : expected both vectors to have same dtype, but found ",
           a.dtype() == DType::Float32 ? "Float" : a.dtype() == DType::Float64 ? "Double" : "Long", " and ",
           b.dtype() == DType::Float32 ? "Float" : b.dtype() == DType::Float64 ? "Double" : "Long");
  CG_CHECK(a.numel() == b.numel(), "inconsistent tensor size, expected tensor [", a.numel(),
           "] and src [", b.numel(), "] to have the same number of elements, but got ", a.numel(), " and ", b.numel(),
           " elements respectively");
  Tensor out = Tensor::empty({}, a.dtype());
  kernels::dot(a, b, out);
  if (any_requires_grad({&a, &b})) {
    auto node = make_grad_node<DotBackward0>({&a, &b});
    node->self_ = save_if(needs(b), a);
    node->other_ = save_if(needs(a), b);
    set_history(out, node);
  }
  return out;
}

Tensor mv(const Tensor& a, const Tensor& v) {
  CG_CHECK(a.dim() == 2 && v.dim() == 1, "vector + matrix @ vector expected, got ", a.dim(), ", ", v.dim());
  CG_CHECK(a.shape()[1] == v.shape()[0], "size mismatch, got input (", a.shape()[0], "), mat (", a.shape()[0], "x",
           a.shape()[1], "), vec (", v.shape()[0], ")");
  return squeeze(mm(a, unsqueeze(v, 1)), {1});
}

Tensor outer(const Tensor& a, const Tensor& b) {
  CG_CHECK(a.dim() == 1 && b.dim() == 1, "outer: expected 1-D tensors");
  return mul(unsqueeze(a, 1), unsqueeze(b, 0));
}

Tensor trace(const Tensor& x) {
  CG_CHECK(x.dim() == 2, "trace: expected a matrix, but got tensor with dim ", x.dim());
  return sum(diagonal(x, 0, 0, 1));
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  CG_CHECK(a.dim() > 0 && b.dim() > 0, "both arguments to matmul need to be at least 1D, but they are ", a.dim(),
           "D and ", b.dim(), "D");
  if (a.dim() == 1 && b.dim() == 1) return dot(a, b);
  if (a.dim() == 2 && b.dim() == 1) return mv(a, b);
  if (a.dim() == 1 && b.dim() == 2) return squeeze(mm(unsqueeze(a, 0), b), {0});
  if (a.dim() == 2 && b.dim() == 2) return mm(a, b);
  if (a.dim() >= 3 && b.dim() <= 2) {
    // Fold the batch into the rows: one big GEMM instead of many small ones.
    Tensor b2 = b.dim() == 1 ? unsqueeze(b, 1) : b;
    Shape lead(a.shape().begin(), a.shape().end() - 1);
    CG_CHECK(a.shape().back() == b2.shape()[0], "mat1 and mat2 shapes cannot be multiplied (",
             numel_of(lead), "x", a.shape().back(), " and ", b2.shape()[0], "x", b2.shape()[1], ")");
    Tensor out = mm(reshape(a, {-1, a.shape().back()}), b2);
    Shape s = lead;
    if (b.dim() == 2) s.push_back(b.shape()[1]);
    return reshape(out, s);
  }
  // General batched case with broadcasting of the batch dims.
  Tensor a3 = a.dim() == 1 ? unsqueeze(a, 0) : a;
  Tensor b3 = b.dim() == 1 ? unsqueeze(b, 1) : b;
  const int64_t n = a3.shape()[a3.dim() - 2], k = a3.shape().back();
  const int64_t k2 = b3.shape()[b3.dim() - 2], p = b3.shape().back();
  CG_CHECK(k == k2, "Expected size for first two dimensions of batch2 tensor to be: [", k, ", ", k2, "]");
  Shape ba(a3.shape().begin(), a3.shape().end() - 2), bb(b3.shape().begin(), b3.shape().end() - 2);
  Shape batch = broadcast_shapes(ba, bb);
  const int64_t nb = numel_of(batch);
  Shape ea = batch, eb = batch;
  ea.insert(ea.end(), {n, k});
  eb.insert(eb.end(), {k, p});
  Tensor out = bmm(reshape(expand(a3, ea), {nb, n, k}), reshape(expand(b3, eb), {nb, k, p}));
  Shape s = batch;
  if (a.dim() > 1) s.push_back(n);
  if (b.dim() > 1) s.push_back(p);
  return reshape(out, s);
}

struct AddmmBackward0 : Node {
  SavedTensor input_, weight_;
  Shape bias_shape;
  DType bias_dtype = DType::Float32;
  TensorList apply(TensorList&& g) override {
    TensorList r(3);
    if (should_compute_output(0)) r[0] = mm(g[0], weight_.unpack(*this));
    if (should_compute_output(1)) r[1] = mm(t(g[0]), input_.unpack(*this));
    if (should_compute_output(2)) r[2] = sum_to(g[0], bias_shape, bias_dtype);
    return r;
  }
  void release_saved() override { input_.release(); weight_.release(); }
  std::string name() const override { return "AddmmBackward0"; }
};

Tensor linear(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b) {
  if (b && x.dim() == 2 && x.dtype() != w.dtype()) {
    // PyTorch's addmm path (2-D input with a bias) words the dtype error this way.
    auto word = [](DType t) { return t == DType::Int64 ? "Long" : t == DType::Float32 ? "Float" : t == DType::Float64 ? "Double" : "Bool"; };
    throw RuntimeError(::cg::msg("mat1 and mat2 must have the same dtype, but got ", word(x.dtype()), " and ", word(w.dtype())));
  }
  check_same_dtype(x, w);
  if (x.dim() != 2 || !b || b->dim() > 1 || b->dtype() != x.dtype()) {
    Tensor out = matmul(x, t(w));
    return b ? add(out, *b) : out;
  }
  CG_CHECK(x.shape()[1] == w.shape()[1], "mat1 and mat2 shapes cannot be multiplied (", x.shape()[0], "x",
           x.shape()[1], " and ", w.shape()[1], "x", w.shape()[0], ")");
  // out = bias (broadcast) + x @ w^T in one GEMM call with beta = 1.
  Tensor out = Tensor::empty({x.shape()[0], w.shape()[0]}, x.dtype());
  broadcast_shapes(b->shape(), out.shape());
  kernels::copy(out, *b);
  Tensor wt = w.as_strided({w.shape()[1], w.shape()[0]}, {w.strides()[1], w.strides()[0]}, w.offset());
  kernels::gemm(x, wt, out, 1.0);
  if (any_requires_grad({&x, &w, &*b})) {
    auto node = make_grad_node<AddmmBackward0>({&x, &w, &*b});
    node->input_ = save_if(needs(w), x);
    node->weight_ = save_if(needs(x), w);
    node->bias_shape = b->shape();
    node->bias_dtype = b->dtype();
    set_history(out, node);
  }
  return out;
}

}  // namespace cg::ops
