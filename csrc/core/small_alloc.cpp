#include "core/small_alloc.h"

#include <sys/mman.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <vector>

namespace cg::small_alloc_detail {

namespace {
// Fresh blocks are cut from chunks, without a header each; a thread's chunks for a class grow
// from 64 KiB to 2 MiB (marked for transparent huge pages: a million-node graph then takes
// ~100 page faults instead of ~50,000). Chunks are never returned: their blocks circulate
// between the threads' lists and the shared pool, so memory stays at the peak of live blocks.
constexpr size_t kFirstChunk = size_t{64} << 10;
constexpr size_t kHugeChunk = size_t{2} << 20;

inline size_t class_bytes(size_t cls) { return (cls + 1) * kClassBytes; }

// Blocks handed over by threads whose lists overflowed or that exited, as whole lists.
struct Batch {
  FreeBlock* head;
  FreeBlock* tail;
  size_t count;
};
struct SharedPool {
  std::mutex mutex;
  std::vector<Batch> batches[kNumClasses];
  std::vector<void*> chunks;  // every chunk ever cut (kept reachable for leak checkers)
};
SharedPool& shared() {
  static SharedPool* p = new SharedPool;  // never destroyed: threads free blocks during exit
  return *p;
}

void give_batch(size_t cls, Batch b) {
  if (!b.head) return;
  SharedPool& s = shared();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.batches[cls].push_back(b);
}

void* pop(FreeLists& l, size_t cls) {
  FreeBlock* b = l.head[cls];
  l.head[cls] = b->next;
  --l.count[cls];
  return b;
}

bool take_batch(FreeLists& l, size_t cls) {
  SharedPool& s = shared();
  std::lock_guard<std::mutex> lock(s.mutex);
  std::vector<Batch>& v = s.batches[cls];
  if (v.empty()) return false;
  const Batch b = v.back();
  v.pop_back();
  l.head[cls] = b.head;
  l.tail[cls] = b.tail;
  l.count[cls] = b.count;
  return true;
}

void new_chunk(FreeLists& l, size_t cls) {
  size_t size = l.next_chunk[cls] ? l.next_chunk[cls] : kFirstChunk;
  l.next_chunk[cls] = size < kHugeChunk ? size * 2 : kHugeChunk;
  void* p = size >= kHugeChunk ? std::aligned_alloc(kHugeChunk, size) : std::malloc(size);
  if (!p) throw std::bad_alloc();
  if (size >= kHugeChunk) madvise(p, size, MADV_HUGEPAGE);
  {
    SharedPool& s = shared();
    std::lock_guard<std::mutex> lock(s.mutex);
    s.chunks.push_back(p);
  }
  l.bump[cls] = static_cast<char*>(p);
  l.bump_end[cls] = l.bump[cls] + size;
}

// A block when the class's list is empty: from the shared pool, else cut from a chunk.
void* refill(FreeLists& l, size_t cls) {
  const size_t bytes = class_bytes(cls);
  if (l.bump[cls] + bytes > l.bump_end[cls]) {
    if (take_batch(l, cls)) return pop(l, cls);
    new_chunk(l, cls);
  }
  void* p = l.bump[cls];
  l.bump[cls] += bytes;
  return p;
}

// At thread exit: every block this thread holds, and the uncut rest of its chunks, go to the
// shared pool for other threads.
void release_all(FreeLists& l) {
  for (size_t c = 0; c < kNumClasses; ++c) {
    const size_t bytes = class_bytes(c);
    for (; l.bump[c] && l.bump[c] + bytes <= l.bump_end[c]; l.bump[c] += bytes) {
      auto* b = reinterpret_cast<FreeBlock*>(l.bump[c]);
      b->next = l.head[c];
      if (!l.head[c]) l.tail[c] = b;
      l.head[c] = b;
      ++l.count[c];
    }
    hand_over(l, c);
  }
}

// The lists live on the heap, reached through one plain pointer (t_lists: no TLS init guard per
// access); `t_owner` hands them over at thread exit, after which blocks go straight to the
// shared pool.
thread_local bool t_exited = false;
struct ListsOwner {
  std::unique_ptr<FreeLists> lists;
  ~ListsOwner() {
    t_exited = true;
    t_lists = nullptr;
    if (lists) release_all(*lists);
  }
};
thread_local ListsOwner t_owner;

FreeLists* lists() {
  if (FreeLists* l = t_lists) return l;
  if (t_exited) return nullptr;
  t_owner.lists = std::make_unique<FreeLists>();
  return t_lists = t_owner.lists.get();
}
}  // namespace

void hand_over(FreeLists& l, size_t cls) noexcept {
  give_batch(cls, {l.head[cls], l.tail[cls], l.count[cls]});
  l.head[cls] = l.tail[cls] = nullptr;
  l.count[cls] = 0;
}

#ifdef CG_SMALL_ALLOC_ASAN
// Under AddressSanitizer every block is its own allocation, so a use after free is seen.
void* alloc_slow(size_t nbytes) { return ::operator new(nbytes); }
void free_slow(void* p, size_t) noexcept { ::operator delete(p); }
#else
void* alloc_slow(size_t nbytes) {
  if (nbytes > kSmallAllocMax || nbytes == 0) return ::operator new(nbytes);
  const size_t cls = size_class(nbytes);
  FreeLists* l = lists();
  if (!l) {  // thread teardown: a block from the shared pool, or a fresh one of its class
    FreeLists tmp;
    void* p = refill(tmp, cls);
    release_all(tmp);
    return p;
  }
  if (l->head[cls]) return pop(*l, cls);
  return refill(*l, cls);
}

void free_slow(void* p, size_t nbytes) noexcept {
  if (!p) return;
  if (nbytes > kSmallAllocMax || nbytes == 0) {
    ::operator delete(p);
    return;
  }
  const size_t cls = size_class(nbytes);
  if (lists()) return small_free(p, nbytes);  // the lists exist now
  auto* b = static_cast<FreeBlock*>(p);  // thread teardown: straight to the shared pool
  b->next = nullptr;
  give_batch(cls, {b, b, 1});
}
#endif

}  // namespace cg::small_alloc_detail
