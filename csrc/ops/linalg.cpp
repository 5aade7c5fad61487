// Matrix products. Every product reduces to mm/bmm (BLAS); their VJPs are products again,
// with transposes passed to BLAS as flags rather than copied.
#include "ops/linalg.h"

#include "kernels/elementwise.h"
#include "kernels/linalg.h"
#include "ops/common.h"
#include "ops/ops.h"

namespace cg::ops {

using autograd::any_requires_grad;

namespace {

void check_same_dtype(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype())
    throw RuntimeError(::cg::msg("expected m1 and m2 to have the same dtype, but got: ", cpp_type_name(a.dtype()), " != ",
                           cpp_type_name(b.dtype())));
}

Tensor mm_data(const Tensor& a, const Tensor& b) {
  Tensor out = Tensor::empty({a.shape()[0], b.shape()[1]}, a.dtype());
  kernels::gemm(a, b, out);
  return out;
}

}  // namespace

struct MmBackward0 : BackwardNode<MmBackward0> {
  SavedTensor self_, mat2_;
  TensorList apply(TensorList&& g) override {
    TensorList r(2);
    if (should_compute_output(0)) r[0] = mm(g[0], t(mat2_.unpack(*this)));
    if (should_compute_output(1)) r[1] = mm(t(self_.unpack(*this)), g[0]);
    return r;
  }
  TensorList jvp(const TensorList& tt) override {  // t_a b + a t_b
    return {tangent_sum(tt[0].defined() ? mm(tt[0], mat2_.unpack(*this)) : Tensor(),
                        tt[1].defined() ? mm(self_.unpack(*this), tt[1]) : Tensor())};
  }
  std::string name() const override { return "MmBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("self", &MmBackward0::self_),
                           saved("mat2", &MmBackward0::mat2_));
  }
};

Tensor mm(const Tensor& a, const Tensor& b) {
  CG_CHECK(a.dim() == 2, "self must be a matrix");
  CG_CHECK(b.dim() == 2, "mat2 must be a matrix");
  CG_CHECK(a.shape()[1] == b.shape()[0], "mat1 and mat2 shapes cannot be multiplied (", a.shape()[0], "x",
           a.shape()[1], " and ", b.shape()[0], "x", b.shape()[1], ")");
  check_same_dtype(a, b);
  CG_CHECK_IMPLEMENTED(a.dtype() != DType::Bool, "\"addmm_impl_cpu_\" not implemented for 'Bool'");
  Tensor out = mm_data(a, b);
  if (any_requires_grad({&a, &b})) {
    auto node = MmBackward0::make({&a, &b});
    node->self_ = save_if(needs(b), a);
    node->mat2_ = save_if(needs(a), b);
    record(node, out);
  }
  return out;
}

struct BmmBackward0 : BackwardNode<BmmBackward0> {
  SavedTensor self_, mat2_;
  TensorList apply(TensorList&& g) override {
    TensorList r(2);
    if (should_compute_output(0)) r[0] = bmm(g[0], transpose(mat2_.unpack(*this), 1, 2));
    if (should_compute_output(1)) r[1] = bmm(transpose(self_.unpack(*this), 1, 2), g[0]);
    return r;
  }
  TensorList jvp(const TensorList& tt) override {
    return {tangent_sum(tt[0].defined() ? bmm(tt[0], mat2_.unpack(*this)) : Tensor(),
                        tt[1].defined() ? bmm(self_.unpack(*this), tt[1]) : Tensor())};
  }
  std::string name() const override { return "BmmBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("self", &BmmBackward0::self_),
                           saved("mat2", &BmmBackward0::mat2_));
  }
};

Tensor bmm(const Tensor& a, const Tensor& b) {
  CG_CHECK(a.dim() == 3, "batch1 must be a 3D tensor");
  CG_CHECK(b.dim() == 3, "batch2 must be a 3D tensor");
  CG_CHECK(a.shape()[0] == b.shape()[0] && a.shape()[2] == b.shape()[1],
           "Expected size for first two dimensions of batch2 tensor to be: [",
           a.shape()[0], ", ", a.shape()[2], "] but got: [", b.shape()[0], ", ", b.shape()[1], "].");
  CG_CHECK_IMPLEMENTED(a.dtype() != DType::Bool, "\"bmm\" not implemented for 'Bool'");
  CG_CHECK(a.dtype() == b.dtype(), "expected scalar type ", scalar_type_name(a.dtype()), " but found ",
           scalar_type_name(b.dtype()));
  Tensor out = Tensor::empty({a.shape()[0], a.shape()[1], b.shape()[2]}, a.dtype());
  kernels::batched_gemm(a, b, out);
  if (any_requires_grad({&a, &b})) {
    auto node = BmmBackward0::make({&a, &b});
    node->self_ = save_if(needs(b), a);
    node->mat2_ = save_if(needs(a), b);
    record(node, out);
  }
  return out;
}

