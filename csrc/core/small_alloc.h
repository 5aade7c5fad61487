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
