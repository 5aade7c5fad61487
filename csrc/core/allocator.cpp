#include "core/allocator.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "core/errors.h"

namespace cg {

namespace {

constexpr size_t kAlignment = 64;  // a cache line, and enough for any SIMD load
// Large buffers are 2 MiB aligned and marked for transparent huge pages: a fresh 40 MB tensor
// then costs ~20 page faults instead of ~10,000.
constexpr size_t kHugePage = size_t{2} << 20;
// Smaller buffers are left to malloc, which reuses them well; from here on every fresh buffer
// is a fresh mapping (glibc's mmap threshold), so faulted in page by page.
constexpr size_t kCacheMin = size_t{1} << 20;
constexpr size_t kSmallClass = size_t{64} << 10;

size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

// The size actually allocated for n bytes: requests of one class share cached buffers.
size_t size_class(size_t n) {
  if (n < kCacheMin) return round_up(n, kAlignment);
  return round_up(n, n < kHugePage ? kSmallClass : kHugePage);
}

void* system_alloc(size_t cls) {
  const size_t align = cls >= kHugePage ? kHugePage : kAlignment;
  void* p = std::aligned_alloc(align, cls);
#ifdef MADV_HUGEPAGE
  if (p && align == kHugePage) madvise(p, cls, MADV_HUGEPAGE);
#endif
  return p;
}

#if defined(__SANITIZE_ADDRESS__)
#define CG_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CG_ASAN 1
#endif
#endif

// A quarter of physical memory; 0 (no cache) under AddressSanitizer, which could not see a use
// after free of a buffer the cache still holds, or when CHAINGRAD_BUFFER_CACHE=0.
int64_t default_limit() {
#ifdef CG_ASAN
  return 0;
#endif
  if (const char* env = std::getenv("CHAINGRAD_BUFFER_CACHE"); env && std::string(env) == "0") return 0;
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  const int64_t ram = pages > 0 && page > 0 ? int64_t{pages} * page : int64_t{4} << 30;
  return ram / 4;
}

struct Cached {
  void* data;
  size_t cls;
};

// The cache. Allocated once and never destroyed (storages may be freed by other static
// destructors after this file's); CacheCloser empties it at exit and turns it off.
class BufferCache {
 public:
  void* allocate(size_t nbytes) {
    const size_t cls = size_class(nbytes);
    if (cls >= kCacheMin) {
      std::vector<void*> evicted;
      {
        std::lock_guard<std::mutex> lock(mu_);
        // Most recently freed first: its pages are the likeliest to be in cache.
        for (size_t i = entries_.size(); i-- > 0;) {
          if (entries_[i].cls != cls) continue;
          void* p = entries_[i].data;
          entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(i));
          cached_ -= static_cast<int64_t>(cls);
          ++hits_;
          return p;
        }
        ++misses_;
        // Make room first, so that live + cached never exceeds what the process would hold
        // without the cache.
        evict_locked(static_cast<int64_t>(cls), &evicted);
      }
      for (void* p : evicted) std::free(p);
    }
    void* p = system_alloc(cls);
    if (!p) {
      release();
      p = system_alloc(cls);
    }
    // RuntimeError (not MemoryError) like PyTorch's allocator, so the same except clauses work.
    if (!p)
      throw RuntimeError(msg("DefaultCPUAllocator: can't allocate memory: you tried to allocate ", nbytes, " bytes."));
    return p;
  }

  void free(void* data, size_t nbytes) {
    const size_t cls = size_class(nbytes);
    if (cls >= kCacheMin) {
      std::vector<void*> evicted;
      bool kept = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!closed_ && static_cast<int64_t>(cls) <= limit_) {
          evict_locked(cached_ + static_cast<int64_t>(cls) - limit_, &evicted);
          entries_.push_back({data, cls});
          cached_ += static_cast<int64_t>(cls);
          kept = true;
        }
      }
      for (void* p : evicted) std::free(p);
      if (kept) return;
    }
    std::free(data);
  }

  void release() {
    std::vector<Cached> all;
    {
      std::lock_guard<std::mutex> lock(mu_);
      all.swap(entries_);
      cached_ = 0;
    }
    for (const Cached& c : all) std::free(c.data);
  }

  void close() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    release();
  }

  int64_t set_limit(int64_t bytes) {
    std::vector<void*> evicted;
    int64_t old;
    {
      std::lock_guard<std::mutex> lock(mu_);
      old = limit_;
      limit_ = std::max<int64_t>(0, bytes);
      evict_locked(cached_ - limit_, &evicted);
    }
    for (void* p : evicted) std::free(p);
    return old;
  }

  BufferCacheStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return {cached_, static_cast<int64_t>(entries_.size()), limit_, hits_, misses_};
  }

 private:
  // Takes the oldest buffers out until at least `bytes` are gone (or nothing is left); the
  // caller frees them after unlocking.
  void evict_locked(int64_t bytes, std::vector<void*>* out) {
    size_t n = 0;
    for (int64_t freed = 0; freed < bytes && n < entries_.size(); ++n) {
      freed += static_cast<int64_t>(entries_[n].cls);
      out->push_back(entries_[n].data);
      cached_ -= static_cast<int64_t>(entries_[n].cls);
    }
    entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(n));
  }

  std::mutex mu_;
  std::vector<Cached> entries_;  // oldest first
  int64_t cached_ = 0;
  int64_t limit_ = default_limit();
  int64_t hits_ = 0, misses_ = 0;
  bool closed_ = false;
};

