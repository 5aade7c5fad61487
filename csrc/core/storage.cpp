#include "core/storage.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <new>

#include "core/allocator.h"
#include "core/errors.h"
#include "core/live_counts.h"

namespace cg {

namespace {
// Diagnostic counters (not state the computation depends on). Storages and their inline bytes
// are counted per thread (core/live_counts.h); heap bytes, whose allocation costs far more than
// an atomic, are counted globally so that their high-water mark is exact.
std::atomic<int64_t> g_heap_bytes{0};
std::atomic<int64_t> g_peak_heap_bytes{0};

void add_heap_bytes(int64_t n) {
  const int64_t now = g_heap_bytes.fetch_add(n, std::memory_order_relaxed) + n;
  int64_t peak = g_peak_heap_bytes.load(std::memory_order_relaxed);
  while (now > peak && !g_peak_heap_bytes.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}
constexpr size_t kHugePage = size_t{2} << 20;  // allocations are rounded up to this at most
}  // namespace

void Storage::init_heap(bool zero) {
  if (nbytes_ > static_cast<size_t>(PTRDIFF_MAX) - kHugePage)
    throw RuntimeError(msg("Storage size calculation overflowed: ", nbytes_, " bytes"));
  data_ = allocate_buffer(nbytes_);  // core/allocator.h: aligned, large buffers cached
  owns_heap_ = true;
  if (zero) std::memset(data_, 0, nbytes_);
  live_add(LiveKind::Storage, 1);
  add_heap_bytes(static_cast<int64_t>(nbytes_));
}

Storage::Storage(void* data, size_t nbytes, std::shared_ptr<void> owner)
    : data_(data), nbytes_(nbytes), owns_heap_(false), owner_(std::move(owner)) {
  live_add(LiveKind::Storage, 1);
  add_heap_bytes(static_cast<int64_t>(nbytes_));
  borrowed_ = true;
}

void Storage::release_heap() noexcept {
  if (owns_heap_) free_buffer(data_, nbytes_);
  live_add(LiveKind::Storage, -1);
  g_heap_bytes.fetch_sub(static_cast<int64_t>(nbytes_), std::memory_order_relaxed);
}

int64_t Storage::live_count() { return live_total(LiveKind::Storage); }
int64_t Storage::live_bytes() { return g_heap_bytes.load() + live_total(LiveKind::StorageBytes); }
// The inline bytes (at most 32 per tiny tensor) join the heap's high-water mark as they are now.
int64_t Storage::peak_bytes() { return g_peak_heap_bytes.load() + live_total(LiveKind::StorageBytes); }
void Storage::reset_peak_bytes() { g_peak_heap_bytes.store(g_heap_bytes.load()); }

}  // namespace cg
