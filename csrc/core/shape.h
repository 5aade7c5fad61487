// Shapes, strides (in elements), broadcasting and dimension wrapping.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/errors.h"

namespace cg {

using Shape = std::vector<int64_t>;

// A shape kept for later (a node's output and input metadata): 8 bytes, nothing allocated for a
// 0-d shape (most nodes of scalar code), else one pooled Shape. Reads as a const Shape&.
class StoredShape {
 public:
  StoredShape() = default;
  StoredShape(const Shape& s) : p_(s.empty() ? nullptr : make(s)) {}  // NOLINT: implicit by design
  StoredShape(const StoredShape& o) : p_(o.p_ ? make(*o.p_) : nullptr) {}
  StoredShape(StoredShape&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  StoredShape& operator=(const StoredShape& o) { return *this = StoredShape(o); }
  StoredShape& operator=(StoredShape&& o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~StoredShape() {
    if (p_) destroy(p_);
  }

  const Shape& get() const { return p_ ? *p_ : none(); }
  operator const Shape&() const { return get(); }  // NOLINT: implicit by design
  bool empty() const { return p_ == nullptr; }
  size_t size() const { return p_ ? p_->size() : 0; }
  int64_t operator[](size_t i) const { return (*p_)[i]; }
  Shape::const_iterator begin() const { return get().begin(); }
  Shape::const_iterator end() const { return get().end(); }

 private:
  static const Shape& none();
  static Shape* make(const Shape& s);
  static void destroy(Shape* p) noexcept;
  Shape* p_ = nullptr;  // null: 0-d (a stored shape is never an empty non-null vector)
};
inline bool operator==(const StoredShape& a, const StoredShape& b) { return a.get() == b.get(); }
inline bool operator==(const StoredShape& a, const Shape& b) { return a.get() == b; }
inline bool operator==(const Shape& a, const StoredShape& b) { return a == b.get(); }
inline bool operator!=(const StoredShape& a, const StoredShape& b) { return !(a == b); }
inline bool operator!=(const StoredShape& a, const Shape& b) { return !(a == b); }
inline bool operator!=(const Shape& a, const StoredShape& b) { return !(a == b); }

// Product of the sizes; RuntimeError on int64 overflow (a view expanded to 2^40 x 2^40).
int64_t numel_of(const Shape& shape);
// Bytes a contiguous buffer of `shape` needs; RuntimeError on negative sizes or overflow.
size_t storage_nbytes(const Shape& shape, size_t itemsize);
Shape contiguous_strides(const Shape& shape);
std::string shape_str(const Shape& shape);  // "[2, 3]"
std::string size_str(const Shape& shape);   // "chaingrad.Size([2, 3])"

// PyTorch's broadcasting rule; the RuntimeError uses PyTorch's wording (both sizes and the
// failing dimension) followed by both full shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b);

// Wraps a possibly negative dim into [0, ndim); scalars accept -1 and 0 as PyTorch does.
int64_t wrap_dim(int64_t dim, int64_t ndim);

// Infers a single -1 in a requested shape; errors name the shape and the input size.
Shape infer_size(const Shape& requested, int64_t numel);

// Strides for viewing (shape, strides) as `new_shape` without a copy, or empty if impossible.
bool compute_view_strides(const Shape& shape, const Shape& strides, const Shape& new_shape,
                          Shape& new_strides);

}  // namespace cg
