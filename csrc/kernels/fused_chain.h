// Chains of elementwise gradient formulas run block by block: each step's gradient block is the
// previous step's output block, held in a buffer that stays in L1, so a chain of k pointwise VJPs
// (mul -> tanh -> add -> mul) reads and writes memory once (its operands in, its side outputs
// out) instead of once per step. The formulas are the ones the unfused kernels use (the same
// functors), so a fused chain gives the same bits.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/scalar.h"

namespace cg::kernels {

// The gradient formulas: g the incoming gradient, s the step's operand (a saved input or output).
struct TanhGrad {
  template <typename T>
  T operator()(T g, T y) const { return g * (T(1) - y * y); }
};
struct SigmoidGrad {
  template <typename T>
  T operator()(T g, T y) const { return g * y * (T(1) - y); }
};

// What one input's gradient is, elementwise, in terms of g.
enum class GradOp : uint8_t {
  None,         // not wanted
  Pass,         // g
  Neg,          // -g
  Scale,        // g * c (c converted to the dtype as binary_scalar does)
  DivScale,     // g / c (likewise)
  Mul,          // g * s
  TanhGrad,     // g * (1 - s^2)   (s = tanh's output)
  SigmoidGrad,  // g * s * (1 - s) (s = sigmoid's output)
  ReluGrad,     // s > 0 ? g : 0   (s = relu's output)
};

// Whether op's formula reads the step's operand s.
constexpr bool reads_operand(GradOp op) {
  return op == GradOp::Mul || op == GradOp::TanhGrad || op == GradOp::SigmoidGrad || op == GradOp::ReluGrad;
}

struct ChainStep {
  static constexpr int kMaxOutputs = 2;
  GradOp op[kMaxOutputs] = {GradOp::None, GradOp::None};
  const char* operand[kMaxOutputs] = {};  // s of op[i], contiguous (Mul and the activations)
  Scalar scalar[kMaxOutputs] = {Scalar(1), Scalar(1)};  // c of op[i] (Scale, DivScale)
  int next = -1;                          // the output that is the next step's g (-1: last step)
  char* side[kMaxOutputs] = {};           // full-size destination of each other output (nullptr: dropped)
  // Two off-chain gradients for the same consumer (x's in x * w ... * x) are summed here, as the
  // consumer would sum them: the first is held in block buffer hold[i] instead of being stored,
  // the second adds held buffer add[i] before it is stored (-1: neither).
  int8_t hold[kMaxOutputs] = {-1, -1};
  int8_t add[kMaxOutputs] = {-1, -1};
  static constexpr int kMaxHeld = 2;
};

// n elements of float32 (`is_double` false) or float64; the first step's g is g0, contiguous or
// (`g0_broadcast`) one element repeated. Runs on several threads when large.
void run_chain(const ChainStep* steps, size_t n_steps, const char* g0, bool g0_broadcast, int64_t n, bool is_double);

}  // namespace cg::kernels
