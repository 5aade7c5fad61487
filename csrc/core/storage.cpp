#include "core/storage.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <new>

#include "core/allocator.h"
#include "core/errors.h"

namespace cg {

namespace {
// Process-wide diagnostic counters (not state the computation depends on).
std::atomic<int64_t> g_live_count{0};
std::atomic<int64_t> g_live_bytes{0};
std::atomic<int64_t> g_peak_bytes{0};

void add_live_bytes(int64_t n) {
  const int64_t now = g_live_bytes.fetch_add(n, std::memory_order_relaxed) + n;
  int64_t peak = g_peak_bytes.load(std::memory_order_relaxed);
  while (now > peak && !g_peak_bytes.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}
constexpr size_t kHugePage = size_t{2} << 20;  // allocations are rounded up to this at most
}  // namespace

Storage::Storage(size_t nbytes, bool zero) : nbytes_(nbytes) {
  if (nbytes > static_cast<size_t>(PTRDIFF_MAX) - kHugePage)
    throw RuntimeError(msg("Storage size calculation overflowed: ", nbytes, " bytes"));
  if (nbytes <= kInlineBytes) {
    data_ = inline_;
    if (zero) std::memset(inline_, 0, kInlineBytes);
  } else {
    data_ = allocate_buffer(nbytes);  // core/allocator.h: aligned, large buffers cached
    owns_heap_ = true;
    if (zero) std::memset(data_, 0, nbytes);
  }
  g_live_count.fetch_add(1, std::memory_order_relaxed);
  add_live_bytes(static_cast<int64_t>(nbytes_));
}

Storage::Storage(void* data, size_t nbytes, std::shared_ptr<void> owner)
    : data_(data), nbytes_(nbytes), owner_(std::move(owner)) {
  g_live_count.fetch_add(1, std::memory_order_relaxed);
  add_live_bytes(static_cast<int64_t>(nbytes_));
}

Storage::~Storage() {
  if (owns_heap_) free_buffer(data_, nbytes_);
  g_live_count.fetch_sub(1, std::memory_order_relaxed);
  g_live_bytes.fetch_sub(static_cast<int64_t>(nbytes_), std::memory_order_relaxed);
}

int64_t Storage::live_count() { return g_live_count.load(); }
int64_t Storage::live_bytes() { return g_live_bytes.load(); }
int64_t Storage::peak_bytes() { return g_peak_bytes.load(); }
void Storage::reset_peak_bytes() { g_peak_bytes.store(g_live_bytes.load()); }

}  // namespace cg
