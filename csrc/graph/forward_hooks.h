// The calls the graph vocabulary and the ops make into forward-mode AD (graph/forward_ad.h),
// declared apart so that meta.h stays light: with no dual level active each is one check.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <vector>

#include "core/tensor.h"

namespace cg::autograd {
class Node;
}

namespace cg::autograd::forward_ad {

struct ForwardGrad;
struct NodeForward;

namespace detail {
// The active level's generation (0: none) and whether a JVP is running (its ops are plain); in
// the header so that the check every op makes is two loads, not a call.
inline thread_local uint64_t t_generation = 0;
inline thread_local bool t_suspended = false;
}  // namespace detail

// Whether a dual level is active on this thread (and not suspended while a JVP runs).
inline bool active() { return detail::t_generation != 0 && !detail::t_suspended; }
bool has_tangent(const Tensor& t);
// Called by make_grad_node (and ops building edges by hand) when active(): records the input
// tangents on the node when any input has one (`node->forward()` stays null otherwise).
void capture_inputs(const std::shared_ptr<Node>& node, std::initializer_list<const Tensor*> inputs);
void capture_inputs(const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs);
// Called by set_history: `out` (output `output_nr` of `node`) gets a pending tangent.
void set_pending(const Tensor& out, const std::shared_ptr<Node>& node, uint32_t output_nr);
// A saved output unpacked for a VJP keeps its tangent (forward-over-reverse).
void attach_saved_output(const Tensor& unpacked, const std::shared_ptr<Node>& owner, uint32_t output_nr);
// In-place ops: whether a write of `others` into `self` involves a tangent (then it goes through
// the recorded path), and the tangent bookkeeping once `self` holds `result`'s values.
bool inplace_involves(const Tensor& self, std::initializer_list<const Tensor*> others);
void commit_inplace(const Tensor& self, const Tensor& result);
// Called by the view ops: `view` (of `input`) takes its tangent from the same window of its
// forward base's tangent (forward_ad.h, ForwardGrad::base).
void note_view(const Tensor& input, const Tensor& view);

}  // namespace cg::autograd::forward_ad
