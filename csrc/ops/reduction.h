// Reductions, scans and the softmax family.
#pragma once
#include <optional>
#include <tuple>
#include <vector>

#include "core/tensor.h"

namespace cg::ops {

using Dims = std::vector<int64_t>;  // empty with `all` = reduce everything

Tensor sum(const Tensor& x, std::optional<DType> dtype = std::nullopt);
Tensor sum(const Tensor& x, const Dims& dims, bool keepdim, std::optional<DType> dtype = std::nullopt);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const Dims& dims, bool keepdim);
Tensor prod(const Tensor& x);
Tensor prod(const Tensor& x, int64_t dim, bool keepdim);
Tensor amax(const Tensor& x, const Dims& dims, bool keepdim);
Tensor amin(const Tensor& x, const Dims& dims, bool keepdim);
Tensor max(const Tensor& x);  // whole tensor
Tensor min(const Tensor& x);
std::tuple<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim);  // values, indices
std::tuple<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim);
Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim);
Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim);
Tensor var(const Tensor& x, const std::optional<Dims>& dims, double correction, bool keepdim);
Tensor std(const Tensor& x, const std::optional<Dims>& dims, double correction, bool keepdim);
// p = 2, 1, inf, -inf, 0 or any positive number; "fro" is p = 2 over the given dims.
Tensor norm(const Tensor& x, double p, const std::optional<Dims>& dims, bool keepdim);
Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim);
Tensor cumsum(const Tensor& x, int64_t dim);
Tensor cumprod(const Tensor& x, int64_t dim);
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);
Tensor any(const Tensor& x, const std::optional<Dims>& dims, bool keepdim);
Tensor all(const Tensor& x, const std::optional<Dims>& dims, bool keepdim);

}  // namespace cg::ops
