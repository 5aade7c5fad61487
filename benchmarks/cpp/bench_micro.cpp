// Instruction-count driver for callgrind: one phase of the 0-d chain, sized by the command line
// (`chaingrad_micro chain|keep|backward|nograd|binary N`). Run the phase twice with different N and
// divide the difference by the difference in N: setup and teardown cancel out.
// `chaingrad_micro cputime N` times the chain's forward, backward and destroy in this thread's
// CPU time (a shared machine inflates wall-clock figures with other processes' time slices).
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "engine/engine.h"
#include "graph/meta.h"
#include "ops/ops.h"

using namespace cg;

int main(int argc, char** argv) {
  const char* phase = argc > 1 ? argv[1] : "forward";
  const int n = argc > 2 ? std::atoi(argv[2]) : 100000;
  Tensor x = Tensor::scalar(1.0, DType::Float32);
  autograd::set_requires_grad(x, true);
  Tensor y = x;
  if (std::strcmp(phase, "nograd") == 0) {
    Tensor c = Tensor::scalar(1.0, DType::Float32);
    for (int i = 0; i < n; ++i) y = ops::mul(c, 1.0000001);
    return 0;
  }
  if (std::strcmp(phase, "binary") == 0) {  // W1-like: a * b on two 0-d leaves, result dropped
    Tensor b = Tensor::scalar(2.0, DType::Float32);
    autograd::set_requires_grad(b, true);
    for (int i = 0; i < n; ++i) y = ops::mul(x, b);
    return 0;
  }
  if (std::strcmp(phase, "cputime") == 0) {
    auto now = [] {
      timespec ts;
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
      return ts.tv_sec * 1e9 + ts.tv_nsec;
    };
    const double t0 = now();
    for (int i = 0; i < n; ++i) y = ops::mul(y, 1.0000001);
    const double t1 = now();
    autograd::run_backward({y}, {}, {}, {});
    const double t2 = now();
    y = Tensor();
    const double t3 = now();
    std::printf("cpu time per op: forward %.1f ns, backward %.1f ns, destroy %.1f ns\n", (t1 - t0) / n, (t2 - t1) / n,
                (t3 - t2) / n);
    return 0;
  }
  for (int i = 0; i < n; ++i) y = ops::mul(y, 1.0000001);
  if (std::strcmp(phase, "backward") == 0) autograd::run_backward({y}, {}, {}, {});
  // "keep": the graph is never destroyed (forward alone; destroy = chain - keep).
  if (std::strcmp(phase, "keep") == 0) std::_Exit(0);
  y = Tensor();
  std::printf("%s %d done\n", phase, n);
  return 0;
}
