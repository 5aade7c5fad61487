// The state of one backward call (engine/engine.cpp): one flat record per reached node, one
// gradient cell per edge into a node, the ready list, and what autograd.grad captures. Visible to
// nodes as the current BackwardFilter so that Node::should_compute_output can skip gradients no
// requested input needs.
#pragma once
#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>
#include <exception>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/allocator.h"
#include "engine/engine.h"
#include "graph/backward_filter.h"
#include "graph/node.h"

namespace cg::autograd {

constexpr uint32_t kNoSlot = UINT32_MAX;

// The records of one call live in buffers from the tensor allocator (core/allocator.h): a graph
// of 10^6 nodes needs tens of MB of them, and fresh memory faulted in 4 KB pages cost more than
// the rest of the backward pass (~90 ns per node on a VM). There they are huge pages, and the
// next backward call of the same size gets them back from the buffer cache already faulted in.
class RecordBuffer {
 public:
  RecordBuffer() = default;
  RecordBuffer(const RecordBuffer&) = delete;
  RecordBuffer& operator=(const RecordBuffer&) = delete;
  ~RecordBuffer() { reset(); }
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  // A buffer of `bytes`, keeping the first `keep` bytes of the current one.
  void resize(size_t bytes, size_t keep) {
    void* p = allocate_buffer(bytes);
    if (keep) std::memcpy(p, data_, keep);
    reset();
    data_ = p;
    bytes_ = bytes;
  }
  void reset() {
    if (data_) free_buffer(data_, bytes_);
    data_ = nullptr;
    bytes_ = 0;
  }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

// A growable array of trivially copyable records.
template <typename T>
class PodArray {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](size_t i) { return data()[i]; }
  const T& operator[](size_t i) const { return data()[i]; }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size_; }
  T& push_back(const T& value) {
    if (size_ == capacity_) grow();
    return data()[size_++] = value;
  }

 private:
  T* data() const { return static_cast<T*>(buffer_.data()); }
  void grow() {
    capacity_ = capacity_ ? capacity_ * 2 : 64;
    buffer_.resize(capacity_ * sizeof(T), size_ * sizeof(T));
  }
  RecordBuffer buffer_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// A fixed number of records of any type, made once (the gradient cells).
template <typename T>
class RecordArray {
 public:
  RecordArray() = default;
  RecordArray(const RecordArray&) = delete;
  RecordArray& operator=(const RecordArray&) = delete;
  ~RecordArray() { std::destroy_n(data(), size_); }
  void create(size_t n) {
    std::destroy_n(data(), size_);
    size_ = 0;
    buffer_.resize(std::max<size_t>(n, 1) * sizeof(T), 0);
    std::uninitialized_value_construct_n(data(), n);
    size_ = n;
  }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return data()[i]; }
  const T& operator[](size_t i) const { return data()[i]; }

 private:
  T* data() const { return static_cast<T*>(buffer_.data()); }
  RecordBuffer buffer_;
  size_t size_ = 0;
};

// What the engine knows about one node during one call, indexed by the node's slot (32 bytes: a
// 10^6-node graph reads and writes these twice).
struct NodeTask {
  Node* node;
  uint32_t dependencies;  // incoming edges whose producer has not run yet
  uint32_t incoming;      // incoming edges (root edges included): the node's gradient cells
  uint32_t first_cell;    // its cells: cells[first_cell, first_cell + incoming)
  uint32_t first_edge;    // its out edges: edges[first_edge, first_edge + n_edges)
  uint32_t n_edges;
  bool claimed : 1;       // node->exec_owner is this call (else found by the overflow map, or by nobody)
  bool needed : 1;        // on a path to a requested input (always, without inputs=)
  bool target : 1;        // a requested input's node: its gradient is captured or accumulated
  bool captures : 1;      // autograd.grad captures gradients here (GraphTask::first_capture)
  bool execute : 1;       // apply runs (false: only captured, or nothing below is needed)
  uint8_t visit : 2;      // post-order walk of the planning phase
};

// One out edge of a node seen from the producer: the consumer's slot and which of the consumer's
// cells this edge fills (cells are ranked in the order the dependency pass met the edges, so the
// sum of several gradients has one fixed order whatever thread delivers them and when).
struct EdgeTask {
  uint32_t target = kNoSlot;
  uint32_t rank = 0;
  uint32_t input_nr = 0;  // the edge's input_nr (no second trip to the node's edge list)
};

// A gradient on its way into a node: a tensor, or (from a node's 0-d fast path) a number of
// dtype `dtype`, which stays a number through nodes that have the fast path too.
struct GradCell {
  Tensor grad;
  double value = 0;
  uint32_t input_nr = 0;  // which of the consumer's forward outputs this gradient belongs to
  DType dtype = DType::Float32;
  bool is_value = false;
};

