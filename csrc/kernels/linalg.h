// Matrix products through OpenBLAS. Transposed views are passed as BLAS transposes, not copied.
#pragma once
#include "core/tensor.h"

namespace cg::kernels {

// c = a @ b (+ beta * c) for 2-D a (m, k), b (k, n), c (m, n) contiguous-or-transposed.
void gemm(const Tensor& a, const Tensor& b, const Tensor& c, double beta = 0.0);
// The same over a leading batch dim: a (B, m, k), b (B, k, n), c (B, m, n); stride-0 batches allowed.
void batched_gemm(const Tensor& a, const Tensor& b, const Tensor& c);
// y = a @ x for 2-D a (m, k) and vectors x (k), y (m), any strides (PyTorch's mv): float32 with
// unit-stride rows or columns on our own loops (linalg_gemv.cpp), everything else BLAS gemv.
void gemv(const Tensor& a, const Tensor& x, const Tensor& y);
// out = sum(a * b) for 1-D vectors.
void dot(const Tensor& a, const Tensor& b, const Tensor& out);

}  // namespace cg::kernels
