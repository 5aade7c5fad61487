#include "ops/creation.h"

#include <cmath>
#include <random>
#include <sstream>

#include "kernels/elementwise.h"
#include "ops/common.h"
#include "ops/inplace.h"

namespace cg::ops {

// ---- to(dtype): the gradient is cast back to the input's dtype ------------------------------
struct ToCopyBackward0 : BackwardNode<ToCopyBackward0> {
  DType src_dtype;
  TensorList apply(TensorList&& g) override { return {to_dtype(g[0], src_dtype)}; }
  TensorList jvp(const TensorList& t) override { return {t[0]}; }  // cast to the output's dtype by the caller
  std::string name() const override { return "ToCopyBackward0"; }
};

Tensor to_dtype(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = cast_data(t, dtype);
  if (is_floating(dtype) && autograd::any_requires_grad({&t})) {
    auto node = ToCopyBackward0::make({&t});
    node->src_dtype = t.dtype();
    record(node, out);
  }
  return out;
}

// ---- clone / contiguous ----------------------------------------------------------------------
struct CloneBackward0 : BackwardNode<CloneBackward0> {
  TensorList apply(TensorList&& g) override { return {g[0]}; }
  TensorList jvp(const TensorList& t) override { return {t[0]}; }
  std::string name() const override { return "CloneBackward0"; }
};

// A row-major copy, or (keep_layout) one with t's strides when t is dense (PyTorch's
// memory_format=preserve: a transposed tensor clones to a transposed tensor).
static Tensor copy_of(const Tensor& t, bool keep_layout) {
  bool keep = keep_layout && !t.is_contiguous() && t.is_non_overlapping_and_dense();
  for (int64_t s : t.strides()) keep = keep && s >= 0;
  Tensor out = keep ? Tensor::empty({t.numel()}, t.dtype()).as_strided(t.shape(), t.strides(), 0)
                    : Tensor::empty(t.shape(), t.dtype());
  kernels::copy(out, t);
  if (autograd::any_requires_grad({&t})) record(CloneBackward0::make({&t}), out);
  return out;
}

Tensor clone(const Tensor& t) { return copy_of(t, true); }

Tensor contiguous(const Tensor& t) { return t.is_contiguous() ? t : copy_of(t, false); }

Tensor detach(const Tensor& t) { return autograd::detach(t); }

// ---- ranges ----------------------------------------------------------------------------------
Tensor arange(double start, double end, double step, DType dtype) {
  CG_CHECK(std::isfinite(start) && std::isfinite(end), "unsupported range: ", start, " -> ",
           end);
  CG_CHECK(step > 0 || step < 0, "step must be nonzero");
  CG_CHECK((step > 0 && end >= start) || (step < 0 && end <= start),
           "upper bound and lower bound inconsistent with step sign");
  const double count = std::ceil((end - start) / step);
  CG_CHECK(count < 9.2e18, "invalid size, possible overflow?");
  const int64_t n = static_cast<int64_t>(count);
  Tensor out = Tensor::empty({n}, compute_dtype(dtype));  // narrow dtypes: filled widened, then cast
  CG_DISPATCH_ALL(dtype, [&] {
    scalar_t* p = out.data<scalar_t>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<scalar_t>(start + static_cast<double>(i) * step);
  });
  return cast_data(out, dtype);
}

Tensor linspace(double start, double end, int64_t steps, DType dtype) {
  CG_CHECK(steps >= 0, "number of steps must be non-negative");
  Tensor out = Tensor::empty({steps}, compute_dtype(dtype));
  const double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
  const int64_t half = steps == 1 ? 1 : steps / 2;  // a single step is `start`, as in PyTorch
  CG_DISPATCH_ALL(dtype, [&] {
    scalar_t* p = out.data<scalar_t>();
    // Fill from both ends, as PyTorch does, so the last value is exactly `end`.
    for (int64_t i = 0; i < steps; ++i)
      p[i] = static_cast<scalar_t>(i < half ? start + step * static_cast<double>(i)
                                            : end - step * static_cast<double>(steps - 1 - i));
  });
  return cast_data(out, dtype);
}

Tensor eye(int64_t n, int64_t m, DType dtype) {
  CG_CHECK(n >= 0 && m >= 0, "n and m must be non-negative, got n=", n, " m=", m);
  Tensor out = Tensor::zeros({n, m}, compute_dtype(dtype));
  CG_DISPATCH_ALL(dtype, [&] {
    scalar_t* p = out.data<scalar_t>();
    for (int64_t i = 0; i < std::min(n, m); ++i) p[i * m + i] = scalar_t(1);
  });
  return cast_data(out, dtype);
}

// ---- random numbers --------------------------------------------------------------------------
// The generator is std::mt19937_64 (64-bit Mersenne Twister), one per thread, seeded with
// manual_seed. Unseeded, it starts from a seed drawn once per process from the OS (as PyTorch's
// default generator does), so two runs differ unless seeded. Uniform floats take the top 24 (float32) or 53 (float64)
// bits; normals come from the polar Box-Muller method. Streams differ from PyTorch's.
namespace {
uint64_t process_seed() {
  static const uint64_t seed = [] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }();
  return seed;
}
struct Generator {
  uint64_t seed = process_seed();
  std::mt19937_64 engine{seed};
};
thread_local Generator t_gen;

// Where the samples are drawn: straight into t when it is a contiguous float/double tensor,
// otherwise into a scratch tensor of the compute dtype (float16: drawn in float32) copied in after.
Tensor sample_buffer(const Tensor& t) {
  const bool direct = t.is_contiguous() && compute_dtype(t.dtype()) == t.dtype();
  return direct ? t : Tensor::empty(t.shape(), compute_dtype(t.dtype()));
}
}  // namespace

