// Parallel backward: once two heavy nodes are ready at the same time (independent branches of
// the graph), the rest of a backward call runs on the caller and the threads of its OpenMP team.
// Gradients are the same bits for any thread count: every sum of several gradients runs over its
// cells in rank order, whichever thread delivered them and when.
//
// Each thread follows a branch on its own: it keeps the latest node it made ready and runs it next
// without the task's lock (a chain's links are delivered with no atomics at all, the cells of a
// node several edges lead to are taken and counted atomically). The lock is taken only to share a
// second ready node, to add a fresh inline record, and to wait for work.
#include "engine/parallel_walk.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <optional>

#include "engine/engine.h"
#include "engine/machine_load.h"
#include "graph/grad_mode.h"
#include "kernels/parallel.h"

namespace cg::autograd {

namespace {
std::atomic<int> g_backward_threads{-1};  // -1: not read yet; 0: follow set_num_threads
// A node whose gradients have at least this many elements is worth handing to another thread.
// From the costs measured with the harness's two-branch lines: a 4096-float32 node's backward
// takes ~1 us; a branch is handed over once (then it stays on its thread), after a helper's
// wake-up (microseconds while the team still spins after a kernel loop, ~10 us from sleep on a free
// core, far more on a loaded machine, which is why the default mode checks the load first).
std::atomic<int64_t> g_parallel_min_node_work{4096};
std::atomic<bool> g_load_aware{true};
thread_local bool t_last_parallel = false;  // what last_backward_was_parallel() reports

int env_backward_threads() {
  const char* s = std::getenv("CHAINGRAD_BACKWARD_THREADS");
  return s && *s ? std::max(0, std::atoi(s)) : 0;
}
int requested_backward_threads() {
  int n = g_backward_threads.load(std::memory_order_relaxed);
  if (n < 0) {
    n = env_backward_threads();
    g_backward_threads.store(n, std::memory_order_relaxed);
  }
  return n;
}
}  // namespace

int backward_threads() {
  const int n = requested_backward_threads();
  return n > 0 ? n : get_num_threads();
}
void set_backward_threads(int n) { g_backward_threads.store(std::max(0, n), std::memory_order_relaxed); }
int64_t parallel_min_node_work() { return g_parallel_min_node_work.load(std::memory_order_relaxed); }
void set_parallel_min_node_work(int64_t n) { g_parallel_min_node_work.store(std::max<int64_t>(1, n), std::memory_order_relaxed); }
bool backward_load_aware() { return g_load_aware.load(std::memory_order_relaxed); }
void set_backward_load_aware(bool on) { g_load_aware.store(on, std::memory_order_relaxed); }
bool last_backward_was_parallel() { return t_last_parallel; }
void note_last_backward(const GraphTask& task) { t_last_parallel = task.parallel; }

namespace {

// Whether a node's backward is big enough to be worth another thread, and small enough that the
// kernels do not already spread it over every thread inside their loops. Its work is the larger of
// the gradients it takes and those it makes: a sum's backward takes one number and fills a tensor
// (every branch of a loss `f(x).sum() + g(x).sum()` starts with one).
bool is_heavy(const Node& node) {
  int64_t in = 0, out = 0;
  for (const OutputMeta& m : node.output_meta) in += numel_of(m.shape);
  for (const Edge& e : node.next_edges)
    if (e.valid() && e.input_nr < e.fn->output_meta.size()) out += numel_of(e.fn->output_meta[e.input_nr].shape);
  const int64_t work = std::max(in, out);
  return work >= parallel_min_node_work() && work < kGrainSize;
}

// While it lives, narrows this thread's CPU mask (the thread's own mask comes back at the end).
// A parallel walk pins the caller to the CPU it is on and keeps its helpers off that CPU: a woken
// helper lands on the CPU of the thread that woke it, and with the caller free to move as well the
// two often end up sharing one core for the whole walk (measured on an idle 2-core VM: both
// branches of the harness's 2 x 1000-node walk on one CPU, 1.0x); new threads, which the
// scheduler spreads, got 1.8x on the same machine.
class CpuMaskScope {
 public:
  enum Mode { kOnly, kAllBut };
  CpuMaskScope(Mode mode, int cpu) {
    if (cpu < 0 || sched_getaffinity(0, sizeof saved_, &saved_) != 0 || !CPU_ISSET(cpu, &saved_)) return;
    cpu_set_t wanted;
    if (mode == kOnly) {
      CPU_ZERO(&wanted);
      CPU_SET(cpu, &wanted);
    } else {
      wanted = saved_;
      CPU_CLR(cpu, &wanted);
    }
    changed_ = CPU_COUNT(&wanted) > 0 && !CPU_EQUAL(&wanted, &saved_) && sched_setaffinity(0, sizeof wanted, &wanted) == 0;
  }
  ~CpuMaskScope() {
    if (changed_) sched_setaffinity(0, sizeof saved_, &saved_);
  }
  CpuMaskScope(const CpuMaskScope&) = delete;
  CpuMaskScope& operator=(const CpuMaskScope&) = delete;

