// einsum: parsed once, then computed with differentiable ops (diagonal, sum, permute, reshape,
// expand, bmm), so autograd (of any order) comes from them.
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"

namespace cg::ops {

Tensor einsum(const std::string& equation, const std::vector<Tensor>& operands);

}  // namespace cg::ops
