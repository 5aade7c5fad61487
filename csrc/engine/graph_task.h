// The state of one backward call (engine/engine.cpp): a record per tracked node and per chain link
// while it runs (NodeTask), a gradient cell per edge into a node, the ready list, and what
// autograd.grad captures. Visible to nodes as the current BackwardFilter so that
// Node::should_compute_output can skip gradients no requested input needs.
#pragma once
#include <algorithm>
#include <atomic>
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

// The extra cells of one call live in buffers from the tensor allocator (core/allocator.h): a graph
// of 10^6 shared nodes needs tens of MB of them, and fresh memory faulted in 4 KB pages cost more than
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

// Records with stable addresses, made in chunks that double in size (16, 32, 64, ... records):
// a reference stays valid while records are added, and the table of chunks is a fixed array, so
// one thread may add records (under the task's lock) while others read theirs unlocked. Small
// graphs (a Hessian-vector product: a few dozen records) allocate and zero a few hundred bytes,
// not a large first chunk.
template <typename T>
class ChunkedArray {
  static constexpr unsigned kFirstBits = 4;  // the first chunk holds 2^4 records
  static constexpr size_t kFirst = size_t{1} << kFirstBits;
  static constexpr unsigned kChunks = 64 - kFirstBits;

 public:
  size_t size() const { return size_; }
  T& operator[](size_t i) { return at(i); }
  const T& operator[](size_t i) const { return const_cast<ChunkedArray*>(this)->at(i); }
  // A new, value-initialised record at the end.
  T& emplace_back() {
    const size_t j = size_ + kFirst;
    const unsigned c = chunk_of(j);
    if (!chunks_[c]) chunks_[c].reset(new T[kFirst << c]());
    ++size_;
    return chunks_[c][j - (kFirst << c)];
  }

 private:
  // Record i is entry j - 2^b of chunk b - kFirstBits, with j = i + kFirst and 2^b <= j < 2^(b+1).
  static unsigned chunk_of(size_t j) { return static_cast<unsigned>(63 - __builtin_clzll(j)) - kFirstBits; }
  T& at(size_t i) {
    const size_t j = i + kFirst;
    const unsigned c = chunk_of(j);
    return chunks_[c][j - (kFirst << c)];
  }
  std::unique_ptr<T[]> chunks_[kChunks];
  size_t size_ = 0;
};

// A fixed number of records of any type, made once (the gradient cells beyond each node's first).
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

// A gradient on its way into a node: a tensor, or (from a node's 0-d fast path) a number of
// dtype `dtype`, which stays a number through nodes that have the fast path too. `from_seq` and
// `from_edge` name the edge that delivered it: a node's gradients are summed in that order (the
// root's first, then by producer, latest created first), the same bits whatever thread delivered
// them and when.
struct GradCell {
  Tensor grad;
  double value = 0;
  uint64_t from_seq = 0;
  uint32_t from_edge = 0;
  uint32_t input_nr = 0;  // which of the consumer's forward outputs this gradient belongs to
  DType dtype = DType::Float32;
  bool is_value = false;
  bool before(const GradCell& o) const {
    return from_seq != o.from_seq ? from_seq > o.from_seq : from_edge < o.from_edge;
  }
};

// What the engine knows about one node during one call, indexed by the node's slot. Tracked
// nodes (more than one edge leads there, a tensor holds them, a root, or inputs= given) get
// theirs in the dependency pass and keep it; a node only one edge leads to (the links of a chain)
// gets an inline record when that edge delivers its gradient, and gives it back once it ran, so
// a chain of 10^6 nodes needs a handful of records, not 10^6.
struct NodeTask {
  Node* node = nullptr;
  uint32_t dependencies = 0;  // incoming edges whose producer has not run yet
  uint32_t incoming = 0;      // incoming edges (root edges included): the node's gradient cells
  uint32_t extra_cells = 0;   // cells 1.. are cells[extra_cells, extra_cells + incoming - 1)
  bool claimed : 1;           // node->exec_owner is this call (else found by the overflow map, or by nobody)
  bool needed : 1;            // on a path to a requested input (always, without inputs=)
  bool target : 1;            // a requested input's node: its gradient is captured or accumulated
  bool captures : 1;          // autograd.grad captures gradients here (GraphTask::first_capture)
  bool execute : 1;           // apply runs (false: only captured, or nothing below is needed)
  bool is_inline : 1;         // made when its one edge delivered; given back once the node ran
  uint8_t visit : 2;          // post-order walk of the planning phase
  GradCell cell;              // the first gradient cell
  NodeTask() : claimed(false), needed(true), target(false), captures(false), execute(true), is_inline(false), visit(0) {}
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
  // The dependency walk has not run yet (engine.cpp, finish_deferred_walk): only the root has a
  // record, and the nodes run so far were a chain of links from it.
  bool walk_deferred = false;
  ChunkedArray<NodeTask> nodes;
  RecordArray<GradCell> cells;  // the cells after each tracked node's first
  std::vector<Capture> captures;
  std::unordered_map<uint32_t, int32_t> capture_heads;  // slot -> its first capture (NodeTask::captures)
  int32_t first_capture(uint32_t slot) const { return capture_heads.at(slot); }
  TensorList captured;  // gradients captured for `inputs`, by position
  ReadyQueue ready;
  // Input gradients a fused chain (engine/fused_chain.h) computed for its later nodes, which they
  // send on when they run.
  std::unordered_map<const Node*, TensorList> fused_outputs;
  bool take_fused_outputs(const Node& node, TensorList& out) {
    if (fused_outputs.empty()) return false;
    auto it = fused_outputs.find(&node);
    if (it == fused_outputs.end()) return false;
    out = std::move(it->second);
    fused_outputs.erase(it);
    return true;
  }

