#include "core/storage.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace cg {

namespace {
// Process-wide diagnostic counters (not state the computation depends on).
std::atomic<int64_t> g_live_count{0};
std::atomic<int64_t> g_live_bytes{0};
constexpr size_t kAlignment = 64;  // a cache line, and enough for any SIMD load
}  // namespace

Storage::Storage(size_t nbytes, bool zero) : nbytes_(nbytes) {
  size_t padded = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  if (padded == 0) padded = kAlignment;
  data_ = std::aligned_alloc(kAlignment, padded);
  if (!data_) throw std::bad_alloc();
  if (zero) std::memset(data_, 0, padded);
  owner_ = std::shared_ptr<void>(data_, [](void* p) { std::free(p); });
  g_live_count.fetch_add(1, std::memory_order_relaxed);
  g_live_bytes.fetch_add(static_cast<int64_t>(nbytes_), std::memory_order_relaxed);
}

Storage::Storage(void* data, size_t nbytes, std::shared_ptr<void> owner)
    : data_(data), nbytes_(nbytes), owner_(std::move(owner)) {
  g_live_count.fetch_add(1, std::memory_order_relaxed);
  g_live_bytes.fetch_add(static_cast<int64_t>(nbytes_), std::memory_order_relaxed);
}

Storage::~Storage() {
  g_live_count.fetch_sub(1, std::memory_order_relaxed);
  g_live_bytes.fetch_sub(static_cast<int64_t>(nbytes_), std::memory_order_relaxed);
}

int64_t Storage::live_count() { return g_live_count.load(); }
int64_t Storage::live_bytes() { return g_live_bytes.load(); }

}  // namespace cg
