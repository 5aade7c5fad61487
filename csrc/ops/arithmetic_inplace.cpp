// In-place forms of the binary ops (add_, mul_, ..., clamp_), copy_ and fill_: a kernel writing
// into self when nothing records, else the out-of-place op committed through ops/inplace.h.
#include "ops/arithmetic.h"

#include <cmath>

#include "ops/arithmetic_internal.h"
#include "ops/common.h"
#include "ops/inplace.h"
#include "ops/ops.h"

namespace cg::ops {

using namespace arith;
using autograd::any_requires_grad;

// ---- in-place forms --------------------------------------------------------------------------
namespace {
// Runs `fast` (a kernel writing into self) when nothing records, else `recorded` + commit.
template <typename Fast, typename Recorded>
Tensor& inplace(Tensor& self, std::initializer_list<const Tensor*> others, DType result_dtype, const Fast& fast,
                const Recorded& recorded) {
  for (const Tensor* o : others) {  // the result is written into self: it may not grow
    Shape b = broadcast_shapes(self.shape(), o->shape());
    CG_CHECK(b == self.shape(), "output with shape ", shape_str(self.shape()), " doesn't match the broadcast shape ",
             shape_str(b));
  }
  check_can_cast(result_dtype, self.dtype());
  if (inplace_records(self, others)) {
    commit_inplace(self, to_dtype(recorded(), self.dtype()));
  } else {
    fast();
    self.bump_version();
  }
  return self;
}
}  // namespace

Tensor& add_(Tensor& self, const Tensor& other, Scalar alpha) {
  return inplace(self, {&other}, result_type(self, other),
                 [&] { kernels::add_scaled(self, cast_data(other, self.dtype()), alpha.to_double(), self); },
                 [&] { return add(self, other, alpha); });
}
Tensor& add_(Tensor& self, Scalar other, Scalar alpha) {
  return inplace(self, {}, result_type(self, other),
                 [&] { kernels::binary_scalar(Binary::Add, self, scaled(other, alpha), self); },
                 [&] { return add(self, other, alpha); });
}
Tensor& sub_(Tensor& self, const Tensor& other, Scalar alpha) {
  check_sub_bool(self.dtype() == DType::Bool, other.dtype() == DType::Bool);
  return add_(self, other, negated(alpha));
}
Tensor& sub_(Tensor& self, Scalar other, Scalar alpha) {
  check_sub_bool(self.dtype() == DType::Bool, other.kind() == ScalarKind::Bool);
  return add_(self, negated(other), alpha);
}
Tensor& mul_(Tensor& self, const Tensor& other) {
  return inplace(self, {&other}, result_type(self, other),
                 [&] { kernels::binary(Binary::Mul, self, cast_data(other, self.dtype()), self); },
                 [&] { return mul(self, other); });
}
Tensor& mul_(Tensor& self, Scalar other) {
  return inplace(self, {}, result_type(self, other), [&] { kernels::binary_scalar(Binary::Mul, self, other, self); },
                 [&] { return mul(self, other); });
}
Tensor& div_(Tensor& self, const Tensor& other) {
  return inplace(self, {&other}, div_type(result_type(self, other)),
                 [&] { kernels::binary(Binary::Div, self, cast_data(other, self.dtype()), self); },
                 [&] { return div(self, other); });
}
Tensor& div_(Tensor& self, Scalar other) {
  return inplace(self, {}, div_type(result_type(self, other)),
                 [&] { kernels::binary_scalar(Binary::Div, self, other, self); }, [&] { return div(self, other); });
}
Tensor& pow_(Tensor& self, Scalar other) {
  return inplace(self, {}, result_type(self, other), [&] { kernels::binary_scalar(Binary::Pow, self, other, self); },
                 [&] { return pow(self, other); });
}
Tensor& pow_(Tensor& self, const Tensor& other) {
  return inplace(self, {&other}, result_type(self, other),
                 [&] { kernels::binary(Binary::Pow, self, cast_data(other, self.dtype()), self); },
                 [&] { return pow(self, other); });
}
Tensor& clamp_(Tensor& self, std::optional<double> lo, std::optional<double> hi) {
  return inplace(self, {}, self.dtype(), [&] { kernels::clamp(self, lo, hi, self); },
                 [&] { return clamp(self, lo, hi); });
}

struct CopyBackwards : BackwardNode<CopyBackwards> {
  InputInfo src;
  TensorList apply(TensorList&& g) override {
    TensorList r(2);
    if (should_compute_output(0)) r[0] = Tensor::zeros(g[0].shape(), g[0].dtype());
    if (should_compute_output(1)) r[1] = reduce(g[0], src);
    return r;
  }
  TensorList jvp(const TensorList& t) override { return {t[1]}; }  // the source's tangent, broadcast by the caller
  std::string name() const override { return "CopyBackwards"; }
};

Tensor& copy_(Tensor& self, const Tensor& src) {
  broadcast_shapes(self.shape(), src.shape());
  CG_CHECK(broadcast_shapes(self.shape(), src.shape()) == self.shape(), "output with shape ", shape_str(self.shape()),
           " doesn't match the broadcast shape ", shape_str(broadcast_shapes(self.shape(), src.shape())));
  if (inplace_records(self, {&src})) {
    Tensor result;
    {
      // The new value: src broadcast to self's shape, with a node that routes gradients.
      result = Tensor::empty(self.shape(), self.dtype());
      kernels::copy(result, src);
      auto node = CopyBackwards::make({&self, &src});
      node->src = InputInfo(src);
      record(node, result);
    }
    commit_inplace(self, result);
  } else {
    if (src.storage() == self.storage()) {
      Tensor tmp = clone(detach(src));
      kernels::copy(self, tmp);
    } else {
      kernels::copy(self, src);
    }
    self.bump_version();
  }
  return self;
}

// Filling overwrites every element: the old values get a zero gradient.
struct FillBackward0 : BackwardNode<FillBackward0> {
  TensorList apply(TensorList&& g) override { return {Tensor::zeros(g[0].shape(), g[0].dtype())}; }
  std::string name() const override { return "FillBackward0"; }
  TensorList jvp(const TensorList&) override { return TensorList(1); }  // a constant: zero tangent
};

Tensor& fill_(Tensor& self, Scalar value) {
  if (inplace_records(self, {}, true)) {
    Tensor result = Tensor::full(self.shape(), value, self.dtype());
    record(FillBackward0::make({&self}), result);
    commit_inplace(self, result);
  } else {
    kernels::fill(self, value);
    self.bump_version();
  }
  return self;
}

Tensor& zero_(Tensor& self) { return fill_(self, 0); }

}  // namespace cg::ops
