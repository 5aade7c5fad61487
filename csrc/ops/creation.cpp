#include "ops/creation.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <vector>

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
// PyTorch's CPU generator, draw for draw, so a seeded script gets PyTorch's numbers: a 32-bit
// Mersenne Twister seeded with the seed's low 32 bits; float uniforms from 24 bits of one draw,
// double uniforms from 53 bits of two, scaled with one fused multiply-add (as PyTorch's AVX2
// kernels compute it); normals by Box-Muller, in PyTorch's two forms (below). Float32 normals of
// tensors of >= 16 elements may differ from PyTorch's in the last bit (its AVX2 log/sin/cos). One
// generator per thread. Unseeded, it starts from a seed drawn once per process from the OS (as
// PyTorch's default generator does), so two runs differ unless seeded.
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
  std::mt19937 engine{static_cast<uint32_t>(seed)};
  // The second normal of the last Box-Muller pair of the one-at-a-time form, for the next draw.
  bool has_next_normal = false;
  double next_normal = 0;

  uint32_t random() { return engine(); }
  uint64_t random64() {
    const uint64_t hi = engine();
    return hi << 32 | engine();
  }
  float uniform_float() { return static_cast<float>(random() & ((1u << 24) - 1)) * 0x1.0p-24f; }
  double uniform_double() { return static_cast<double>(random64() & ((uint64_t{1} << 53) - 1)) * 0x1.0p-53; }
  template <typename T>
  T uniform() {
    if constexpr (std::is_same_v<T, float>) return uniform_float();
    else return uniform_double();
  }
  // One standard normal (PyTorch's normal_distribution<double>): pairs from two uniforms, the
  // sine half kept for the next call.
  double normal() {
    if (has_next_normal) {
      has_next_normal = false;
      return next_normal;
    }
    const double u1 = uniform_double(), u2 = uniform_double();
    const double r = std::sqrt(-2.0 * std::log1p(-u2));
    const double theta = 2.0 * M_PI * u1;
    next_normal = r * std::sin(theta);
    has_next_normal = true;
    return r * std::cos(theta);
  }
};
thread_local Generator t_gen;

// Writes draw() into each element of t in memory order (the order PyTorch's serial kernels visit
// a dense tensor in, whatever its strides).
template <typename scalar_t, typename Draw>
void fill_in_memory_order(Tensor& t, Draw&& draw) {
  Tensor dense = t;
  if (!t.is_contiguous()) {
    std::vector<int64_t> order(t.dim());
    for (int64_t d = 0; d < t.dim(); ++d) order[d] = d;
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return t.strides()[a] > t.strides()[b]; });
    Shape shape(t.dim()), strides(t.dim());
    for (int64_t d = 0; d < t.dim(); ++d) {
      shape[d] = t.shape()[order[d]];
      strides[d] = t.strides()[order[d]];
    }
    dense = t.as_strided(shape, strides, t.offset());
  }
  if (dense.is_contiguous() && compute_dtype(t.dtype()) == t.dtype()) {
    scalar_t* p = dense.data<scalar_t>();
    for (int64_t i = 0, n = dense.numel(); i < n; ++i) p[i] = draw();
    return;
  }
  Tensor tmp = Tensor::empty(dense.shape(), compute_dtype(t.dtype()));  // float16: drawn in float32
  scalar_t* p = tmp.data<scalar_t>();
  for (int64_t i = 0, n = tmp.numel(); i < n; ++i) p[i] = draw();
  kernels::copy(dense, tmp);
}

// PyTorch's normal_fill for contiguous tensors of >= 16 elements: uniforms for every element
// first, then Box-Muller over blocks of 16 (element j and j + 8 make a pair); a tail that is not
// a whole block is drawn again as the last 16 elements.
template <typename T>
void normal_fill(T* data, int64_t n, T mean, T std, Generator& gen) {
  auto block = [&](T* d) {
    for (int j = 0; j < 8; ++j) {
      const T u1 = T(1) - d[j], u2 = d[j + 8];
      const T radius = std::sqrt(T(-2) * std::log(u1));
      const T theta = static_cast<T>(2.0 * M_PI) * u2;
      d[j] = std::fma(radius * std::cos(theta), std, mean);
      d[j + 8] = std::fma(radius * std::sin(theta), std, mean);
    }
  };
  for (int64_t i = 0; i < n; ++i) data[i] = gen.uniform<T>();
  for (int64_t i = 0; i + 16 <= n; i += 16) block(data + i);
  if (n % 16 != 0) {
    T* tail = data + n - 16;
    for (int j = 0; j < 16; ++j) tail[j] = gen.uniform<T>();
    block(tail);
  }
}
}  // namespace

void manual_seed(uint64_t seed) {
  t_gen.engine.seed(static_cast<uint32_t>(seed));
  t_gen.seed = seed;
  t_gen.has_next_normal = false;
}
uint64_t initial_seed() { return t_gen.seed; }

