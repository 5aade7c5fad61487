// Per-thread free lists for the small objects every op creates (tensor blocks, graph nodes).
// A freed block goes onto the freeing thread's list, whichever thread allocated it: blocks come
// from malloc, so any thread may reuse or release them. Each list keeps a bounded number of
// blocks; beyond that (and at thread exit) they go back to malloc.
#pragma once
#include <cstddef>
#include <new>

namespace cg {

// Blocks up to this size are pooled (by 16-byte size class); larger ones use operator new.
constexpr size_t kSmallAllocMax = 1024;

void* small_alloc(size_t nbytes);
void small_free(void* p, size_t nbytes) noexcept;

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
