// Counts of live objects (tensors, storages, graph nodes) for leak tests and memory reports.
// Each thread counts in its own slots, without atomic read-modify-writes on the hot path; a
// read sums every thread's slots (an object made on one thread and freed on another leaves +1
// on one and -1 on the other, which sum to zero).
#pragma once
#include <atomic>
#include <cstdint>

namespace cg {

enum class LiveKind { Tensor, Storage, StorageBytes, Node, kCount };

namespace live_detail {
struct Slots {
  std::atomic<int64_t> value[static_cast<int>(LiveKind::kCount)] = {};
};
Slots* thread_slots();  // this thread's slots, or null during thread teardown
void add_global(LiveKind kind, int64_t delta);
// A thread's first count, or one during its teardown (out of line: keeps live_add small).
void add_slow(LiveKind kind, int64_t delta);
inline thread_local Slots* t_slots = nullptr;
}  // namespace live_detail

// Only the owning thread writes its slots, so a relaxed load and store replace fetch_add.
inline void live_add(LiveKind kind, int64_t delta) {
  live_detail::Slots* s = live_detail::t_slots;
  if (!s) return live_detail::add_slow(kind, delta);
  std::atomic<int64_t>& v = s->value[static_cast<int>(kind)];
  v.store(v.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
}

// Two counts of one object at once (a storage and its bytes): one look-up of the slots.
inline void live_add2(LiveKind k1, int64_t d1, LiveKind k2, int64_t d2) {
  live_detail::Slots* s = live_detail::t_slots;
  if (!s) {
    live_add(k1, d1);
    live_add(k2, d2);
    return;
  }
  std::atomic<int64_t>& v1 = s->value[static_cast<int>(k1)];
  std::atomic<int64_t>& v2 = s->value[static_cast<int>(k2)];
  v1.store(v1.load(std::memory_order_relaxed) + d1, std::memory_order_relaxed);
  v2.store(v2.load(std::memory_order_relaxed) + d2, std::memory_order_relaxed);
}

int64_t live_total(LiveKind kind);

}  // namespace cg