struct DotBackward0 : BackwardNode<DotBackward0> {
  SavedTensor self_, other_;
  TensorList apply(TensorList&& g) override {
    TensorList r(2);
    if (should_compute_output(0)) r[0] = mul(other_.unpack(*this), g[0]);
    if (should_compute_output(1)) r[1] = mul(self_.unpack(*this), g[0]);
    return r;
  }
  TensorList jvp(const TensorList& tt) override {
    return {tangent_sum(tt[0].defined() ? dot(tt[0], other_.unpack(*this)) : Tensor(),
                        tt[1].defined() ? dot(self_.unpack(*this), tt[1]) : Tensor())};
  }
  std::string name() const override { return "DotBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("self", &DotBackward0::self_),
                           saved("tensor", &DotBackward0::other_));
  }
};

Tensor dot(const Tensor& a, const Tensor& b) {
  CG_CHECK(a.dim() == 1 && b.dim() == 1, "1D tensors expected, but got ", a.dim(), "D and ", b.dim(), "D tensors");
  CG_CHECK(a.dtype() == b.dtype(), "dot : expected both vectors to have same dtype, but found ",
           scalar_type_name(a.dtype()), " and ", scalar_type_name(b.dtype()));
  CG_CHECK(a.numel() == b.numel(), "inconsistent tensor size, expected tensor [", a.numel(),
           "] and src [", b.numel(), "] to have the same number of elements, but got ", a.numel(), " and ", b.numel(),
           " elements respectively");
  Tensor out = Tensor::empty({}, a.dtype());
  kernels::dot(a, b, out);
  if (any_requires_grad({&a, &b})) {
    auto node = DotBackward0::make({&a, &b});
    node->self_ = save_if(needs(b), a);
    node->other_ = save_if(needs(a), b);
    record(node, out);
  }
  return out;
}

struct MvBackward0 : BackwardNode<MvBackward0> {
  SavedTensor self_, vec_;
  TensorList apply(TensorList&& g) override {
    TensorList r(2);
    if (should_compute_output(0)) r[0] = outer(g[0], vec_.unpack(*this));
    if (should_compute_output(1)) r[1] = mv(t(self_.unpack(*this)), g[0]);
    return r;
  }
  TensorList jvp(const TensorList& tt) override {
    return {tangent_sum(tt[0].defined() ? mv(tt[0], vec_.unpack(*this)) : Tensor(),
                        tt[1].defined() ? mv(self_.unpack(*this), tt[1]) : Tensor())};
  }
  std::string name() const override { return "MvBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("self", &MvBackward0::self_),
                           saved("vec", &MvBackward0::vec_));
  }
};

Tensor mv(const Tensor& a, const Tensor& v) {
  CG_CHECK(a.dim() == 2 && v.dim() == 1, "vector + matrix @ vector expected, got ", a.dim(), ", ", v.dim());
  CG_CHECK(a.shape()[1] == v.shape()[0], "size mismatch, got input (", a.shape()[0], "), mat (", a.shape()[0], "x",
           a.shape()[1], "), vec (", v.shape()[0], ")");
  CG_CHECK(a.dtype() == v.dtype(), "addmv input tensors must have the same dtype, but got ", scalar_type_name(v.dtype()), ", ",
           scalar_type_name(a.dtype()), ", and ", scalar_type_name(v.dtype()));
  Tensor out = Tensor::empty({a.shape()[0]}, a.dtype());
  kernels::gemv(a, v, out);
  if (any_requires_grad({&a, &v})) {
    auto node = MvBackward0::make({&a, &v});
    node->self_ = save_if(needs(v), a);
    node->vec_ = save_if(needs(a), v);
    record(node, out);
  }
  return out;
}

// PyTorch computes outer as a.reshape(-1, 1) * b (MulBackward0).
Tensor outer(const Tensor& a, const Tensor& b) {
  CG_CHECK(a.dim() == 1, "outer: Expected 1-D argument self, but got ", a.dim(), "-D");
  CG_CHECK(b.dim() == 1, "outer: Expected 1-D argument vec2, but got ", b.dim(), "-D");
  return mul(reshape(a, {-1, 1}), b);
}

