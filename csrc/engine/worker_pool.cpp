#include "engine/worker_pool.h"

#include <pthread.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace cg::autograd {

namespace {

class WorkerPool {
 public:
  bool submit(std::function<void()> job, int max_threads) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (static_cast<int>(jobs_.size()) >= idle_) {
      if (threads_ >= max_threads) return false;
      ++threads_;
      // Detached: the pool lives as long as the process and never joins (exit needs no ordering).
      std::thread([this] { work(); }).detach();
    }
    jobs_.push_back(std::move(job));
    wake_.notify_one();
    return true;
  }

 private:
  void work() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      ++idle_;
      wake_.wait(lock, [&] { return !jobs_.empty(); });
      --idle_;
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  int idle_ = 0;     // threads waiting for a job
  int threads_ = 0;  // threads started
};

// The pool of this process, immortal (its threads are detached and may outlive static
// destruction). A forked child has none of the parent's threads, and maybe a mutex a parent thread
// held, so it starts from a fresh pool; the parent's copy is left behind unused.
WorkerPool*& current_pool() {
  static WorkerPool* pool = [] {
    pthread_atfork(nullptr, nullptr, [] { current_pool() = new WorkerPool; });
    return new WorkerPool;
  }();
  return pool;
}

}  // namespace

bool submit_to_worker_pool(std::function<void()> job, int max_threads) {
  return max_threads > 0 && current_pool()->submit(std::move(job), max_threads);
}

}  // namespace cg::autograd
