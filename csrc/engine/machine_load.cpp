// The load check behind parallel backward's default (load-aware) mode. On a loaded machine a
// helper only takes turns with the caller or another process, which makes the call slower, not
// faster, so the walk stays serial unless a core is free.
//
// What counts is other processes' work: this process's own threads (kernel threads still
// spinning after a parallel loop, which are the helpers themselves) must not. So the check
// compares how busy the allowed CPUs were (/proc/stat, per CPU) with the CPU time this process
// used (getrusage) over the same window, of at least kWindow. With no earlier sample in this
// thread, or one too old to describe now, it falls back on the load average, which counts this
// process's threads too but is what there is. Without /proc: assume a core is free.
#include "engine/machine_load.h"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>

namespace cg::autograd {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kWindow = std::chrono::milliseconds(200);  // /proc/stat counts 10 ms ticks
constexpr auto kStale = std::chrono::seconds(2);

const cpu_set_t& allowed_mask() {
  static const cpu_set_t mask = [] {
    cpu_set_t m;
    CPU_ZERO(&m);
    if (sched_getaffinity(0, sizeof m, &m) != 0) CPU_SET(0, &m);
    return m;
  }();
  return mask;
}

// Seconds the allowed CPUs spent on anything but idling and waiting for I/O since boot (stolen
// time included: the hypervisor had the CPU); negative without /proc/stat.
double allowed_busy_seconds() {
  FILE* f = std::fopen("/proc/stat", "re");
  if (!f) return -1;
  static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100);
  double busy = 0;
  char line[512];
  // The per-CPU lines come first, each short ("cpu" alone is the total; "intr" ends them).
  while (std::fgets(line, sizeof line, f) && std::strncmp(line, "cpu", 3) == 0) {
    int cpu;
    unsigned long long user, nice, system, idle, iowait, irq, softirq, steal;
    if (std::sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &user, &nice, &system, &idle, &iowait,
                    &irq, &softirq, &steal) != 9)
      continue;
    if (cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &allowed_mask()))
      busy += static_cast<double>(user + nice + system + irq + softirq + steal) / ticks;
  }
  std::fclose(f);
  return busy;
}

double own_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec); };
  return seconds(ru.ru_utime) + seconds(ru.ru_stime);
}

// The load average's answer: over the last minute fewer than cpus - 1/2 threads runnable on
// average, and right now no more than one per CPU (this thread included).
bool free_by_load_average(int cpus) {
  FILE* f = std::fopen("/proc/loadavg", "re");
  if (!f) return true;
  double load = 0;
  int running = 0;
  const bool read = std::fscanf(f, "%lf %*f %*f %d/", &load, &running) == 2;
  std::fclose(f);
  return !read || (load < cpus - 0.5 && running <= cpus);
}

struct Sample {
  Clock::time_point when{};
  double busy = -1, own = 0;
};

}  // namespace

bool free_core_now() {
  static const int cpus = CPU_COUNT(&allowed_mask());
  if (cpus < 2) return false;
  thread_local Sample last;
  thread_local bool free = true;
  const Clock::time_point now = Clock::now();
  const bool have_last = last.when != Clock::time_point{} && last.busy >= 0;
  if (have_last && now - last.when < kWindow) return free;
  const Sample sample{now, allowed_busy_seconds(), own_cpu_seconds()};
  if (have_last && sample.busy >= 0 && now - last.when < kStale) {
    const double wall = std::chrono::duration<double>(now - last.when).count();
    const double others = ((sample.busy - last.busy) - (sample.own - last.own)) / wall;
    free = others < cpus - 1.5;  // a whole core beyond the caller's
  } else {
    free = free_by_load_average(cpus);
  }
  last = sample;
  return free;
}

}  // namespace cg::autograd
