#include "core/small_alloc.h"

#include <cstdlib>
#include <memory>

namespace cg {

namespace {
constexpr size_t kClassBytes = 16;  // malloc's granularity: a node wastes at most 15 bytes
constexpr size_t kNumClasses = kSmallAllocMax / kClassBytes;
// Blocks kept per size class and thread: enough for a steady stream of ops to recycle, bounded
// so that a freed million-node graph returns its memory to malloc.
constexpr size_t kMaxCached = 4096;

struct FreeBlock {
  FreeBlock* next;
};

struct FreeLists {
  FreeBlock* head[kNumClasses] = {};
  size_t count[kNumClasses] = {};
};
// The lists live on the heap, reached through one plain pointer (no TLS init guard per access);
// `t_owner` frees them at thread exit, after which blocks go straight to malloc.
thread_local FreeLists* t_lists = nullptr;
thread_local bool t_exited = false;
struct ListsOwner {
  std::unique_ptr<FreeLists> lists;
  ~ListsOwner() {
    t_exited = true;
    t_lists = nullptr;
    if (!lists) return;
    for (size_t c = 0; c < kNumClasses; ++c)
      while (FreeBlock* b = lists->head[c]) {
        lists->head[c] = b->next;
        std::free(b);
      }
  }
};
thread_local ListsOwner t_owner;

FreeLists* lists() {
  if (FreeLists* l = t_lists) return l;
  if (t_exited) return nullptr;
  t_owner.lists = std::make_unique<FreeLists>();
  return t_lists = t_owner.lists.get();
}

inline size_t size_class(size_t nbytes) { return (nbytes + kClassBytes - 1) / kClassBytes - 1; }

void* fresh(size_t cls) {
  void* p = std::malloc((cls + 1) * kClassBytes);  // malloc's alignment suits every pooled type
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

void* small_alloc(size_t nbytes) {
  if (nbytes > kSmallAllocMax || nbytes == 0) return ::operator new(nbytes);
  const size_t cls = size_class(nbytes);
  FreeLists* l = lists();
  if (l)
    if (FreeBlock* b = l->head[cls]) {
      l->head[cls] = b->next;
      --l->count[cls];
      return b;
    }
  return fresh(cls);
}

void small_free(void* p, size_t nbytes) noexcept {
  if (!p) return;
  if (nbytes > kSmallAllocMax || nbytes == 0) {
    ::operator delete(p);
    return;
  }
  const size_t cls = size_class(nbytes);
  FreeLists* l = lists();
  if (!l || l->count[cls] >= kMaxCached) {
    std::free(p);
    return;
  }
  auto* b = static_cast<FreeBlock*>(p);
  b->next = l->head[cls];
  l->head[cls] = b;
  ++l->count[cls];
}

}  // namespace cg
