// A vector whose first N elements live inside the object: a node's edges and output metadata
// (almost always one or two) then cost no allocation of their own. The interface is the part of
// std::vector the graph code uses, so call sites read the same. The inline elements and the heap
// pointer share their bytes (a million-node graph holds two of these per node): the object is
// N elements plus 8 bytes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace cg {

template <typename T, size_t N>
class SmallVector {
 public:
  using value_type = T;
  using iterator = T*;
  using const_iterator = const T*;

  SmallVector() = default;
  SmallVector(std::initializer_list<T> items) {
    reserve(items.size());
    for (const T& v : items) push_back(v);
  }
  SmallVector(const SmallVector& o) {
    reserve(o.size_);
    for (const T& v : o) push_back(v);
  }
  SmallVector(SmallVector&& o) noexcept { take(std::move(o)); }
  SmallVector& operator=(const SmallVector& o) {
    if (this != &o) {
      clear();
      reserve(o.size_);
      for (const T& v : o) push_back(v);
    }
    return *this;
  }
  SmallVector& operator=(SmallVector&& o) noexcept {
    if (this != &o) {
      clear();
      free_heap();
      take(std::move(o));
    }
    return *this;
  }
  // Elements in one pass, without storing the shrinking size after each (every node destroys
  // two of these); nothing to do for trivial ones.
  ~SmallVector() {
    if constexpr (!std::is_trivially_destructible_v<T>) {
      T* p = data();
      for (T* e = p + size_; p != e; ++p) p->~T();
    }
    if (on_heap()) ::operator delete(heap_);
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t capacity() const { return capacity_; }
  T* data() { return on_heap() ? heap_ : inline_data(); }
  const T* data() const { return on_heap() ? heap_ : inline_data(); }
  T& operator[](size_t i) { return data()[i]; }
  const T& operator[](size_t i) const { return data()[i]; }
  T& back() { return data()[size_ - 1]; }
  const T& back() const { return data()[size_ - 1]; }
  iterator begin() { return data(); }
  iterator end() { return data() + size_; }
  const_iterator begin() const { return data(); }
  const_iterator end() const { return data() + size_; }

  void reserve(size_t n) {
    if (n > capacity_) grow(n);
  }
  template <typename... Args>
  __attribute__((always_inline)) T& emplace_back(Args&&... args) {  // (the graph's hot path)
    if (size_ == capacity_) grow(capacity_ * 2);
    T* p = new (data() + size_) T(std::forward<Args>(args)...);
    ++size_;
    return *p;
  }
  void push_back(const T& v) { emplace_back(v); }
  void push_back(T&& v) { emplace_back(std::move(v)); }
  void pop_back() { data()[--size_].~T(); }
  void resize(size_t n) {
    reserve(n);
    while (size_ < n) emplace_back();
    while (size_ > n) pop_back();
  }
  void clear() {
    while (size_ > 0) pop_back();
  }
  // Hands each element to `last_use` and destroys it, in one pass (how a node drops its edges),
  // leaving the vector empty.
  template <typename F>
  void clear_each(F&& last_use) {
    T* p = data();
    for (T* e = p + size_; p != e; ++p) {
      last_use(*p);
      p->~T();
    }
    size_ = 0;
  }

 private:
  T* inline_data() { return std::launder(reinterpret_cast<T*>(inline_)); }
  const T* inline_data() const { return std::launder(reinterpret_cast<const T*>(inline_)); }
  bool on_heap() const { return capacity_ > N; }
  void free_heap() {
    if (on_heap()) ::operator delete(heap_);
    capacity_ = N;
  }
  // Out of line: keeps emplace_back small enough to inline (the inline room is the common case).
  __attribute__((noinline)) void grow(size_t n) {
    T* fresh = static_cast<T*>(::operator new(n * sizeof(T)));
    T* old = data();
    for (size_t i = 0; i < size_; ++i) {
      new (fresh + i) T(std::move(old[i]));
      old[i].~T();
    }
    if (on_heap()) ::operator delete(heap_);
    heap_ = fresh;
    capacity_ = static_cast<uint32_t>(n);
  }
  void take(SmallVector&& o) {
    if (o.on_heap()) {
      heap_ = o.heap_;
      size_ = o.size_;
      capacity_ = o.capacity_;
      o.size_ = 0;
      o.capacity_ = N;
      return;
    }
    for (T& v : o) push_back(std::move(v));
    o.clear();
  }

  static_assert(N >= 1, "SmallVector needs room for at least one inline element");
  union {
    alignas(T) unsigned char inline_[N * sizeof(T)];
    T* heap_;  // when capacity_ > N
  };
  uint32_t size_ = 0;
  uint32_t capacity_ = N;
};

}  // namespace cg
