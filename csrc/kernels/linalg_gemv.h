// float32 matrix-vector products on our own AVX2 loops (linalg_gemv.cpp), used by gemv (mv).
#pragma once
#include <cstdint>

namespace cg::kernels {

// y = S x (trans false) or y = S^T x (trans true) for a float32 matrix S of `rows` rows stored one
// after another `ld` floats apart, each row contiguous; x and y contiguous, not overlapping S.
// Returns false (nothing written) when this CPU or shape is not one the loops serve: the caller
// then uses BLAS.
bool stored_gemv_f32(const float* S, int64_t rows, int64_t cols, int64_t ld, bool trans, const float* x, float* y);

}  // namespace cg::kernels
