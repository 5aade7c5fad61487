// A reference-counted byte buffer: owned (aligned allocation, or inline for tiny tensors) or
// borrowed from another library (numpy, DLPack), in which case `owner` keeps the lender alive.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "core/live_counts.h"

namespace cg {

// Bumped by every in-place write; shared by a tensor and all of its views.
struct VersionCounter {
  std::atomic<uint32_t> value{0};
};

class Storage {
 public:
  // Tiny buffers (every 0-d tensor) inline, without a call; heap buffers out of line.
  explicit Storage(size_t nbytes, bool zero = false) : nbytes_(nbytes) {
    if (nbytes <= kInlineBytes) {
      data_ = inline_;
      if (zero) std::memset(inline_, 0, kInlineBytes);
      live_add2(LiveKind::Storage, 1, LiveKind::StorageBytes, static_cast<int64_t>(nbytes));
    } else {
      init_heap(zero);
    }
  }
  Storage(void* data, size_t nbytes, std::shared_ptr<void> owner);
  ~Storage() {
    if (owns_heap_ || borrowed_) release_heap();
    else live_add2(LiveKind::Storage, -1, LiveKind::StorageBytes, -static_cast<int64_t>(nbytes_));
  }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  // The version counter of tensors created over this storage (views share it; `.data` aliases
  // get their own). Living here saves tiny tensors an allocation.
  VersionCounter& version() { return version_; }
  // Borrowed memory the lender forbids writing (a read-only numpy array): in-place ops refuse it.
  bool read_only() const { return read_only_; }
  void set_read_only(bool v) { read_only_ = v; }

  // Live storages and their bytes in this process: leak tests and memory reports read these.
  static int64_t live_count();
  static int64_t live_bytes();
  // High-water mark of live_bytes() since the process started or the last reset_peak_bytes()
  // (memory reports, e.g. activation checkpointing); reset sets it to the current live bytes.
  static int64_t peak_bytes();
  static void reset_peak_bytes();

 private:
  // Up to this many bytes live inside the Storage object itself (0-d and tiny tensors):
  // creating such a tensor then costs one allocation less.
  static constexpr size_t kInlineBytes = 32;

  void init_heap(bool zero);  // nbytes_ > kInlineBytes: an aligned allocation of its own
  void release_heap() noexcept;  // owned heap or borrowed memory

  void* data_;
  size_t nbytes_;
  bool owns_heap_ = false;        // data_ came from aligned_alloc
  bool borrowed_ = false;         // data_ belongs to `owner_`
  std::shared_ptr<void> owner_;  // borrowed memory's lender
  VersionCounter version_;
  bool read_only_ = false;
  alignas(16) unsigned char inline_[kInlineBytes];
};

}  // namespace cg