 private:
  cpu_set_t saved_;
  bool changed_ = false;
};

// The records of one thread of a parallel walk, for deliver (parallel_walk.h): a cell of a node
// one edge leads to is this thread's alone; the cells of nodes with several producers are taken
// and counted atomically (GraphTask::arrivals); inline records come from this thread's own list.
struct ParallelRecords {
  GraphTask& task;
  std::vector<uint32_t> free_slots;  // inline records this thread gave back
  size_t unclaimed = 0;              // claimed nodes given back (added to the task's count at the end)

  void give_back(NodeTask& rec) { unclaimed += GraphTask::unclaim(rec); }
  NodeTask& add_inline(Node* fn, uint32_t& slot) {
    if (free_slots.empty()) {
      std::lock_guard<std::mutex> lock(task.mutex);  // (readers of other records need no lock)
      return GraphTask::start_inline(task.new_inline(slot), fn);
    }
    slot = free_slots.back();
    free_slots.pop_back();
    return GraphTask::start_inline(task.nodes[slot], fn);
  }
  GradCell& arrive(uint32_t slot, NodeTask& to) {
    if (to.incoming == 1) return to.cell;
    return task.cell(to, task.arrivals[slot].claimed.fetch_add(1, std::memory_order_relaxed));
  }
  // The last producer to fill its cell sees every other producer's cell (acquire-release).
  bool filled(uint32_t slot, NodeTask& to) {
    return to.incoming == 1 || task.arrivals[slot].filled.fetch_add(1, std::memory_order_acq_rel) + 1 == to.incoming;
  }
  void free_inline(uint32_t slot, NodeTask&) { free_slots.push_back(slot); }
};

// Runs the node at `slot` and then, as long as it makes some ready, the latest of those on this
// thread (a branch stays on one thread, with its memory in this core's cache); the others are
// shared through the ready queue. An error stops the branch and is returned.
std::exception_ptr run_branch(GraphTask& task, int threads, uint32_t slot, ParallelRecords& records, TensorList& grads) {
  std::vector<uint32_t> shared;
  while (slot != kNoSlot && !task.failed.load(std::memory_order_relaxed)) {
    NodeTask& rec = task.nodes[slot];
    NodeResult result;
    try {
      // While helpers work on the task too, the threads share the cores: a node's kernels
      // stay on the thread that runs it (loops splitting further would only fight the others for
      // them). Alone (no helper has arrived, or all have left), the kernels may use every core.
      std::optional<IntraOpCap> cap;
      if (task.helpers.load(std::memory_order_relaxed) > 0) cap.emplace(std::max(1, get_num_threads() / threads));
      result = evaluate(task, slot, rec, grads);
    } catch (...) {
      return std::current_exception();
    }
    uint32_t next = kNoSlot;
    deliver(records, slot, rec, result, [&](uint32_t s) {
      if (next != kNoSlot && task.nodes[s].node->sequence_nr() > task.nodes[next].node->sequence_nr()) std::swap(s, next);
      if (next == kNoSlot) next = s;
      else shared.push_back(s);
    });
    if (!shared.empty()) {
      {
        std::lock_guard<std::mutex> lock(task.mutex);
        for (uint32_t s : shared) push_ready(task, s);
      }
      task.wake.notify_all();
      shared.clear();
    }
    slot = next;
  }
  return nullptr;
}

// The loop of every thread working on a parallel task (the caller and its helpers): take a ready
// node, run its branch unlocked, until nothing is ready and nobody runs (or an error).
void work_on(GraphTask& task, int threads) {
  TensorList grads;
  ParallelRecords records{task, {}, 0};
  std::unique_lock<std::mutex> lock(task.mutex);
  while (!task.error) {
    if (task.ready.empty()) {
      if (task.running == 0) break;
      task.wake.wait(lock);
      continue;
    }
    const uint32_t slot = task.ready.pop();
    ++task.running;
    lock.unlock();
    std::exception_ptr error = run_branch(task, threads, slot, records, grads);
    lock.lock();
    --task.running;
    if (error && !task.error) {
      task.error = error;
      task.failed.store(true, std::memory_order_relaxed);
    }
    if (error || (task.running == 0 && task.ready.empty())) task.wake.notify_all();  // the end
  }
  task.count_unclaimed(records.unclaimed);
}

}  // namespace

bool should_go_parallel(GraphTask& task) {
  // (A fused chain's later nodes read their gradients from a map the threads would share.)
  if (!task.fused_outputs.empty() || task.load_checked) return false;
  int heavy = 0;
  for (size_t i = 0; i < std::min<size_t>(task.ready.size(), 3); ++i) heavy += is_heavy(*task.nodes[task.ready.peek(i)].node);
  if (heavy < 2) return false;
  // An explicit thread count (set_backward_threads, CHAINGRAD_BACKWARD_THREADS) is taken as asked.
  if (backward_load_aware() && requested_backward_threads() == 0) {
    task.load_checked = true;  // once per call: the answer is a snapshot anyway
    return free_core_now();
  }
  return true;
}

void execute_parallel(GraphTask& task, int threads) {
  task.parallel = true;
  // From here on the cells of records several edges lead to are taken atomically; those filled
  // so far count as taken.
  const size_t tracked = task.nodes.size();
  task.arrivals.reset(new GraphTask::Arrivals[tracked]);
  for (size_t s = 0; s < tracked; ++s) {
    const NodeTask& rec = task.nodes[s];
    const uint32_t arrived = rec.incoming - rec.dependencies;
    task.arrivals[s].claimed.store(arrived, std::memory_order_relaxed);
    task.arrivals[s].filled.store(arrived, std::memory_order_relaxed);
  }
  // The helpers are the kernels' OpenMP team. Each helper takes on what a node's evaluation reads
  // from the caller's thread-local state: the task (for should_compute_output) and grad mode (off:
  // parallel tasks never create graph). A helper that starts late finds the work done and leaves
  // at once; the caller waits for it at the team's end.
  const int caller_cpu = sched_getcpu();
  run_on_team(threads, [&](int rank) {
    if (rank == 0) {
      CpuMaskScope stay(CpuMaskScope::kOnly, caller_cpu);
      work_on(task, threads);
      return;
    }
    CpuMaskScope away(CpuMaskScope::kAllBut, caller_cpu);
    task.helpers.fetch_add(1, std::memory_order_relaxed);
    {
      BackwardFilter::Scope scope(&task);
      GradModeGuard grad_mode(false);
      work_on(task, threads);
    }
    task.helpers.fetch_sub(1, std::memory_order_relaxed);
  });
  if (task.error) std::rethrow_exception(task.error);
}

}  // namespace cg::autograd
