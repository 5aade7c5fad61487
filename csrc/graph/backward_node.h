// The common base of the hand-written XxxBackward nodes. A node lists what it saved, by
// PyTorch's names, in one static table (saved_fields); from it the base gives
//   - grad_fn._saved_<name> (saved_tensors_for_inspection: tensors unpacked and checked, so a
//     freed one raises PyTorch's "Trying to backward through the graph a second time" error),
//   - release_saved() after a backward without retain_graph (every SavedTensor field),
//   - name() from a `node_name` member or a `kName` constant,
// and make() with record(node, out) (graph/meta.h) connect it to the graph. The table is constexpr: no per-node cost.
//
//   struct MulBackward0 : BackwardNode<MulBackward0> {
//     static constexpr const char* kName = "MulBackward0";
//     SavedTensor self_, other_;
//     static constexpr auto saved_fields() { return std::make_tuple(saved("self", &MulBackward0::self_), ...); }
//   };
// A field is a member pointer (SavedTensor, a list of them, Tensor, numbers, Shape, optional of
// those) or, for values PyTorch derives (self_sym_sizes from a stored InputInfo), a
// captureless lambda taking the node and returning a SavedValue. A field named nullptr is
// released but not shown (PyTorch saves something else there).
#pragma once
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/scalar.h"
#include "graph/meta.h"
#include "graph/saved.h"

namespace cg::autograd {

template <typename Getter>
struct SavedField {
  const char* name;
  Getter get;
};
template <typename Getter>
constexpr SavedField<Getter> saved(const char* name, Getter get) {
  return {name, get};
}

// A number as grad_fn._saved_<name> shows it (an int stays an int).
inline SavedValue saved_scalar(const Scalar& s) {
  if (s.kind() == ScalarKind::Float) return s.to_double();
  if (s.kind() == ScalarKind::Bool) return s.to_int() != 0;
  return s.to_int();
}

namespace detail {
inline SavedValue saved_value(const Node& owner, const SavedTensor& s) { return s.unpack(owner); }
inline SavedValue saved_value(const Node& owner, const std::vector<SavedTensor>& list) {
  TensorList out;
  out.reserve(list.size());
  for (const SavedTensor& s : list) out.push_back(s.unpack(owner));
  return out;
}
inline SavedValue saved_value(const Node&, const Tensor& t) { return t; }
inline SavedValue saved_value(const Node&, const Shape& s) { return s; }
inline SavedValue saved_value(const Node&, bool b) { return b; }
inline SavedValue saved_value(const Node&, double d) { return d; }
inline SavedValue saved_value(const Node&, const Scalar& s) { return saved_scalar(s); }
inline SavedValue saved_value(const Node&, const char* s) { return std::string(s ? s : ""); }
inline SavedValue saved_value(const Node&, const std::string& s) { return s; }
inline SavedValue saved_value(const Node&, const SavedValue& v) { return v; }
template <typename T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
SavedValue saved_value(const Node&, T i) {
  return static_cast<int64_t>(i);
}
template <typename T>
SavedValue saved_value(const Node& owner, const std::optional<T>& o) {
  return o ? saved_value(owner, *o) : SavedValue();
}

inline void release(SavedTensor& s) { s.release(); }
inline void release(std::vector<SavedTensor>& list) {
  for (SavedTensor& s : list) s.release();
}
template <typename T>
void release(T&) {}

template <typename T, typename = void>
struct has_node_name : std::false_type {};
template <typename T>
struct has_node_name<T, std::void_t<decltype(std::declval<const T&>().node_name)>> : std::true_type {};
template <typename T, typename = void>
struct has_kname : std::false_type {};
template <typename T>
struct has_kname<T, std::void_t<decltype(T::kName)>> : std::true_type {};
}  // namespace detail

template <typename Derived>
class BackwardNode : public Node {
 public:
  // Nothing saved unless the node lists it.
  static constexpr auto saved_fields() { return std::tuple<>(); }

  std::string name() const override {
    if constexpr (detail::has_node_name<Derived>::value) return self().node_name;
    else if constexpr (detail::has_kname<Derived>::value) return Derived::kName;
    else return "";  // the node overrides name()
  }

  void release_saved() override {
    std::apply([this](const auto&... f) { (release_field(f), ...); }, Derived::saved_fields());
  }

  std::vector<std::pair<std::string, SavedValue>> saved_tensors_for_inspection() override {
    std::vector<std::pair<std::string, SavedValue>> out;
    std::apply([&](const auto&... f) { ((f.name ? (void)out.emplace_back(f.name, field_value(f)) : (void)0), ...); },
               Derived::saved_fields());
    return out;
  }

  std::vector<std::string> saved_names() override {
    std::vector<std::string> out;
    std::apply([&](const auto&... f) { ((f.name ? (void)out.emplace_back(f.name) : (void)0), ...); },
               Derived::saved_fields());
    return out;
  }

  SavedValue saved_value(const std::string& name) override {
    SavedValue out;
    std::apply([&](const auto&... f) { ((f.name && name == f.name ? (void)(out = field_value(f)) : (void)0), ...); },
               Derived::saved_fields());
    return out;
  }

  // A node of this type with one edge per input (invalid for inputs that need no gradient).
  template <typename... Args>
  static std::shared_ptr<Derived> make(std::initializer_list<const Tensor*> inputs, Args&&... args) {
    return make_grad_node<Derived>(inputs, std::forward<Args>(args)...);
  }
  // One input (unary and tensor-number ops): the inlined form.
  template <typename... Args>
  __attribute__((always_inline)) static std::shared_ptr<Derived> make(const Tensor& input, Args&&... args) {
    return make_grad_node<Derived>(input, std::forward<Args>(args)...);
  }

 private:
  const Derived& self() const { return static_cast<const Derived&>(*this); }
  Derived& self() { return static_cast<Derived&>(*this); }

  template <typename G>
  SavedValue field_value(const SavedField<G>& f) {
    if constexpr (std::is_member_object_pointer_v<G>) return detail::saved_value(*this, self().*(f.get));
    else return detail::saved_value(*this, f.get(self()));
  }
  template <typename G>
  void release_field(const SavedField<G>& f) {
    if constexpr (std::is_member_object_pointer_v<G>) detail::release(self().*(f.get));
  }
};

}  // namespace cg::autograd