struct TraceBackward0 : BackwardNode<TraceBackward0> {
  Shape input_shape;
  TensorList apply(TensorList&& g) override { return {mul(g[0], eye(input_shape[0], input_shape[1], g[0].dtype()))}; }
  TensorList jvp(const TensorList& t) override { return {trace(t[0])}; }  // linear
  std::string name() const override { return "TraceBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("self_sym_sizes", &TraceBackward0::input_shape));
  }
};

Tensor trace(const Tensor& x) {
  CG_CHECK(x.dim() == 2, "trace: expected a matrix, but got tensor with dim ", x.dim());
  CG_CHECK_IMPLEMENTED(x.dtype() != DType::Bool, "\"trace\" not implemented for 'Bool'");
  Tensor out;
  {
    autograd::GradModeGuard no_grad(false);
    out = sum(diagonal(x, 0, 0, 1));
  }
  if (any_requires_grad({&x})) {
    auto node = TraceBackward0::make({&x});
    node->input_shape = x.shape();
    record(node, out);
  }
  return out;
}

namespace {
// PyTorch's rule for folding a >= 3-D operand into a matrix (one mm instead of a bmm).
bool should_fold(const Tensor& a, const Tensor& b) {
  const bool a_larger = a.dim() >= b.dim();
  const Tensor& big = a_larger ? a : b;
  const int64_t dim_big = big.dim(), dim_small = a_larger ? b.dim() : a.dim();
  if (!(dim_big >= 3 && dim_small <= 2)) return false;
  if (autograd::requires_grad(a_larger ? b : a)) return true;
  if (a.dim() == 2) return false;
  if (big.numel() == 0) return true;
  // big (as mT when it is b) must be contiguous over its leading dims.
  Shape sh = big.shape(), st = big.strides();
  if (!a_larger) {
    std::swap(sh[dim_big - 1], sh[dim_big - 2]);
    std::swap(st[dim_big - 1], st[dim_big - 2]);
  }
  for (int64_t i = 0; i < dim_big - 1; ++i)
    if (st[i] != st[i + 1] * sh[i + 1]) return false;
  return true;
}
}  // namespace

// matmul follows PyTorch's composition (dot / mv / mm / folded mm / broadcast bmm), so results,
// errors and grad_fn names match.
Tensor matmul(const Tensor& a, const Tensor& b) {
  const int64_t da = a.dim(), db = b.dim();
  CG_CHECK(da > 0 && db > 0, "both arguments to matmul need to be at least 1D, but they are ", da, "D and ", db, "D");
  if (da == 1 && db == 1) return dot(a, b);
  if (da == 2 && db == 1) return mv(a, b);
  if (da == 1 && db == 2) return squeeze_named(mm(unsqueeze(a, 0), b), {0}, "SqueezeBackward4");
  if (da == 2 && db == 2) return mm(a, b);
  if (should_fold(a, b)) {
    const bool trans = db > da;
    Tensor t1 = trans ? transpose(b, -1, -2) : a;
    Tensor t2 = !trans ? b : (da == 2 ? t(a) : a);
    Shape out_shape(t1.shape().begin(), t1.shape().end() - 1);
    const int64_t folded = numel_of(out_shape);
    Tensor t1f = reshape(t1, {folded, t1.shape().back()});
    if (t2.dim() == 2) {
      out_shape.push_back(t2.shape()[1]);
      Tensor out = unsafe_view(mm(t1f, t2), out_shape);
      return trans ? contiguous(transpose(out, -1, -2)) : out;
    }
    return unsafe_view(mv(t1f, t2), out_shape);
  }
  // Broadcast the batch dims and run one bmm.
  const int64_t n = da > 1 ? a.shape()[da - 2] : 1, m1 = a.shape().back();
  const int64_t m2 = db > 1 ? b.shape()[db - 2] : b.shape()[0], p = db > 1 ? b.shape().back() : 1;
  Shape batch_a(a.shape().begin(), a.shape().begin() + std::max<int64_t>(da - 2, 0));
  Shape batch_b(b.shape().begin(), b.shape().begin() + std::max<int64_t>(db - 2, 0));
  Shape out_shape = broadcast_shapes(batch_a, batch_b);
  const int64_t nb = numel_of(out_shape);
  // PyTorch multiplies a right operand whose batch dims are all 1 as a matrix (mm's dtype check).
  if (db >= 3 && numel_of(batch_b) == 1 && nb > 1) check_same_dtype(a, b);
  Shape ea = out_shape;
  ea.insert(ea.end(), {n, m1});
  Tensor a3 = reshape(expand(a, ea), {nb, n, m1});
  const bool vector_rhs = db == 1;
  Shape eb = out_shape;
  if (vector_rhs) eb.push_back(m2);
  else eb.insert(eb.end(), {m2, p});
  Tensor b3 = vector_rhs ? unsqueeze(reshape(expand(b, eb), {nb, m2}), 2) : reshape(expand(b, eb), {nb, m2, p});
  if (da > 1) out_shape.push_back(n);
  if (db > 1) out_shape.push_back(p);
  Tensor prod = bmm(a3, b3);
  return unsafe_view(vector_rhs ? squeeze_named(prod, {-1}, "SqueezeBackward1") : prod, out_shape);
}

