// Standalone driver for the vecmath.h accuracy harness (check_accuracy.py builds and runs it).
//
//   vecmath_dump <exp|log|tanh|sigmoid> <f32|f64> <in.bin> <out.bin>
//       Reads a raw native-endian array of float32/float64, applies cg::kernels::vec_<func> in a
//       plain loop (the same shape as the elementwise kernels, so it is the vectorized code that
//       runs), and writes the raw results.
//   vecmath_dump bench [n]
//       Single-thread ns/element of vec_* vs std:: loops over n (default 10M) elements.
//
// Not part of the CMake test glob (it lives in a subdirectory and has its own main).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/vecmath.h"

namespace {

using cg::kernels::vec_exp;
using cg::kernels::vec_log;
using cg::kernels::vec_sigmoid;
using cg::kernels::vec_tanh;

#define CG_DEFINE_LOOP(name, expr)                                                          \
  template <typename T>                                                                     \
  __attribute__((noinline)) void name(T* __restrict o, const T* __restrict a, int64_t n) { \
    for (int64_t i = 0; i < n; ++i) o[i] = expr;                                            \
  }
CG_DEFINE_LOOP(loop_vec_exp, vec_exp(a[i]))
CG_DEFINE_LOOP(loop_vec_log, vec_log(a[i]))
CG_DEFINE_LOOP(loop_vec_tanh, vec_tanh(a[i]))
CG_DEFINE_LOOP(loop_vec_sigmoid, vec_sigmoid(a[i]))
CG_DEFINE_LOOP(loop_std_exp, std::exp(a[i]))
CG_DEFINE_LOOP(loop_std_log, std::log(a[i]))
CG_DEFINE_LOOP(loop_std_tanh, std::tanh(a[i]))
CG_DEFINE_LOOP(loop_std_sigmoid, T(1) / (T(1) + std::exp(-a[i])))
#undef CG_DEFINE_LOOP

template <typename T>
int dump(const std::string& func, const char* in_path, const char* out_path) {
  FILE* f = std::fopen(in_path, "rb");
  if (!f) { std::perror(in_path); return 1; }
  std::fseek(f, 0, SEEK_END);
  const long bytes = std::ftell(f);
  std::fseek(f, 0, SEEK_SET);
  std::vector<T> in(static_cast<size_t>(bytes) / sizeof(T)), out(in.size());
  const size_t got = std::fread(in.data(), sizeof(T), in.size(), f);
  std::fclose(f);
  if (got != in.size()) { std::fprintf(stderr, "short read\n"); return 1; }
  const int64_t n = static_cast<int64_t>(in.size());
  if (func == "exp") loop_vec_exp(out.data(), in.data(), n);
  else if (func == "log") loop_vec_log(out.data(), in.data(), n);
  else if (func == "tanh") loop_vec_tanh(out.data(), in.data(), n);
  else if (func == "sigmoid") loop_vec_sigmoid(out.data(), in.data(), n);
  else { std::fprintf(stderr, "unknown function %s\n", func.c_str()); return 2; }
  FILE* g = std::fopen(out_path, "wb");
  if (!g) { std::perror(out_path); return 1; }
  std::fwrite(out.data(), sizeof(T), out.size(), g);
  std::fclose(g);
  return 0;
}

// Best-of-7 ns/element of loop over `in`. With hot > 0, instead times `hot`-element chunks run
// from L1 repeatedly (same total element count): compute throughput without the memory traffic.
template <typename T, typename Loop>
double time_ns_per_elem(Loop loop, std::vector<T>& out, const std::vector<T>& in, int64_t hot = 0) {
  const int64_t n = static_cast<int64_t>(in.size());
  double best = 1e30;
  for (int rep = 0; rep < 7; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    if (hot > 0) {
      for (int64_t done = 0; done + hot <= n; done += hot)
        loop(out.data(), in.data() + (done / hot % 64) * 16, hot);
    } else {
      loop(out.data(), in.data(), n);
    }
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::nano>(t1 - t0).count() / double(n));
  }
  volatile T sink = out[static_cast<size_t>(hot > 0 ? hot / 2 : n / 2)];  // keep results observable
  (void)sink;
  return best;
}

template <typename T>
void bench_type(const char* tname, int64_t n) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> sym(-10.0, 10.0), pos(1e-3, 1e3);
  std::vector<T> x(static_cast<size_t>(n)), xp(static_cast<size_t>(n)), out(static_cast<size_t>(n));
  for (auto& v : x) v = T(sym(rng));
  for (auto& v : xp) v = T(pos(rng));
  struct Row {
    const char* name;
    void (*vec)(T*, const T*, int64_t);
    void (*ref)(T*, const T*, int64_t);
    const std::vector<T>* in;
  };
  const Row rows[] = {
      {"exp", loop_vec_exp<T>, loop_std_exp<T>, &x},
      {"log", loop_vec_log<T>, loop_std_log<T>, &xp},
      {"tanh", loop_vec_tanh<T>, loop_std_tanh<T>, &x},
      {"sigmoid", loop_vec_sigmoid<T>, loop_std_sigmoid<T>, &x},
  };
  constexpr int64_t kHot = 2048;
  for (const auto& r : rows) {
    const double v = time_ns_per_elem<T>(r.vec, out, *r.in);
    const double s = time_ns_per_elem<T>(r.ref, out, *r.in);
    const double vh = time_ns_per_elem<T>(r.vec, out, *r.in, kHot);
    const double sh = time_ns_per_elem<T>(r.ref, out, *r.in, kHot);
    std::printf("%-4s %-8s streaming: vec %6.3f  std %6.3f ns/elem (%4.1fx) | "
                "in-cache: vec %6.3f  std %6.3f ns/elem (%4.1fx)\n",
                tname, r.name, v, s, s / v, vh, sh, sh / vh);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "bench") {
    const int64_t n = argc >= 3 ? std::atoll(argv[2]) : 10000000;
    std::printf("n = %lld elements, 1 thread, best of 7 "
                "(inputs: exp/tanh/sigmoid U(-10,10), log U(1e-3,1e3))\n",
                static_cast<long long>(n));
    bench_type<float>("f32", n);
    bench_type<double>("f64", n);
    return 0;
  }
  if (argc != 5) {
    std::fprintf(stderr,
                 "usage: %s <exp|log|tanh|sigmoid> <f32|f64> <in.bin> <out.bin>\n"
                 "       %s bench [n]\n",
                 argv[0], argv[0]);
    return 2;
  }
  const std::string dtype = argv[2];
  if (dtype == "f32") return dump<float>(argv[1], argv[3], argv[4]);
  if (dtype == "f64") return dump<double>(argv[1], argv[3], argv[4]);
  std::fprintf(stderr, "unknown dtype %s\n", dtype.c_str());
  return 2;
}
