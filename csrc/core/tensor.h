// Tensor: a cheap, shared handle to a TensorImpl (storage + shape/strides/offset + dtype).
// Views share the storage and the version counter of their base. The core knows nothing of
// autograd: it only carries an opaque AutogradMetaBase slot that csrc/autograd fills in.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <utility>

#include "core/dtype.h"
#include "core/scalar.h"
#include "core/shape.h"
#include "core/storage.h"

namespace cg {

struct AutogradMetaBase {
  virtual ~AutogradMetaBase() = default;
  // Ends the state's life (what AutogradSlot calls): the destructor, unless the autograd layer
  // knows a cheaper way for state that holds nothing to release.
  virtual void destroy() noexcept { this->~AutogradMetaBase(); }
};

// Room inside every TensorImpl for the autograd layer's per-tensor state, so that a tensor that
// requires grad costs no allocation beyond its own. The core knows only the size it reserves
// (the autograd layer checks at compile time that its state fits).
constexpr size_t kAutogradMetaBytes = 160;
class AutogradSlot {
 public:
  AutogradSlot() = default;
  ~AutogradSlot() { reset(); }
  AutogradSlot(const AutogradSlot&) = delete;
  AutogradSlot& operator=(const AutogradSlot&) = delete;

  AutogradMetaBase* get() const { return meta_; }
  explicit operator bool() const { return meta_ != nullptr; }
  template <typename M>
  M& emplace() {
    reset();
    return emplace_empty<M>();
  }
  // The same on a slot known to be empty (a fresh tensor's): nothing to destroy first.
  template <typename M>
  __attribute__((always_inline)) M& emplace_empty() {
    static_assert(sizeof(M) <= kAutogradMetaBytes, "autograd state outgrew the space TensorImpl reserves");
    static_assert(alignof(M) <= alignof(std::max_align_t), "over-aligned autograd state");
    M* m = new (space_) M();
    meta_ = m;
    return *m;
  }
  void reset() {
    if (AutogradMetaBase* m = std::exchange(meta_, nullptr)) m->destroy();
  }

 private:
  AutogradMetaBase* meta_ = nullptr;  // points into space_ when set
  alignas(std::max_align_t) unsigned char space_[kAutogradMetaBytes];
};

class TensorImpl {
 public:
  TensorImpl(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset, DType dtype,
             std::shared_ptr<VersionCounter> version);
  // A 0-d tensor over `storage` (its own version counter): no shape or stride vectors to copy.
  TensorImpl(std::shared_ptr<Storage> storage, DType dtype);
  ~TensorImpl();

  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;  // in elements
  int64_t offset;  // in elements
  DType dtype;
  // Bumped by in-place writes; the storage's own counter unless the tensor was made with a
  // counter of its own (`.data` aliases), which `version_owner` then keeps alive.
  VersionCounter* version;
  std::shared_ptr<VersionCounter> version_owner;
  AutogradSlot autograd;  // filled by csrc/autograd; empty for plain data
  // The Python object wrapping this tensor while one exists (set and read by the bindings, under
  // the GIL); the core never looks at it.
  void* py_object = nullptr;

  static int64_t live_count();
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // Creation (no autograd). `empty` leaves memory uninitialised.
  static Tensor empty(const Shape& shape, DType dtype);
  static Tensor empty_0d(DType dtype);  // empty({}, dtype) without the shape (scalar code's every op)
  static Tensor zeros(const Shape& shape, DType dtype);
  static Tensor full(const Shape& shape, Scalar value, DType dtype);
  static Tensor scalar(Scalar value, DType dtype) { return full({}, value, dtype); }
  static Tensor from_blob(void* data, const Shape& shape, const Shape& strides, DType dtype,
                          std::shared_ptr<void> owner, size_t nbytes);

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  std::shared_ptr<TensorImpl>& impl_ptr_mut() { return impl_; }
  bool is_same(const Tensor& o) const { return impl_ == o.impl_; }

  const Shape& shape() const { return impl_->shape; }
  const Shape& strides() const { return impl_->strides; }
  int64_t offset() const { return impl_->offset; }
  DType dtype() const { return impl_->dtype; }
  int64_t dim() const { return static_cast<int64_t>(impl_->shape.size()); }
  // A 0-d tensor has no dims to ask about (wrap_dim alone would accept 0 and -1 for it).
  int64_t size(int64_t d) const { return impl_->shape[checked_dim(d)]; }
  int64_t stride(int64_t d) const { return impl_->strides[checked_dim(d)]; }
  int64_t numel() const { return numel_of(impl_->shape); }
  size_t itemsize() const { return cg::itemsize(impl_->dtype); }
  bool is_contiguous() const;
  // True when the elements are packed without gaps in some order (any permutation of dims).
  bool is_non_overlapping_and_dense() const;

  char* data_bytes() const {
    return static_cast<char*>(impl_->storage->data()) + impl_->offset * static_cast<int64_t>(itemsize());
  }
  int64_t checked_dim(int64_t d) const {
    if (dim() == 0) throw IndexError(msg("Dimension specified as ", d, " but tensor has no dimensions"));
    return wrap_dim(d, dim());
  }
  // Typed access for kernels; a kernel handed a storage dtype it did not widen gets an error
  // instead of reading the bytes as another type.
  template <typename T> T* data() const {
    if (dtype_of<T>() != impl_->dtype)
      throw RuntimeError(msg("expected a tensor of dtype ", dtype_name(dtype_of<T>()), ", got ", dtype_name(impl_->dtype)));
    return reinterpret_cast<T*>(data_bytes());
  }
  const std::shared_ptr<Storage>& storage() const { return impl_->storage; }

  uint32_t version() const { return impl_->version->value.load(std::memory_order_relaxed); }
  // Every in-place write checks this first: memory lent read-only is never written.
  void check_writable() const;
  void bump_version() const { impl_->version->value.fetch_add(1, std::memory_order_relaxed); }

  // Metadata-only views: share storage and version counter, carry no autograd state.
  Tensor as_strided(const Shape& shape, const Shape& strides, int64_t offset) const;
  Tensor alias() const { return as_strided(shape(), strides(), offset()); }
  // Same memory, a fresh version counter (what `.data` gives in PyTorch).
  Tensor alias_with_new_version() const;

  // Reads element 0 of a one-element tensor as double (for item() and scalar checks).
  double item_double() const;
  int64_t item_int() const;
  Scalar item() const;  // as a bool, int or float Scalar according to the dtype

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// A TensorImpl over existing storage (views, aliases); one pooled allocation.
std::shared_ptr<TensorImpl> make_tensor_impl(std::shared_ptr<Storage> storage, Shape shape, Shape strides,
                                             int64_t offset, DType dtype,
                                             std::shared_ptr<VersionCounter> version = nullptr);

}  // namespace cg