// The engine's words and position (the standard's textual form), then the seed and the kept
// normal: 628 words.
std::vector<uint64_t> get_rng_state() {
  std::ostringstream os;
  os << t_gen.engine;
  std::istringstream is(os.str());
  std::vector<uint64_t> state;
  for (uint64_t word; is >> word;) state.push_back(word);
  uint64_t normal_bits;
  std::memcpy(&normal_bits, &t_gen.next_normal, sizeof normal_bits);
  state.insert(state.end(), {t_gen.seed, uint64_t{t_gen.has_next_normal}, normal_bits});
  return state;
}

void set_rng_state(const std::vector<uint64_t>& state) {
  constexpr size_t kWords = std::mt19937::state_size + 1 + 3;
  CG_CHECK(state.size() == kWords, "set_rng_state: invalid generator state (", state.size(), " words, expected ",
           kWords, ")");
  std::ostringstream os;
  for (size_t i = 0; i + 3 < state.size(); ++i) os << state[i] << ' ';
  std::istringstream is(os.str());
  std::mt19937 engine;
  is >> engine;
  CG_CHECK(!is.fail(), "set_rng_state: invalid generator state (", state.size(), " words)");
  t_gen.engine = engine;
  t_gen.seed = state[kWords - 3];
  t_gen.has_next_normal = state[kWords - 2] != 0;
  std::memcpy(&t_gen.next_normal, &state[kWords - 1], sizeof t_gen.next_normal);
}

Tensor& uniform_(Tensor& t, double lo, double hi) {
  check_no_internal_overlap(t);
  t.check_writable();
  CG_DISPATCH_FLOAT(t.dtype(), "uniform_", [&] {
    Generator& gen = t_gen;  // one lookup of the thread-local (a TLS call in -fPIC code)
    const scalar_t from = static_cast<scalar_t>(lo), range = static_cast<scalar_t>(hi - lo);
    fill_in_memory_order<scalar_t>(t, [&] { return std::fma(gen.uniform<scalar_t>(), range, from); });
  });
  t.bump_version();
  return t;
}

Tensor& normal_(Tensor& t, double mean, double std) {
  check_no_internal_overlap(t);
  t.check_writable();
  CG_DISPATCH_FLOAT(t.dtype(), "normal_", [&] {
    Generator& gen = t_gen;
    if (t.numel() >= 16 && t.is_contiguous()) {
      // float16/bfloat16 are drawn in float32, then copied in.
      Tensor dense = compute_dtype(t.dtype()) == t.dtype() ? t : Tensor::empty(t.shape(), compute_dtype(t.dtype()));
      normal_fill<scalar_t>(dense.data<scalar_t>(), dense.numel(), static_cast<scalar_t>(mean),
                            static_cast<scalar_t>(std), gen);
      if (!dense.is_same(t)) kernels::copy(t, dense);
    } else {
      fill_in_memory_order<scalar_t>(t, [&] { return static_cast<scalar_t>(std::fma(gen.normal(), std, mean)); });
    }
  });
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
  Generator& gen = t_gen;
  // PyTorch's random_(from, to): one 32-bit draw modulo the range, two for ranges of 2^32 or more.
  CG_DISPATCH_ALL(dtype, [&] {
    scalar_t* p = t.data<scalar_t>();
    for (int64_t i = 0, n = t.numel(); i < n; ++i) {
      const uint64_t r = range >= (uint64_t{1} << 32) ? gen.random64() : gen.random();
      p[i] = static_cast<scalar_t>(low + static_cast<int64_t>(r % range));
    }
  });
  return cast_data(t, dtype);
}

Tensor randperm(int64_t n) {
  CG_CHECK(n >= 0, "Trying to create tensor with negative dimension ", n, ": [", n, "]");
  Tensor t = arange(0, static_cast<double>(n), 1, DType::Int64);
  int64_t* p = t.data<int64_t>();
  Generator& gen = t_gen;
  // PyTorch's shuffle: position i swaps with one of i..n-1 (one 32-bit draw; two for huge n).
  const bool wide = n >= static_cast<int64_t>(std::numeric_limits<uint32_t>::max() / 20);
  for (int64_t i = 0; i + 1 < n; ++i) {
    const uint64_t r = wide ? gen.random64() : gen.random();
    std::swap(p[i], p[i + static_cast<int64_t>(r % static_cast<uint64_t>(n - i))]);
  }
  return t;
}

Tensor bernoulli(const Tensor& prob) {
  if (is_storage_only(prob.dtype())) return cast_data(bernoulli(cast_data(prob, compute_dtype(prob.dtype()))), prob.dtype());
  Tensor out = Tensor::empty(prob.shape(), prob.dtype());
  Generator& gen = t_gen;
  // As PyTorch: one uniform of p's dtype per element, compared with p.
  CG_DISPATCH_FLOAT(prob.dtype(), "bernoulli", [&] {
    Tensor packed = Tensor::empty(prob.shape(), prob.dtype());  // any layout in, dense out
    kernels::copy(packed, prob);
    const scalar_t* pp = packed.data<scalar_t>();
    scalar_t* o = out.data<scalar_t>();
    for (int64_t i = 0, n = out.numel(); i < n; ++i)
      o[i] = gen.uniform<scalar_t>() < pp[i] ? scalar_t(1) : scalar_t(0);
  });
  return out;
}

}  // namespace cg::ops
