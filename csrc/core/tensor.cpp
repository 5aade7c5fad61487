#include "core/tensor.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "core/deferred_delete.h"
#include "core/live_counts.h"
#include "core/small_alloc.h"

namespace cg {

namespace {
// A fresh tensor's TensorImpl and Storage share one pooled block while keeping their own
// lifetimes: a view (or a saved data alias) may hold the storage after the tensor is gone, and
// must not keep the tensor's autograd state (its .grad, its graph) alive with it. Each part has
// its own shared_ptr control block, placed inside the block by PlacedAllocator; the block is
// returned to the pool when both control blocks are gone.
constexpr size_t kControlBlockBytes = 64;

struct FreshBlock {
  std::atomic<int> parts{2};
  alignas(16) unsigned char impl_cb[kControlBlockBytes];
  alignas(16) unsigned char storage_cb[kControlBlockBytes];
  alignas(TensorImpl) unsigned char impl[sizeof(TensorImpl)];
  alignas(Storage) unsigned char storage[sizeof(Storage)];

  static FreshBlock* make() { return new (small_alloc(sizeof(FreshBlock))) FreshBlock; }
  void release_part() noexcept {
    if (parts.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      this->~FreshBlock();
      small_free(this, sizeof(FreshBlock));
    }
  }
};

// Hands out one fixed slot of the block (the place of one control block).
template <typename T>
struct PlacedAllocator {
  using value_type = T;
  unsigned char* slot;
  FreshBlock* block;
  PlacedAllocator(unsigned char* s, FreshBlock* b) : slot(s), block(b) {}
  template <typename U>
  PlacedAllocator(const PlacedAllocator<U>& o) : slot(o.slot), block(o.block) {}  // NOLINT
  T* allocate(size_t n) {
    static_assert(sizeof(T) <= kControlBlockBytes, "shared_ptr control block larger than its slot");
    (void)n;
    return reinterpret_cast<T*>(slot);
  }
  void deallocate(T*, size_t) noexcept { block->release_part(); }
  template <typename U>
  bool operator==(const PlacedAllocator<U>& o) const { return slot == o.slot; }
  template <typename U>
  bool operator!=(const PlacedAllocator<U>& o) const { return slot != o.slot; }
};

// Destroys a part in place; its memory goes with the block.
struct DestroyInPlace {
  template <typename T>
  void operator()(T* p) const noexcept { p->~T(); }
};

// A fresh 0-d tensor (the common case of scalar code): one element, in the storage's inline
// bytes, no shape or stride vectors; nothing here can throw once the block is taken.
inline Tensor fresh_0d(DType dtype, bool zero) {
  FreshBlock* block = FreshBlock::make();
  Storage* s = new (block->storage) Storage(cg::itemsize(dtype), zero);
  std::shared_ptr<Storage> storage(s, DestroyInPlace{}, PlacedAllocator<Storage>(block->storage_cb, block));
  TensorImpl* impl = new (block->impl) TensorImpl(std::move(storage), dtype);
  return Tensor(std::shared_ptr<TensorImpl>(impl, DestroyInPlace{}, PlacedAllocator<TensorImpl>(block->impl_cb, block)));
}

Tensor fresh_tensor(const Shape& shape, DType dtype, bool zero) {
  if (shape.empty()) return fresh_0d(dtype, zero);
  const size_t nbytes = storage_nbytes(shape, cg::itemsize(dtype));
  FreshBlock* block = FreshBlock::make();
  Storage* s;
  try {
    s = new (block->storage) Storage(nbytes, zero);
  } catch (...) {
    block->~FreshBlock();
    small_free(block, sizeof(FreshBlock));
    throw;
  }
  std::shared_ptr<Storage> storage(s, DestroyInPlace{}, PlacedAllocator<Storage>(block->storage_cb, block));
  TensorImpl* impl;
  try {
    impl = new (block->impl) TensorImpl(std::move(storage), shape, contiguous_strides(shape), 0, dtype, nullptr);
  } catch (...) {
    block->release_part();  // the impl part never existed; the storage part went with `storage`
    throw;
  }
  return Tensor(std::shared_ptr<TensorImpl>(impl, DestroyInPlace{}, PlacedAllocator<TensorImpl>(block->impl_cb, block)));
}
}  // namespace

TensorImpl::TensorImpl(std::shared_ptr<Storage> storage_, Shape shape_, Shape strides_, int64_t offset_,
                       DType dtype_, std::shared_ptr<VersionCounter> version_)
    : storage(std::move(storage_)),
      shape(std::move(shape_)),
      strides(std::move(strides_)),
      offset(offset_),
      dtype(dtype_),
      // By default the storage's own counter (kept alive by `storage`: no reference of its own).
      version(version_ ? version_.get() : &storage->version()),
      version_owner(std::move(version_)) {
  live_add(LiveKind::Tensor, 1);
}

TensorImpl::TensorImpl(std::shared_ptr<Storage> storage_, DType dtype_)
    : storage(std::move(storage_)), offset(0), dtype(dtype_), version(&storage->version()) {
  live_add(LiveKind::Tensor, 1);
}

TensorImpl::~TensorImpl() { live_add(LiveKind::Tensor, -1); }

int64_t TensorImpl::live_count() { return live_total(LiveKind::Tensor); }

std::shared_ptr<TensorImpl> make_tensor_impl(std::shared_ptr<Storage> storage, Shape shape, Shape strides,
                                             int64_t offset, DType dtype,
                                             std::shared_ptr<VersionCounter> version) {
  return std::allocate_shared<TensorImpl>(SmallAllocator<TensorImpl>(), std::move(storage), std::move(shape),
                                          std::move(strides), offset, dtype, std::move(version));
}

Tensor Tensor::empty(const Shape& shape, DType dtype) { return fresh_tensor(shape, dtype, false); }
Tensor Tensor::empty_0d(DType dtype) { return fresh_0d(dtype, false); }  // (fresh_0d inlined here)

Tensor Tensor::zeros(const Shape& shape, DType dtype) { return fresh_tensor(shape, dtype, true); }

Tensor Tensor::full(const Shape& shape, Scalar value, DType dtype) {
  Tensor t = empty(shape, dtype);
  const int64_t n = t.numel();
  if (n == 0) return t;
  store_scalar(value, dtype, t.data_bytes());
  const size_t isz = cg::itemsize(dtype);
  for (int64_t i = 1; i < n; ++i) std::memcpy(t.data_bytes() + i * isz, t.data_bytes(), isz);
  return t;
}

Tensor Tensor::from_blob(void* data, const Shape& shape, const Shape& strides, DType dtype,
                         std::shared_ptr<void> owner, size_t nbytes) {
  auto storage = std::allocate_shared<Storage>(SmallAllocator<Storage>(), data, nbytes, std::move(owner));
  return Tensor(make_tensor_impl(std::move(storage), shape, strides, 0, dtype));
}

// PyTorch's rule: size-1 dims may have any stride and a tensor without elements is contiguous.
bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  const Shape& sh = shape();
  const Shape& st = strides();
  if (std::find(sh.begin(), sh.end(), 0) != sh.end()) return true;
  for (size_t i = sh.size(); i-- > 0;) {
    if (sh[i] == 1) continue;
    if (st[i] != expected) return false;
    expected *= sh[i];
  }
  return true;
}

