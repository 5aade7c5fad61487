// Fits y = 3x + 2 from noisy samples with chaingrad's C++ API: forward ops record the graph,
// the engine returns the gradients, plain gradient descent updates the two parameters.
// Built against the installed package (see CMakeLists.txt next to this file).
#include <cstdio>

#include "engine/engine.h"
#include "graph/grad_mode.h"
#include "graph/meta.h"
#include "ops/ops.h"

using namespace cg;

namespace {
Tensor leaf(Tensor t) {
  autograd::set_requires_grad(t, true);
  return t;
}
}  // namespace

int main() {
  ops::manual_seed(0);
  const Tensor x = ops::randn({256, 1}, DType::Float32);
  const Tensor noise = ops::mul(ops::randn({256, 1}, DType::Float32), Scalar(0.1));
  const Tensor y = ops::add(ops::add(ops::mul(x, Scalar(3.0)), Scalar(2.0)), noise);

  Tensor w = leaf(Tensor::zeros({1, 1}, DType::Float32));
  Tensor b = leaf(Tensor::zeros({1}, DType::Float32));
  const double lr = 0.1;
  double last = 0;
  for (int step = 0; step <= 100; ++step) {
    const Tensor loss = ops::mse_loss(ops::add(ops::mm(x, w), b), y, ops::Reduction::Mean);
    autograd::BackwardOptions options;
    options.accumulate_grad = false;  // return the gradients (autograd.grad) instead of .grad
    const autograd::TensorList grads = autograd::run_backward({loss}, {}, {w, b}, options);
    {
      autograd::GradModeGuard no_grad(false);
      w = leaf(ops::sub(w, grads[0], Scalar(lr)));
      b = leaf(ops::sub(b, grads[1], Scalar(lr)));
    }
    last = loss.item_double();
    if (step % 10 == 0) std::printf("step %3d  loss %.6f\n", step, last);
  }
  std::printf("w = %.4f  b = %.4f  (true: 3, 2)\n", w.item_double(), b.item_double());
  return last < 0.05 ? 0 : 1;  // a falling loss reaches the noise floor (0.01)
}
