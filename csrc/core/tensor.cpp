#include "core/tensor.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "core/deferred_delete.h"

namespace cg {

namespace {
std::atomic<int64_t> g_live_impls{0};  // diagnostic counter for leak tests
}

TensorImpl::TensorImpl(std::shared_ptr<Storage> storage_, Shape shape_, Shape strides_, int64_t offset_,
                       DType dtype_, std::shared_ptr<VersionCounter> version_)
    : storage(std::move(storage_)),
      shape(std::move(shape_)),
      strides(std::move(strides_)),
      offset(offset_),
      dtype(dtype_),
      // By default the storage's own counter, shared without an allocation (aliasing constructor).
      version(version_ ? std::move(version_) : std::shared_ptr<VersionCounter>(storage, &storage->version())) {
  g_live_impls.fetch_add(1, std::memory_order_relaxed);
}

TensorImpl::~TensorImpl() { g_live_impls.fetch_sub(1, std::memory_order_relaxed); }

int64_t TensorImpl::live_count() { return g_live_impls.load(); }

std::shared_ptr<TensorImpl> make_tensor_impl(std::shared_ptr<Storage> storage, Shape shape, Shape strides,
                                             int64_t offset, DType dtype,
                                             std::shared_ptr<VersionCounter> version) {
  return std::make_shared<TensorImpl>(std::move(storage), std::move(shape), std::move(strides), offset, dtype,
                                      std::move(version));
}

Tensor Tensor::empty(const Shape& shape, DType dtype) {
  auto storage = std::make_shared<Storage>(storage_nbytes(shape, cg::itemsize(dtype)));
  return Tensor(make_tensor_impl(std::move(storage), shape, contiguous_strides(shape), 0, dtype));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) {
  auto storage = std::make_shared<Storage>(storage_nbytes(shape, cg::itemsize(dtype)), true);
  return Tensor(make_tensor_impl(std::move(storage), shape, contiguous_strides(shape), 0, dtype));
}

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
  auto storage = std::make_shared<Storage>(data, nbytes, std::move(owner));
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
  return Tensor(make_tensor_impl(impl_->storage, shape, strides, offset, impl_->dtype, impl_->version));
}

Tensor Tensor::alias_with_new_version() const {
  return Tensor(make_tensor_impl(impl_->storage, shape(), strides(), offset(), dtype(),
                                std::make_shared<VersionCounter>()));
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
