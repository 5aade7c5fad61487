// F.pad: constant padding of any trailing dims (negative pads crop), reflect / replicate /
// circular padding of the last one to three dims.
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"

namespace cg::ops {

// pads: (left, right) pairs starting from the last dim, as in F.pad.
Tensor constant_pad_nd(const Tensor& x, const std::vector<int64_t>& pads, Scalar value);  // ConstantPadNdBackward0
// mode: "reflect", "replicate" or "circular"; pads of length 2, 4 or 6.
Tensor index_pad(const Tensor& x, const std::vector<int64_t>& pads, const std::string& mode);

}  // namespace cg::ops
