#include "core/shape.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <new>
#include <sstream>

#include "core/small_alloc.h"

namespace cg {

const Shape& StoredShape::none() {
  static const Shape empty;
  return empty;
}
Shape* StoredShape::make(const Shape& s) { return new (small_alloc(sizeof(Shape))) Shape(s); }
void StoredShape::destroy(Shape* p) noexcept {
  p->~Shape();
  small_free(p, sizeof(Shape));
}

int64_t numel_of(const Shape& shape) {
  int64_t n = 1;
  for (int64_t s : shape)
    if (__builtin_mul_overflow(n, s, &n)) throw RuntimeError("numel: integer multiplication overflow");
  return n;
}

size_t storage_nbytes(const Shape& shape, size_t itemsize) {
  uint64_t n = itemsize;
  bool overflow = false;
  for (int64_t s : shape) {
    if (s < 0) throw RuntimeError(msg("Trying to create tensor with negative dimension ", s, ": ", shape_str(shape)));
    overflow = overflow || __builtin_mul_overflow(n, static_cast<uint64_t>(s), &n);
  }
  // Sizes beyond PTRDIFF_MAX could not be indexed with signed offsets (the same bound PyTorch applies).
  if (overflow || n > static_cast<uint64_t>(PTRDIFF_MAX))
    throw RuntimeError(msg("Storage size calculation overflowed with sizes=", shape_str(shape)));
  return static_cast<size_t>(n);
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t acc = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = acc;
    acc *= shape[i] > 0 ? shape[i] : 1;
  }
  return strides;
}

std::string shape_str(const Shape& shape) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

std::string size_str(const Shape& shape) { return "chaingrad.Size(" + shape_str(shape) + ")"; }

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  // From the last dim backwards, as PyTorch does, so the same mismatch is the one reported.
  for (size_t i = n; i-- > 0;) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da == db || db == 1) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else {
      // PyTorch's wording, then both full shapes (the sizes alone rarely locate the bug).
      throw RuntimeError(with_culprit(msg("The size of tensor a (", da, ") must match the size of tensor b (", db,
                                          ") at non-singleton dimension ", i),
                                      msg("shapes ", shape_str(a), " and ", shape_str(b))));
    }
  }
  return out;
}

int64_t wrap_dim(int64_t dim, int64_t ndim) {
  int64_t n = ndim > 0 ? ndim : 1;
  if (dim < -n || dim >= n)
    throw IndexError(msg("Dimension out of range (expected to be in range of [", -n, ", ", n - 1,
                         "], but got ", dim, ")"));
  return dim < 0 ? dim + n : dim;
}

Shape infer_size(const Shape& requested, int64_t numel) {
  Shape out = requested;
  int64_t known = 1;
  int64_t infer = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      if (infer >= 0) throw RuntimeError("only one dimension can be inferred");
      infer = static_cast<int64_t>(i);
    } else if (out[i] < 0) {
      throw RuntimeError(msg("invalid shape dimension ", out[i]));
    } else {
      known *= out[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || numel % known != 0)
      throw RuntimeError(msg("shape '", shape_str(requested), "' is invalid for input of size ", numel));
    out[infer] = numel / known;
  } else if (known != numel) {
    throw RuntimeError(msg("shape '", shape_str(requested), "' is invalid for input of size ", numel));
  }
  return out;
}

// Walks the old dims in chunks that are contiguous among themselves and maps each chunk onto
// the new dims that multiply to the same size (the rule PyTorch's view follows).
bool compute_view_strides(const Shape& shape, const Shape& strides, const Shape& new_shape,
                          Shape& new_strides) {
  new_strides.assign(new_shape.size(), 0);
  if (shape.empty()) {
    // A 0-d tensor (one element) views as any all-ones shape; strides are then arbitrary.
    new_strides = contiguous_strides(new_shape);
    return numel_of(new_shape) == 1;
  }
  if (numel_of(shape) == 0) {
    if (shape == new_shape) {  // PyTorch keeps the strides of an unchanged empty shape
      new_strides = strides;
      return true;
    }
    new_strides = contiguous_strides(new_shape);
    return true;
  }
  int64_t view_d = static_cast<int64_t>(new_shape.size()) - 1;
  int64_t chunk_base_stride = strides.empty() ? 1 : strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= shape[d];
    if (d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
        new_strides[view_d] = view_numel * chunk_base_stride;
        view_numel *= new_shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return false;
      if (d > 0) {
        chunk_base_stride = strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

}  // namespace cg
