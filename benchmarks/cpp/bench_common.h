// Timing helpers shared by the chaingrad and libtorch harnesses: median of repeated runs.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

inline double time_once(const std::function<void()>& f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Median seconds of `reps` runs after `warmup` untimed ones.
inline double median_seconds(const std::function<void()>& f, int reps = 7, int warmup = 1) {
  for (int i = 0; i < warmup; ++i) f();
  std::vector<double> ts;
  for (int i = 0; i < reps; ++i) ts.push_back(time_once(f));
  std::sort(ts.begin(), ts.end());
  return ts[ts.size() / 2];
}

inline void report(const char* system, const char* what, double value, const char* unit) {
  std::printf("%-10s %-44s %12.2f %s\n", system, what, value, unit);
}
