// Helpers shared by the reduction files (reduction*.cpp, cumulative.cpp): dim masks, the kernel
// call in keepdim or squeezed form, and bringing a reduced gradient back to the input's rank.
#pragma once
#include <optional>

#include "kernels/reduce.h"
#include "ops/arithmetic.h"
#include "ops/common.h"
#include "ops/reduction.h"
#include "ops/shape.h"

namespace cg::ops::reduction {

using kernels::Reduce;

inline Dims all_dims(const Tensor& x) {
  Dims d(x.dim());
  for (int64_t i = 0; i < x.dim(); ++i) d[i] = i;
  return d;
}

inline Shape keepdim_shape(const Tensor& x, const std::vector<bool>& mask) {
  Shape s = x.shape();
  for (int64_t d = 0; d < x.dim(); ++d)
    if (mask[d]) s[d] = 1;
  return s;
}

inline Shape drop_dims(const Shape& shape, const std::vector<bool>& mask) {
  Shape s;
  for (size_t d = 0; d < shape.size(); ++d)
    if (!mask[d]) s.push_back(shape[d]);
  return s;
}

// Runs the reduction kernel and returns the result in keepdim or squeezed form.
inline Tensor reduce_data(Reduce op, const Tensor& x, const std::vector<bool>& mask, bool keepdim, DType out_dtype) {
  Tensor in = cast_data(x, out_dtype == DType::Bool ? x.dtype() : out_dtype);
  Tensor out = Tensor::empty(keepdim_shape(x, mask), out_dtype);
  kernels::reduce(op, in, mask, out);
  if (keepdim) return out;
  Shape s = drop_dims(x.shape(), mask);
  return out.as_strided(s, contiguous_strides(s), 0);
}

// Brings a reduced gradient back to keepdim form so it broadcasts against the input.
inline Tensor unsqueeze_to(const Tensor& g, const Shape& input_shape, const std::vector<bool>& mask, bool keepdim) {
  if (keepdim || input_shape.empty()) return g;
  return reshape(g, [&] {
    Shape s = input_shape;
    for (size_t d = 0; d < s.size(); ++d)
      if (mask[d]) s[d] = 1;
    return s;
  }());
}

// Forward mode of a reduction: each output element depends only on its own slice of the input,
// so J t is the local derivative (the VJP of a gradient of ones) times t, summed like the forward.
inline Tensor reduce_tangent(const Tensor& v, const std::vector<bool>& mask, bool keepdim) {
  Dims dims;
  for (size_t d = 0; d < mask.size(); ++d)
    if (mask[d]) dims.push_back(static_cast<int64_t>(d));
  return dims.empty() ? v : sum(v, dims, keepdim);
}
template <typename N>
Tensor local_jvp(N& node, const Tensor& t, const std::vector<bool>& mask, bool keepdim) {
  const autograd::OutputMeta& om = node.output_meta[0];
  Tensor local = node.apply(TensorList{Tensor::full(om.shape, 1, om.dtype)})[0];
  return reduce_tangent(mul(local, t), mask, keepdim);
}

inline DType sum_dtype(const Tensor& x, std::optional<DType> dtype) {
  if (dtype) return *dtype;
  return is_floating(x.dtype()) ? x.dtype() : DType::Int64;
}

}  // namespace cg::ops::reduction