  // Cell k of a node's record, k < rec.incoming.
  GradCell& cell(NodeTask& rec, uint32_t k) { return k == 0 ? rec.cell : cells[rec.extra_cells + k - 1]; }
  // The slot of `fn` in the dependency pass, creating its record on first sight (`fresh` tells).
  uint32_t slot_for(Node* fn, bool& fresh);
  // After the dependency pass: the cells of nodes with several producers.
  void finish_counting();
  // Calls f(cell) for a node's gradient cells in summation order (GradCell) until f returns
  // false; false then. One or two cells are taken as they are (a sum of two is the same bits in
  // either order).
  template <typename F>
  bool for_each_cell(NodeTask& rec, F&& f) {
    if (rec.incoming <= 2) {
      for (uint32_t k = 0; k < rec.incoming; ++k)
        if (!f(cell(rec, k))) return false;
      return true;
    }
    std::vector<GradCell*> order;
    order.reserve(rec.incoming);
    for (uint32_t k = 0; k < rec.incoming; ++k) order.push_back(&cell(rec, k));
    std::sort(order.begin(), order.end(), [](const GradCell* a, const GradCell* b) { return a->before(*b); });
    for (GradCell* c : order)
      if (!f(*c)) return false;
    return true;
  }
  // An inline record for `fn`, reached by the one edge that leads there; its slot in `slot`.
  NodeTask& add_inline(Node* fn, uint32_t& slot) {
    if (free_inline_.empty()) return start_inline(new_inline(slot), fn);
    slot = free_inline_.back().slot;
    NodeTask& rec = *free_inline_.back().rec;
    free_inline_.pop_back();
    return start_inline(rec, fn);
  }
  // A fresh inline record at the end (in parallel mode: under the lock).
  NodeTask& new_inline(uint32_t& slot) {
    slot = static_cast<uint32_t>(nodes.size());
    NodeTask& rec = nodes.emplace_back();
    rec.is_inline = true;
    return rec;
  }
  static NodeTask& start_inline(NodeTask& rec, Node* fn) {
    rec.node = fn;
    rec.dependencies = rec.incoming = 1;
    return rec;
  }
  // Gives an inline record back once its node ran (its cell is empty: the node took its gradient).
  void free_inline(uint32_t slot, NodeTask& rec) { free_inline_.push_back({slot, &rec}); }
  // The slot of `fn`, or kNoSlot when this call has no record of it (never reached, or reached
  // by one edge: inline).
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

  // Parallel execution (parallel_walk.cpp): set once two heavy nodes are ready at the same time.
  bool parallel = false;
  std::mutex mutex;                 // guards ready, running, error and adding records
  std::condition_variable wake;     // ready work, or the end
  int running = 0;                  // threads running nodes right now
  std::atomic<int> helpers{0};      // helper threads working on this call
  std::atomic<bool> failed{false};  // `error` is set: every thread stops at its next node
  std::exception_ptr error;
  // In parallel mode the gradient cells of a record several edges lead to are taken (`claimed`)
  // and counted once filled (`filled`) atomically: deliveries need no lock. One per record of the
  // dependency pass (inline records have one edge: their one cell needs neither).
  struct Arrivals {
    std::atomic<uint32_t> claimed{0}, filled{0};
  };
  std::unique_ptr<Arrivals[]> arrivals;
  bool load_checked = false;  // the machine's load was looked at (and kept this call serial)
  // Parallel mode: gives a claimed node back without counting it (count_unclaimed adds a thread's
  // count up later, under the lock).
  static bool unclaim(NodeTask& rec) {
    if (!rec.claimed) return false;
    rec.node->exec_owner.store(nullptr, std::memory_order_release);
    rec.claimed = false;
    return true;
  }
  void count_unclaimed(size_t n) { claims_ -= n; }

 private:
  friend void release_claim(GraphTask& task, NodeTask& rec);  // (below)
  size_t claims_ = 0;  // claimed nodes not given back yet (the destructor's work)
  std::unordered_map<const Node*, uint32_t> overflow_;  // nodes another call had claimed first
  // Inline records given back, for the next ones (with their address: records never move, and
  // finding a slot's chunk costs more than the rest of taking it).
  struct FreeRecord {
    uint32_t slot;
    NodeTask* rec;
  };
  std::vector<FreeRecord> free_inline_;
};

// Gives a claimed node back (nobody looks it up in this call any more); no-op for unclaimed ones.
inline void release_claim(GraphTask& task, NodeTask& rec) {
  if (!rec.claimed) return;
  rec.node->exec_owner.store(nullptr, std::memory_order_release);
  rec.claimed = false;
  --task.claims_;
}

}  // namespace cg::autograd