bool Tensor::is_non_overlapping_and_dense() const {
  const Shape& sh = shape();
  const Shape& st = strides();
  if (std::find(sh.begin(), sh.end(), 0) != sh.end()) return true;  // no elements: nothing overlaps
  std::vector<size_t> perm(sh.size());
  std::iota(perm.begin(), perm.end(), 0);
  std::sort(perm.begin(), perm.end(), [&](size_t a, size_t b) {
    if (sh[a] < 2) return false;
    if (sh[b] < 2) return true;
    return st[a] < st[b];
  });
  int64_t expected = 1;
  for (size_t i : perm) {
    if (sh[i] == 1) continue;
    if (sh[i] == 0) return true;
    if (st[i] != expected) return false;
    expected *= sh[i];
  }
  return true;
}

Tensor Tensor::as_strided(const Shape& shape, const Shape& strides, int64_t offset) const {
  return Tensor(make_tensor_impl(impl_->storage, shape, strides, offset, impl_->dtype, impl_->version_owner));
}

Tensor Tensor::alias_with_new_version() const {
  return Tensor(make_tensor_impl(impl_->storage, shape(), strides(), offset(), dtype(),
                                std::allocate_shared<VersionCounter>(SmallAllocator<VersionCounter>())));
}

Scalar Tensor::item() const {
  CG_CHECK(numel() == 1, "a Tensor with ", numel(), " elements cannot be converted to Scalar");
  return load_scalar(dtype(), data_bytes());
}

double Tensor::item_double() const { return item().to_double(); }

int64_t Tensor::item_int() const {
  const Scalar s = item();
  return s.kind() == ScalarKind::Float ? static_cast<int64_t>(s.to_double()) : s.to_int();
}

void Tensor::check_writable() const {
  if (impl_->storage->read_only())
    throw RuntimeError(
        "cannot write to a tensor whose memory is read-only (made by from_numpy of a non-writable NumPy array); "
        "copy it first (tensor.clone()) or make the array writable before calling from_numpy");
}

}  // namespace cg
