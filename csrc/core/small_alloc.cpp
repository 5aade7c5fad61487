#include "core/small_alloc.h"

#include <sys/mman.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <vector>

namespace cg {

#if defined(__SANITIZE_ADDRESS__)
#define CG_SMALL_ALLOC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CG_SMALL_ALLOC_ASAN 1
#endif
#endif

namespace {
constexpr size_t kClassBytes = 16;  // a node wastes at most 15 bytes
constexpr size_t kNumClasses = kSmallAllocMax / kClassBytes;
// Blocks a thread keeps per size class; beyond that, the whole list moves to the shared pool in
// one splice (a thread that only frees what another allocates never grows without bound).
constexpr size_t kMaxCached = 4096;
// Fresh blocks are cut from chunks, without a header each; a thread's chunks for a class grow
// from 64 KiB to 2 MiB (marked for transparent huge pages: a million-node graph then takes
// ~100 page faults instead of ~50,000). Chunks are never returned: their blocks circulate
// between the threads' lists and the shared pool, so memory stays at the peak of live blocks.
constexpr size_t kFirstChunk = size_t{64} << 10;
constexpr size_t kHugeChunk = size_t{2} << 20;

inline size_t size_class(size_t nbytes) { return (nbytes + kClassBytes - 1) / kClassBytes - 1; }
inline size_t class_bytes(size_t cls) { return (cls + 1) * kClassBytes; }

struct FreeBlock {
  FreeBlock* next;
};

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

struct FreeLists {
  FreeBlock* head[kNumClasses] = {};
  FreeBlock* tail[kNumClasses] = {};  // the first block pushed onto an empty list
  size_t count[kNumClasses] = {};
  char* bump[kNumClasses] = {};  // the uncut rest of the class's current chunk
  char* bump_end[kNumClasses] = {};
  size_t next_chunk[kNumClasses] = {};

  void push(size_t cls, void* p) {
    auto* b = static_cast<FreeBlock*>(p);
    b->next = head[cls];
    if (!head[cls]) tail[cls] = b;
    head[cls] = b;
    if (++count[cls] > kMaxCached) hand_over(cls);
  }
  void hand_over(size_t cls) {
    give_batch(cls, {head[cls], tail[cls], count[cls]});
    head[cls] = tail[cls] = nullptr;
    count[cls] = 0;
  }
  void* refill(size_t cls) {
    const size_t bytes = class_bytes(cls);
    if (bump[cls] + bytes > bump_end[cls]) {
      if (take_batch(cls)) return pop(cls);
      new_chunk(cls);
    }
    void* p = bump[cls];
    bump[cls] += bytes;
    return p;
  }
  void* pop(size_t cls) {
    FreeBlock* b = head[cls];
    head[cls] = b->next;
    --count[cls];
    return b;
  }
  bool take_batch(size_t cls) {
    SharedPool& s = shared();
    std::lock_guard<std::mutex> lock(s.mutex);
    std::vector<Batch>& v = s.batches[cls];
    if (v.empty()) return false;
    const Batch b = v.back();
    v.pop_back();
    head[cls] = b.head;
    tail[cls] = b.tail;
    count[cls] = b.count;
    return true;
  }
  void new_chunk(size_t cls) {
    size_t size = next_chunk[cls] ? next_chunk[cls] : kFirstChunk;
    next_chunk[cls] = size < kHugeChunk ? size * 2 : kHugeChunk;
    void* p = size >= kHugeChunk ? std::aligned_alloc(kHugeChunk, size) : std::malloc(size);
    if (!p) throw std::bad_alloc();
    if (size >= kHugeChunk) madvise(p, size, MADV_HUGEPAGE);
    {
      SharedPool& s = shared();
      std::lock_guard<std::mutex> lock(s.mutex);
      s.chunks.push_back(p);
    }
    bump[cls] = static_cast<char*>(p);
    bump_end[cls] = bump[cls] + size;
  }
  // At thread exit: every block this thread holds, and the uncut rest of its chunks, go to the
  // shared pool for other threads.
  void release_all() {
    for (size_t c = 0; c < kNumClasses; ++c) {
      const size_t bytes = class_bytes(c);
      for (; bump[c] && bump[c] + bytes <= bump_end[c]; bump[c] += bytes) {
        auto* b = reinterpret_cast<FreeBlock*>(bump[c]);
        b->next = head[c];
        if (!head[c]) tail[c] = b;
        head[c] = b;
        ++count[c];
      }
      hand_over(c);
    }
  }
};

// The lists live on the heap, reached through one plain pointer (no TLS init guard per access);
// `t_owner` hands them over at thread exit, after which blocks go straight to the shared pool.
thread_local FreeLists* t_lists = nullptr;
thread_local bool t_exited = false;
struct ListsOwner {
  std::unique_ptr<FreeLists> lists;
  ~ListsOwner() {
    t_exited = true;
    t_lists = nullptr;
    if (lists) lists->release_all();
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

#ifdef CG_SMALL_ALLOC_ASAN
// Under AddressSanitizer every block is its own allocation, so a use after free is seen.
void* small_alloc(size_t nbytes) { return ::operator new(nbytes); }
void small_free(void* p, size_t) noexcept { ::operator delete(p); }
#else
void* small_alloc(size_t nbytes) {
  if (nbytes > kSmallAllocMax || nbytes == 0) return ::operator new(nbytes);
  const size_t cls = size_class(nbytes);
  FreeLists* l = lists();
  if (!l) {  // thread teardown: a block from the shared pool, or a fresh one of its class
    FreeLists tmp;
    void* p = tmp.refill(cls);
    tmp.release_all();
    return p;
  }
  if (l->head[cls]) return l->pop(cls);
  return l->refill(cls);
}

void small_free(void* p, size_t nbytes) noexcept {
  if (!p) return;
  if (nbytes > kSmallAllocMax || nbytes == 0) {
    ::operator delete(p);
    return;
  }
  const size_t cls = size_class(nbytes);
  if (FreeLists* l = lists()) return l->push(cls, p);
  auto* b = static_cast<FreeBlock*>(p);  // thread teardown: straight to the shared pool
  b->next = nullptr;
  give_batch(cls, {b, b, 1});
}
#endif

}  // namespace cg
