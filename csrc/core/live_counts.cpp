#include "core/live_counts.h"

#include <deque>
#include <mutex>
#include <vector>

namespace cg::live_detail {

namespace {
// Slots are never freed: a thread that exits hands its slots (with their counts, which still
// belong in the totals) to the next thread that starts counting.
struct Registry {
  std::mutex mutex;
  std::deque<Slots> all;  // stable addresses
  std::vector<Slots*> unowned;
  Slots global;  // updates made while a thread is being torn down
};
Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: threads may count during process exit
  return *r;
}

thread_local bool t_exited = false;  // readable during teardown
struct Owner {
  Slots* slots = nullptr;
  ~Owner() {
    t_exited = true;
    t_slots = nullptr;
    if (!slots) return;
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    r.unowned.push_back(slots);
  }
};
thread_local Owner t_owner;
}  // namespace

Slots* thread_slots() {
  if (t_exited) return nullptr;
  Owner& o = t_owner;
  if (!o.slots) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    if (!r.unowned.empty()) {
      o.slots = r.unowned.back();
      r.unowned.pop_back();
    } else {
      o.slots = &r.all.emplace_back();
    }
  }
  t_slots = o.slots;
  return o.slots;
}

void add_slow(LiveKind kind, int64_t delta) {
  if (Slots* s = thread_slots()) {
    std::atomic<int64_t>& v = s->value[static_cast<int>(kind)];
    v.store(v.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
  } else {
    add_global(kind, delta);
  }
}

void add_global(LiveKind kind, int64_t delta) {
  registry().global.value[static_cast<int>(kind)].fetch_add(delta, std::memory_order_relaxed);
}

}  // namespace cg::live_detail

namespace cg {

int64_t live_total(LiveKind kind) {
  using namespace live_detail;
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  const int k = static_cast<int>(kind);
  int64_t total = r.global.value[k].load(std::memory_order_relaxed);
  for (const Slots& s : r.all) total += s.value[k].load(std::memory_order_relaxed);
  return total;
}

}  // namespace cg