struct Capture {
  uint32_t input_nr;  // which output of the node
  uint32_t index;     // position in `inputs`
  int32_t next;       // next capture at the same node, or -1
};

// Highest sequence number first (reverse creation order, as PyTorch runs ready nodes); a plain
// stack push/pop while it holds one node, which is all a chain ever needs.
class ReadyQueue {
 public:
  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  uint32_t peek(size_t i) const { return heap_[i].slot; }  // i-th in heap order; 0 runs next
  void push(uint32_t slot, uint64_t sequence_nr) {
    heap_.push_back({sequence_nr, slot});
    if (heap_.size() > 1) std::push_heap(heap_.begin(), heap_.end(), earlier);
  }
  uint32_t pop() {
    if (heap_.size() > 1) std::pop_heap(heap_.begin(), heap_.end(), earlier);
    const uint32_t slot = heap_.back().slot;
    heap_.pop_back();
    return slot;
  }

 private:
  struct Entry {
    uint64_t sequence_nr;
    uint32_t slot;
  };
  static bool earlier(const Entry& a, const Entry& b) { return a.sequence_nr < b.sequence_nr; }
  std::vector<Entry> heap_;
};

class GraphTask final : public BackwardFilter {
 public:
  GraphTask(const BackwardOptions& options, size_t n_inputs) : options(options), captured(n_inputs) {}
  ~GraphTask();  // gives the claimed nodes back
  GraphTask(const GraphTask&) = delete;
  GraphTask& operator=(const GraphTask&) = delete;

  const BackwardOptions options;
  // `filtered` (BackwardFilter): inputs= given, only nodes on a path to them run.
  bool scalar_path = false;  // nodes may pass 0-d gradients as numbers (Node::apply_0d)
  PodArray<NodeTask> nodes;
  PodArray<EdgeTask> edges;
  RecordArray<GradCell> cells;
  std::vector<Capture> captures;
  std::unordered_map<uint32_t, int32_t> capture_heads;  // slot -> its first capture (NodeTask::captures)
  int32_t first_capture(uint32_t slot) const { return capture_heads.at(slot); }
  TensorList captured;  // gradients captured for `inputs`, by position
  ReadyQueue ready;

  // The slot of `fn` in this call, creating its record on first sight (`fresh` tells).
  uint32_t slot_for(Node* fn, bool& fresh);
  // A record for a node that only the edge being followed refers to (use_count 1): no other
  // edge can reach it, so it needs no lookup and is not claimed (no atomic, no write to the node).
  uint32_t add_unshared(Node* fn) { return add_record(fn); }
  // The slot of `fn`, or kNoSlot when this call never reached it.
  uint32_t slot_of(const Node* fn) const {
    if (fn->exec_owner.load(std::memory_order_relaxed) == this) return fn->exec_slot;
    if (overflow_.empty()) return kNoSlot;
    auto it = overflow_.find(fn);
    return it == overflow_.end() ? kNoSlot : it->second;
  }
  bool is_needed(const Node* fn) const override {
    if (!filtered) return true;
    uint32_t s = slot_of(fn);
    return s != kNoSlot && nodes[s].needed;
  }

  // Parallel execution (engine.cpp): set once two heavy nodes are ready at the same time.
  bool parallel = false;
  std::mutex mutex;              // guards ready, dependencies, running, error, helpers
  std::condition_variable wake;  // ready work, a finished node, or the end
  int running = 0;               // nodes being evaluated right now
  int helpers = 0;               // pool threads working on this call
  bool finished = false;
  std::exception_ptr error;

 private:
  uint32_t add_record(Node* fn) {
    const auto slot = static_cast<uint32_t>(nodes.size());
    NodeTask& rec = nodes.push_back(NodeTask{});
    rec.node = fn;
    rec.needed = rec.execute = true;
    return slot;
  }
  friend void release_claim(GraphTask& task, NodeTask& rec);  // (below)
  size_t claims_ = 0;  // claimed nodes not given back yet (the destructor's work)
  std::unordered_map<const Node*, uint32_t> overflow_;  // nodes another call had claimed first
};

// Gives a claimed node back (nobody looks it up in this call any more); no-op for unclaimed ones.
inline void release_claim(GraphTask& task, NodeTask& rec) {
  if (!rec.claimed) return;
  rec.node->exec_owner.store(nullptr, std::memory_order_release);
  rec.claimed = false;
  --task.claims_;
}

}  // namespace cg::autograd
