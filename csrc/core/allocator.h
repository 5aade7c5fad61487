// Host memory for tensor storages: aligned buffers, with a size-bucketed cache of large ones.
//
// A fresh large buffer costs a page fault per page the first time it is written (the kernel
// zeroes every page: for a 40 MB tensor that is a 40 MB memset before the op's own pass), and
// steady-state training frees and reallocates the same sizes every step. Large buffers are
// therefore kept, when freed, in a per-size cache and handed out again for the next request
// of their size class. The cache never holds more than its limit, and never makes the process
// bigger than its peak of live bytes: a request it cannot serve first releases cached buffers
// of other sizes (at least as many bytes as it is about to allocate). Cached bytes are not live
// bytes: Storage's live counters (the leak tests, `_live_counts()`) never see them. The cache is
// off under AddressSanitizer (it would hide a use after free) and with CHAINGRAD_BUFFER_CACHE=0.
// Mid-size buffers (up to 64 KB) are kept per thread instead, a few MB at most (allocator.cpp).
#pragma once
#include <cstddef>
#include <cstdint>

namespace cg {

// Aligned to 64 bytes (2 MiB and marked for transparent huge pages when large); throws
// RuntimeError with PyTorch's allocator message when the memory cannot be had, after releasing
// the cache and retrying once. Thread-safe.
void* allocate_buffer(size_t nbytes);
// Returns a buffer from allocate_buffer(nbytes) (the same nbytes).
void free_buffer(void* data, size_t nbytes);

struct BufferCacheStats {
  int64_t cached_bytes = 0;     // held by the cache now (not live)
  int64_t cached_buffers = 0;
  int64_t limit_bytes = 0;
  int64_t hits = 0;             // requests served from the cache since the process started
  int64_t misses = 0;           // large requests that went to the system
};
BufferCacheStats buffer_cache_stats();
// Gives every cached buffer back to the system (also done when an allocation fails and at exit).
void release_buffer_cache();
// Caps the cache (bytes; 0 disables it). Returns the previous limit.
int64_t set_buffer_cache_limit(int64_t bytes);

}  // namespace cg
