// Parallel backward: once two heavy nodes are ready at the same time (independent branches of
// the graph), the rest of a backward call runs on the caller and a few pool threads. Gradients
// are the same bits for any thread count: every sum of several gradients runs over its cells in
// rank order, whichever thread delivered them and when.
#include "engine/parallel_walk.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <optional>

#include "engine/engine.h"
#include "engine/worker_pool.h"
#include "graph/grad_mode.h"
#include "kernels/parallel.h"

namespace cg::autograd {

namespace {
std::atomic<int> g_backward_threads{-1};  // -1: not read yet; 0: follow set_num_threads
// A node whose gradients have at least this many elements is worth handing to another thread.
// From the costs measured with the harness's two-branch line and timers: a 4096-float32 node's
// backward takes ~1 us, against ~50 ns per node of lock and delivery in parallel mode; a branch
// is handed over once (then it stays on its thread), after a pool thread's wake-up (8 us at best
// on a free core; far more on a loaded machine, which is why a late helper is never waited for).
std::atomic<int64_t> g_parallel_min_node_work{4096};
thread_local bool t_last_parallel = false;  // what last_backward_was_parallel() reports

int env_backward_threads() {
  const char* s = std::getenv("CHAINGRAD_BACKWARD_THREADS");
  return s && *s ? std::max(0, std::atoi(s)) : 0;
}
}  // namespace

int backward_threads() {
  int n = g_backward_threads.load(std::memory_order_relaxed);
  if (n < 0) {
    n = env_backward_threads();
    g_backward_threads.store(n, std::memory_order_relaxed);
  }
  return n > 0 ? n : get_num_threads();
}
void set_backward_threads(int n) { g_backward_threads.store(std::max(0, n), std::memory_order_relaxed); }
int64_t parallel_min_node_work() { return g_parallel_min_node_work.load(std::memory_order_relaxed); }
void set_parallel_min_node_work(int64_t n) { g_parallel_min_node_work.store(std::max<int64_t>(1, n), std::memory_order_relaxed); }
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
  return work >= parallel_min_node_work() && work <= kGrainSize;
}

// The on_ready of a parallel thread: keep the latest node that became ready, share the others.
struct Keep {
  GraphTask& task;
  uint32_t& next;
  bool shared;
  static void ready(void* ctx, uint32_t s) {
    Keep& k = *static_cast<Keep*>(ctx);
    if (k.next == kNoSlot) {
      k.next = s;
      return;
    }
    if (k.task.nodes[s].node->sequence_nr() > k.task.nodes[k.next].node->sequence_nr()) std::swap(s, k.next);
    push_ready(k.task, s);
    k.shared = true;
  }
};

// The loop of every thread working on a parallel task (the caller and its helpers): evaluate a
// node unlocked, deliver under the lock, keep the latest node that became ready for this thread
// (a branch stays on one thread, with its memory in this core's cache) and share the others.
// Gradients are the same bits as serially: every sum runs over its cells in rank order.
void work_on(GraphTask& task, int threads) {
  TensorList grads;
  uint32_t next = kNoSlot;  // a node this thread made ready and keeps
  std::unique_lock<std::mutex> lock(task.mutex);
  for (;;) {
    if (task.error) break;
    if (next == kNoSlot) {
      if (task.ready.empty()) {
        if (task.running == 0) break;
        task.wake.wait(lock);
        continue;
      }
      next = task.ready.pop();
    }
    const uint32_t slot = next;
    next = kNoSlot;
    ++task.running;
    // While pool threads work on the task too, the threads share the cores: a node's kernels stay
    // on the thread that runs it (loops splitting further would only fight the others for them).
    // Alone (no helper has arrived, or all have left), the kernels may use every core.
    const bool helped = task.helpers > 0;
    lock.unlock();
    NodeResult result;
    std::exception_ptr error;
    try {
      std::optional<IntraOpCap> cap;
      if (helped) cap.emplace(get_num_threads() / threads);
      result = evaluate(task, slot, grads);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    --task.running;
    if (error) {
      if (!task.error) task.error = error;
      task.wake.notify_all();
      break;
    }
    Keep keep{task, next, false};
    deliver_each(task, slot, result, &Keep::ready, &keep);
    const bool shared = keep.shared;
    if (shared || (next == kNoSlot && task.ready.empty() && task.running == 0)) task.wake.notify_all();
  }
}

}  // namespace

bool branches_ready(const GraphTask& task) {
  int heavy = 0;
  for (size_t i = 0; i < std::min<size_t>(task.ready.size(), 3); ++i) heavy += is_heavy(*task.nodes[task.ready.peek(i)].node);
  return heavy >= 2;
}

void execute_parallel(GraphTask& task, int threads) {
  task.parallel = true;
  // A pool thread may start long after it was asked (a loaded machine): it joins through the
  // ticket, and only while the task still runs, so the caller never waits for a late helper.
  struct Ticket {
    std::mutex mutex;
    GraphTask* task;
  };
  auto ticket = std::make_shared<Ticket>();
  ticket->task = &task;
  // Helpers inherit what a node's evaluation reads from thread-local state: the task (for
  // should_compute_output) and grad mode (off: parallel tasks never create graph).
  auto help = [ticket, threads] {
    GraphTask* t;
    {
      std::lock_guard<std::mutex> join(ticket->mutex);
      if (!(t = ticket->task)) return;
      std::lock_guard<std::mutex> lock(t->mutex);
      ++t->helpers;
    }
    {
      BackwardFilter::Scope scope(t);
      GradModeGuard grad_mode(false);
      work_on(*t, threads);
    }
    std::lock_guard<std::mutex> lock(t->mutex);
    --t->helpers;
    t->wake.notify_all();
  };
  for (int i = 1; i < threads; ++i)
    if (!submit_to_worker_pool(help, threads - 1)) break;
  work_on(task, threads);
  {
    std::lock_guard<std::mutex> close(ticket->mutex);
    ticket->task = nullptr;
  }
  std::unique_lock<std::mutex> lock(task.mutex);
  task.wake.wait(lock, [&] { return task.helpers == 0; });  // those that joined use `task` until they leave
  if (task.error) std::rethrow_exception(task.error);
}

}  // namespace cg::autograd
