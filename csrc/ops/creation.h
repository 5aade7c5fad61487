// Creation and conversion: dtype casts, copies, random numbers, ranges.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace cg::ops {

Tensor to_dtype(const Tensor& t, DType dtype);  // differentiable (ToCopyBackward0)
Tensor clone(const Tensor& t);                  // differentiable (CloneBackward0)
Tensor contiguous(const Tensor& t);             // t itself when already contiguous
Tensor detach(const Tensor& t);

Tensor arange(double start, double end, double step, DType dtype);
Tensor linspace(double start, double end, int64_t steps, DType dtype);
Tensor eye(int64_t n, int64_t m, DType dtype);

// The generator: a per-process Philox-free, documented PCG64-style stream (see creation.cpp).
void manual_seed(uint64_t seed);
uint64_t initial_seed();
// The generator's whole state (the Mersenne Twister's words, its position, then the seed), so a
// computation can be replayed with the same random numbers (checkpointing with dropout).
std::vector<uint64_t> get_rng_state();
void set_rng_state(const std::vector<uint64_t>& state);
Tensor rand(const Shape& shape, DType dtype);
Tensor randn(const Shape& shape, DType dtype);
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype);
Tensor randperm(int64_t n);
Tensor& uniform_(Tensor& t, double lo, double hi);
Tensor& normal_(Tensor& t, double mean, double std);
Tensor bernoulli(const Tensor& p);  // 0/1 with probability p, same dtype

}  // namespace cg::ops