struct AddmmBackward0 : BackwardNode<AddmmBackward0> {
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
  TensorList jvp(const TensorList& tt) override {  // t_bias + t_x w^T + x t_w^T
    Tensor r = tangent_sum(tt[0].defined() ? mm(tt[0], t(weight_.unpack(*this))) : Tensor(),
                           tt[1].defined() ? mm(input_.unpack(*this), t(tt[1])) : Tensor());
    return {tangent_sum(r, tt[2])};
  }
  std::string name() const override { return "AddmmBackward0"; }
  static auto saved_fields() {
    return std::make_tuple(saved("mat1", &AddmmBackward0::input_), saved(nullptr, &AddmmBackward0::weight_),
                           saved("alpha", [](const AddmmBackward0& n) { return SavedValue(int64_t{1}); }),
                           saved("beta", [](const AddmmBackward0& n) { return SavedValue(int64_t{1}); }));
  }
};

// bias + m1 @ w^T in one GEMM (beta = 1); m1 is 2-D, bias broadcasts to the result.
static Tensor addmm_wt(const Tensor& bias, const Tensor& m1, const Tensor& w) {
  CG_CHECK(m1.shape()[1] == w.shape()[1], "mat1 and mat2 shapes cannot be multiplied (", m1.shape()[0], "x",
           m1.shape()[1], " and ", w.shape()[1], "x", w.shape()[0], ")");
  Tensor out = Tensor::empty({m1.shape()[0], w.shape()[0]}, m1.dtype());
  kernels::copy(out, expand(autograd::detach(bias), out.shape()));
  Tensor wt = w.as_strided({w.shape()[1], w.shape()[0]}, {w.strides()[1], w.strides()[0]}, w.offset());
  kernels::gemm(m1, wt, out, 1.0);
  if (any_requires_grad({&m1, &w, &bias})) {
    auto node = AddmmBackward0::make({&m1, &w, &bias});
    node->input_ = save_if(needs(w), m1);
    node->weight_ = save_if(needs(m1), w);
    node->bias_shape = bias.shape();
    node->bias_dtype = bias.dtype();
    record(node, out);
  }
  return out;
}

// PyTorch's linear: addmm for 2-D input with a bias, addmm on the flattened input (then a view)
// for contiguous N-D input with a 1-D bias (or any 3-D), else matmul(x, w.t()) (+ bias).
Tensor linear(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b) {
  if (b && x.dim() >= 1) {  // PyTorch's addmm checks, whatever the input's rank
    CG_CHECK(x.dtype() == w.dtype(), "mat1 and mat2 must have the same dtype, but got ", scalar_type_name(x.dtype()), " and ",
             scalar_type_name(w.dtype()));
    CG_CHECK(b->dtype() == x.dtype(), "self and mat2 must have the same dtype, but got ", scalar_type_name(b->dtype()), " and ",
             scalar_type_name(w.dtype()));
  }
  if (b && x.dim() == 2) {
    CG_CHECK(w.dim() == 2, "mat2 must be a matrix, got ", w.dim(), "-D tensor");
    return addmm_wt(*b, x, w);
  }
  if (b && x.dim() >= 1 && x.is_contiguous() && w.dim() == 2 && (x.dim() == 3 || b->dim() == 1) &&
      b->dtype() == x.dtype() && w.dtype() == x.dtype()) {
    Shape lead(x.shape().begin(), x.shape().end() - 1);
    Tensor flat = reshape(x, {numel_of(lead), x.shape().back()});
    Tensor out = addmm_wt(*b, flat, w);
    lead.push_back(out.shape()[1]);
    return view(out, lead);
  }
  check_same_dtype(x, w);
  Tensor out = matmul(x, t(w));
  return b ? add(out, *b) : out;
}

}  // namespace cg::ops
