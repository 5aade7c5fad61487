// Internal to the unary kernels (elementwise_unary*.cpp): the kernel of every row of the unary
// table (kernels/unary_ops.h), generated from it. A row's element function becomes UnaryFn<op>;
// UnaryRow<op, T> is the loop body on T, run by the loop the row names.
#pragma once
#include <cmath>
#include <type_traits>
#include <utility>

#include "kernels/elementwise_impl.h"

namespace cg::kernels {

template <Unary op>
struct UnaryFn;
#define CG_UNARY_FN(Name, py_name, alias, node_name, saves, float_only_kernel, bind, kind, loop, cost, ...) \
  template <>                                                                                                \
  struct UnaryFn<Unary::Name> {                                                                              \
    static constexpr UnaryKind kKind = UnaryKind::kind;                                                      \
    static constexpr bool kWide = UnaryLoop::loop == UnaryLoop::Wide;                                        \
    static constexpr int64_t kCost = cost;                                                                   \
    template <typename T>                                                                                    \
    static CG_VEC_INLINE auto apply(T v) { return __VA_ARGS__; }                                             \
  };
CG_UNARY_OPS(CG_UNARY_FN)
#undef CG_UNARY_FN

// The loop body: the element function on T, its result as T (bool for the predicates).
template <Unary op, typename T>
struct UnaryRow {
  using Out = std::conditional_t<UnaryFn<op>::kKind == UnaryKind::Test, bool, T>;
  CG_VEC_INLINE Out operator()(T v) const { return static_cast<Out>(UnaryFn<op>::template apply<T>(v)); }
};

// The row function map() or map_wide() would run for op on T.
template <Unary op, typename T>
RowFn unary_row_fn() {
  using Row = UnaryRow<op, T>;
  if constexpr (UnaryFn<op>::kWide) return wide_row_fn<Row, typename Row::Out, T>();
  else return &detail::map_row_fn<Row, typename Row::Out, T>;
}

// out = op(x) for x and out of the kernel's types (others are widened).
template <Unary op, typename T>
void run_unary(const Tensor& x, const Tensor& out) {
  const std::array<const Tensor*, 1> in{&x};
  run_map<typename UnaryRow<op, T>::Out, T>(out, in, UnaryRow<op, T>{}, UnaryFn<op>::kCost, unary_row_fn<op, T>());
}

// Calls body(std::integral_constant<Unary, op>{}): the switch over the table, written once.
template <typename Body>
void visit_unary(Unary op, Body&& body) {
  switch (op) {
#define CG_UNARY_VISIT(Name, ...) \
  case Unary::Name:               \
    return body(std::integral_constant<Unary, Unary::Name>{});
    CG_UNARY_OPS(CG_UNARY_VISIT)
#undef CG_UNARY_VISIT
  }
  throw std::logic_error("unary: unknown op");
}

}  // namespace cg::kernels
