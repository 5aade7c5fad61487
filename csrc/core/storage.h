// A reference-counted byte buffer: owned (aligned allocation) or borrowed from another
// library (numpy, DLPack), in which case `owner` keeps the lender's object alive.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace cg {

class Storage {
 public:
  explicit Storage(size_t nbytes, bool zero = false);
  Storage(void* data, size_t nbytes, std::shared_ptr<void> owner);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }

  // Live storages and their bytes in this process: leak tests and memory reports read these.
  static int64_t live_count();
  static int64_t live_bytes();

 private:
  void* data_;
  size_t nbytes_;
  std::shared_ptr<void> owner_;
};

}  // namespace cg