void manual_seed(uint64_t seed) {
  t_gen.engine.seed(seed);
  t_gen.seed = seed;
}
uint64_t initial_seed() { return t_gen.seed; }

std::vector<uint64_t> get_rng_state() {
  std::ostringstream os;
  os << t_gen.engine;  // the standard's textual form: the state words, then the position
  std::istringstream is(os.str());
  std::vector<uint64_t> state;
  for (uint64_t word; is >> word;) state.push_back(word);
  state.push_back(t_gen.seed);
  return state;
}

void set_rng_state(const std::vector<uint64_t>& state) {
  CG_CHECK(state.size() >= 2, "set_rng_state: invalid generator state (", state.size(), " words)");
  std::ostringstream os;
  for (size_t i = 0; i + 1 < state.size(); ++i) os << state[i] << ' ';
  std::istringstream is(os.str());
  std::mt19937_64 engine;
  is >> engine;
  CG_CHECK(!is.fail(), "set_rng_state: invalid generator state (", state.size(), " words)");
  t_gen.engine = engine;
  t_gen.seed = state.back();
}

Tensor& uniform_(Tensor& t, double lo, double hi) {
  check_no_internal_overlap(t);
  t.check_writable();
  Tensor tmp = sample_buffer(t);
  CG_DISPATCH_FLOAT(t.dtype(), "uniform_", [&] {
    scalar_t* p = tmp.data<scalar_t>();
    std::mt19937_64& engine = t_gen.engine;
    for (int64_t i = 0, n = tmp.numel(); i < n; ++i) {
      const uint64_t bits = engine();
      double u = std::is_same_v<scalar_t, float> ? static_cast<double>(bits >> 40) * 0x1.0p-24
                                                 : static_cast<double>(bits >> 11) * 0x1.0p-53;
      p[i] = static_cast<scalar_t>(lo + (hi - lo) * u);
    }
  });
  if (!tmp.is_same(t)) kernels::copy(t, tmp);
  t.bump_version();
  return t;
}

Tensor& normal_(Tensor& t, double mean, double std) {
  check_no_internal_overlap(t);
  t.check_writable();
  Tensor tmp = sample_buffer(t);
  CG_DISPATCH_FLOAT(t.dtype(), "normal_", [&] {
    scalar_t* p = tmp.data<scalar_t>();
    const int64_t n = tmp.numel();
    // One lookup of the thread-local engine (each t_gen access in a -fPIC loop is a TLS call).
    std::mt19937_64& engine = t_gen.engine;
    // Marsaglia's polar form of Box-Muller: a point drawn uniformly in the unit disc gives two
    // normals with one log and one sqrt (no sin/cos); 21% of the points are drawn again.
    auto signed_unit = [&engine] { return static_cast<double>(static_cast<int64_t>(engine()) >> 10) * 0x1.0p-53; };
    for (int64_t i = 0; i < n; i += 2) {
      double u, v, s2;
      do {
        u = signed_unit();
        v = signed_unit();
        s2 = u * u + v * v;
      } while (s2 >= 1.0 || s2 == 0.0);
      const double f = std * std::sqrt(-2.0 * std::log(s2) / s2);
      p[i] = static_cast<scalar_t>(mean + f * u);
      if (i + 1 < n) p[i + 1] = static_cast<scalar_t>(mean + f * v);
    }
  });
  if (!tmp.is_same(t)) kernels::copy(t, tmp);
  t.bump_version();
  return t;
}

Tensor rand(const Shape& shape, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  uniform_(t, 0.0, 1.0);
  t.impl()->version->value.store(0);  // a new tensor starts at version 0 (PyTorch's randn/rand)
  return t;
}

Tensor randn(const Shape& shape, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  normal_(t, 0.0, 1.0);
  t.impl()->version->value.store(0);
  return t;
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype) {
  CG_CHECK(high > low, "random_ expects 'from' to be less than 'to', but got from=", low, " >= to=", high);
  Tensor t = Tensor::empty(shape, compute_dtype(dtype));
  const uint64_t range = static_cast<uint64_t>(high - low);
  CG_DISPATCH_ALL(dtype, [&] {
    scalar_t* p = t.data<scalar_t>();
    for (int64_t i = 0, n = t.numel(); i < n; ++i)
      p[i] = static_cast<scalar_t>(low + static_cast<int64_t>(t_gen.engine() % range));
  });
  return cast_data(t, dtype);
}

Tensor randperm(int64_t n) {
  CG_CHECK(n >= 0, "Trying to create tensor with negative dimension ", n, ": [", n, "]");
  Tensor t = arange(0, static_cast<double>(n), 1, DType::Int64);
  int64_t* p = t.data<int64_t>();
  for (int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[t_gen.engine() % static_cast<uint64_t>(i + 1)]);
  return t;
}

Tensor bernoulli(const Tensor& prob) {
  if (is_storage_only(prob.dtype())) return cast_data(bernoulli(cast_data(prob, compute_dtype(prob.dtype()))), prob.dtype());
  Tensor u = rand(prob.shape(), prob.dtype());
  Tensor out = Tensor::empty(prob.shape(), prob.dtype());
  CG_DISPATCH_FLOAT(prob.dtype(), "bernoulli", [&] {
    const scalar_t* up = u.data<scalar_t>();
    Tensor packed = Tensor::empty(prob.shape(), prob.dtype());  // any layout in, dense out
    kernels::copy(packed, prob);
    const scalar_t* pp = packed.data<scalar_t>();
    scalar_t* o = out.data<scalar_t>();
    for (int64_t i = 0, n = out.numel(); i < n; ++i) o[i] = up[i] < pp[i] ? scalar_t(1) : scalar_t(0);
  });
  return out;
}

}  // namespace cg::ops
