// Counts heap allocations in the benchmark process (no LD_PRELOAD, no external tool): the
// executable defines malloc and friends, which the dynamic linker binds ahead of libc's for every
// library (libstdc++'s operator new included), and forwards them to glibc's own entry points.
// Include in exactly one translation unit of the harness.
#pragma once
#include <atomic>
#include <cstddef>

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);
}

namespace alloc_counter {
inline std::atomic<long> mallocs{0}, frees{0};
}

extern "C" {
void* malloc(size_t n) {
  alloc_counter::mallocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t size) {
  alloc_counter::mallocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) {
  if (!p) alloc_counter::mallocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, n);
}
void* aligned_alloc(size_t align, size_t n) {
  alloc_counter::mallocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(align, n);
}
void* memalign(size_t align, size_t n) {
  alloc_counter::mallocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(align, n);
}
int posix_memalign(void** out, size_t align, size_t n) {
  alloc_counter::mallocs.fetch_add(1, std::memory_order_relaxed);
  *out = __libc_memalign(align, n);
  return *out ? 0 : 12;  // ENOMEM
}
void free(void* p) {
  if (!p) return;
  alloc_counter::frees.fetch_add(1, std::memory_order_relaxed);
  __libc_free(p);
}
}

struct AllocCount {
  long mallocs, frees;
};
inline AllocCount alloc_count() {
  return {alloc_counter::mallocs.load(std::memory_order_relaxed), alloc_counter::frees.load(std::memory_order_relaxed)};
}
