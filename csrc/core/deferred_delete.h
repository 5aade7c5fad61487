// Iterative destruction of linked structures. Destroying the head of a million-node graph
// would otherwise recurse a million frames deep (node -> edge -> node ...). Objects created
// with make_deferred<T> are deleted through a per-thread worklist: a deletion that happens
// while another is in progress is queued and run by the outermost one, so depth stays O(1).
#pragma once
#include <memory>
#include <utility>

namespace cg {

void deferred_delete(void* object, void (*destroy)(void*)) noexcept;

template <typename T>
struct DeferredDeleter {
  void operator()(T* p) const noexcept {
    deferred_delete(p, [](void* q) { delete static_cast<T*>(q); });
  }
};

template <typename T, typename... Args>
std::shared_ptr<T> make_deferred(Args&&... args) {
  return std::shared_ptr<T>(new T(std::forward<Args>(args)...), DeferredDeleter<T>{});
}

}  // namespace cg