BufferCache& cache() {
  static BufferCache* c = new BufferCache();  // never destroyed: see BufferCache
  return *c;
}

struct CacheCloser {
  CacheCloser() { cache(); }  // constructed first, so closed after everything that uses it
  ~CacheCloser() { cache().close(); }
} g_closer;

// Mid-size buffers (past a Storage's inline bytes, up to kMidMax): malloc serves an aligned
// request by splitting a larger chunk and freeing the pieces (~1,200 instructions a call, and a
// fastbin consolidation when a chunk of this size comes back), and every op on a 512-element
// vector, like the engine's per-call records, makes such buffers. Each thread keeps the ones it
// frees, per 64-byte class (kMidPerClass of a class, kMidBytes in all), for its next requests of
// that class: a push and a pop on an intrusive list. Off whenever the large cache is (limit 0,
// AddressSanitizer); release_buffer_cache() empties the calling thread's lists.
constexpr size_t kMidMax = size_t{64} << 10;
constexpr uint32_t kMidPerClass = 64;
constexpr size_t kMidBytes = size_t{4} << 20;
std::atomic<bool> g_mid_enabled{default_limit() > 0};
thread_local bool t_mid_closed = false;  // set once this thread's lists are destroyed (thread exit)

class MidCache {
 public:
  ~MidCache() {
    release();
    t_mid_closed = true;
  }
  void* take(size_t cls) {
    List& l = lists_[cls / kAlignment - 1];
    void* p = l.head;
    if (!p) return nullptr;
    l.head = *static_cast<void**>(p);
    --l.count;
    bytes_ -= cls;
    return p;
  }
  bool keep(void* p, size_t cls) {
    List& l = lists_[cls / kAlignment - 1];
    if (l.count >= kMidPerClass || bytes_ + cls > kMidBytes) return false;
    *static_cast<void**>(p) = l.head;
    l.head = p;
    ++l.count;
    bytes_ += cls;
    return true;
  }
  void release() {
    for (List& l : lists_) {
      while (l.head) {
        void* p = l.head;
        l.head = *static_cast<void**>(p);
        std::free(p);
      }
      l.count = 0;
    }
    bytes_ = 0;
  }

 private:
  struct List {
    void* head = nullptr;
    uint32_t count = 0;
  };
  List lists_[kMidMax / kAlignment];
  size_t bytes_ = 0;
};

MidCache* mid_cache(size_t cls) {
  if (cls > kMidMax || t_mid_closed || !g_mid_enabled.load(std::memory_order_relaxed)) return nullptr;
  thread_local MidCache c;
  return &c;
}

}  // namespace

void* allocate_buffer(size_t nbytes) {
  const size_t cls = size_class(nbytes);
  if (MidCache* m = mid_cache(cls))
    if (void* p = m->take(cls)) return p;
  return cache().allocate(nbytes);
}
void free_buffer(void* data, size_t nbytes) {
  const size_t cls = size_class(nbytes);
  if (MidCache* m = mid_cache(cls))
    if (m->keep(data, cls)) return;
  cache().free(data, nbytes);
}
BufferCacheStats buffer_cache_stats() { return cache().stats(); }
void release_buffer_cache() {
  if (MidCache* m = mid_cache(kAlignment)) m->release();
  cache().release();
}
int64_t set_buffer_cache_limit(int64_t bytes) {
  if (bytes <= 0)
    if (MidCache* m = mid_cache(kAlignment)) m->release();
  g_mid_enabled.store(bytes > 0, std::memory_order_relaxed);
  return cache().set_limit(bytes);
}

}  // namespace cg
