// Per-thread free lists for the small objects every op creates (tensor blocks, graph nodes).
// A freed block goes onto the freeing thread's list, whichever thread allocated it. Fresh blocks
// are cut from large chunks (no per-block malloc header or call); a list that grows past its bound
// (a thread freeing what another allocates) and a thread's lists at its exit move, as whole
// lists, to a shared pool that other threads refill from. Memory therefore stays at the peak of
// live small blocks and is reused by every thread; it is not returned to malloc. Under
// AddressSanitizer each block is a plain allocation.
#pragma once
#include <cstddef>
#include <new>

namespace cg {

// Blocks up to this size are pooled (by 8-byte size class); larger ones use operator new.
constexpr size_t kSmallAllocMax = 1024;

#if defined(__SANITIZE_ADDRESS__)
#define CG_SMALL_ALLOC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CG_SMALL_ALLOC_ASAN 1
#endif
#endif

namespace small_alloc_detail {
// 8-byte classes: a block wastes at most 7 bytes. Every block of a class has the class's size and
// chunks are 16-byte aligned, so an object whose size is a multiple of 16 stays 16-byte aligned.
constexpr size_t kClassBytes = 8;
constexpr size_t kNumClasses = kSmallAllocMax / kClassBytes;
// Blocks a thread keeps per size class; beyond that, the whole list moves to the shared pool in
// one splice (a thread that only frees what another allocates never grows without bound).
constexpr size_t kMaxCached = 4096;
constexpr size_t size_class(size_t nbytes) { return (nbytes + kClassBytes - 1) / kClassBytes - 1; }

struct FreeBlock {
  FreeBlock* next;
};
// A thread's lists (small_alloc.cpp has the slow paths: refills, hand-overs, thread exit).
struct FreeLists {
  FreeBlock* head[kNumClasses] = {};
  FreeBlock* tail[kNumClasses] = {};  // the first block pushed onto an empty list
  size_t count[kNumClasses] = {};
  char* bump[kNumClasses] = {};  // the uncut rest of the class's current chunk
  char* bump_end[kNumClasses] = {};
  size_t next_chunk[kNumClasses] = {};
};
// This thread's lists once made (null before the first allocation and after thread exit).
inline thread_local FreeLists* t_lists = nullptr;

void* alloc_slow(size_t nbytes);
void free_slow(void* p, size_t nbytes) noexcept;
void hand_over(FreeLists& lists, size_t cls) noexcept;
}  // namespace small_alloc_detail

// The common case inline (a block from this thread's list: a few instructions, sizes are
// mostly compile-time constants); everything else in small_alloc.cpp.
#ifdef CG_SMALL_ALLOC_ASAN
inline void* small_alloc(size_t nbytes) { return small_alloc_detail::alloc_slow(nbytes); }
inline void small_free(void* p, size_t nbytes) noexcept { small_alloc_detail::free_slow(p, nbytes); }
#else
inline void* small_alloc(size_t nbytes) {
  using namespace small_alloc_detail;
  FreeLists* l = t_lists;
  if (l && nbytes - 1 < kSmallAllocMax) {  // (0 wraps around: not pooled)
    const size_t cls = size_class(nbytes);
    if (FreeBlock* b = l->head[cls]) {
      l->head[cls] = b->next;
      --l->count[cls];
      return b;
    }
    // An empty list: cut the block from the class's current chunk (what a growing graph does for
    // every node); only a used-up chunk takes the slow path (shared pool, new chunk).
    const size_t bytes = (cls + 1) * kClassBytes;
    char* p = l->bump[cls];
    if (p && p + bytes <= l->bump_end[cls]) {
      l->bump[cls] = p + bytes;
      return p;
    }
  }
  return alloc_slow(nbytes);
}

inline void small_free(void* p, size_t nbytes) noexcept {
  using namespace small_alloc_detail;
  FreeLists* l = t_lists;
  if (l && p && nbytes - 1 < kSmallAllocMax) {
    const size_t cls = size_class(nbytes);
    auto* b = static_cast<FreeBlock*>(p);
    b->next = l->head[cls];
    if (!l->head[cls]) l->tail[cls] = b;
    l->head[cls] = b;
    if (++l->count[cls] > kMaxCached) hand_over(*l, cls);
    return;
  }
  free_slow(p, nbytes);
}
#endif

// A std allocator over small_alloc (std::allocate_shared puts the control block and the object
// in one pooled block).
template <typename T>
struct SmallAllocator {
  using value_type = T;
  SmallAllocator() = default;
  template <typename U>
  SmallAllocator(const SmallAllocator<U>&) {}  // NOLINT: rebinding is implicit by design
  T* allocate(size_t n) { return static_cast<T*>(small_alloc(n * sizeof(T))); }
  void deallocate(T* p, size_t n) noexcept { small_free(p, n * sizeof(T)); }
  template <typename U>
  bool operator==(const SmallAllocator<U>&) const { return true; }
  template <typename U>
  bool operator!=(const SmallAllocator<U>&) const { return false; }
};

}  // namespace cg
