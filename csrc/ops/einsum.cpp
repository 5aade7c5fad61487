// einsum by pairwise contraction, left to right: each pair becomes one bmm over
// [batch, left-only, contracted] x [batch, contracted, right-only]. Labels only one operand
// needs are summed out before contracting; repeated labels within an operand take a diagonal.
#include "ops/einsum.h"

#include <algorithm>
#include <set>

#include "ops/ops.h"

namespace cg::ops {

namespace {

constexpr int kLetters = 52;  // 'A'-'Z' then 'a'-'z'; ellipsis dims get labels from kLetters up
constexpr int kEllipsis = -1;

char label_char(int l) { return l < 26 ? static_cast<char>('A' + l) : static_cast<char>('a' + l - 26); }

struct Parsed {
  std::vector<std::vector<int>> terms;  // per operand: labels with kEllipsis for "..."
  std::vector<int> output;
  bool explicit_output = false;
};

Parsed parse(const std::string& eq) {
  Parsed p;
  p.terms.emplace_back();
  auto current = [&]() -> std::vector<int>& { return p.explicit_output ? p.output : p.terms.back(); };
  for (size_t i = 0; i < eq.size(); ++i) {
    const char c = eq[i];
    if (c == ' ') continue;
    if (c == '.') {
      const std::string where = p.explicit_output ? "the output" : "operand " + std::to_string(p.terms.size() - 1);
      CG_CHECK(eq.compare(i, 3, "...") == 0, "einsum(): found '.' for ", where, " that is not part of any ellipsis");
      auto& t = current();
      CG_CHECK(std::find(t.begin(), t.end(), kEllipsis) == t.end(), "einsum(): found '.' for ", where,
               " for which an ellipsis was already found");
      t.push_back(kEllipsis);
      i += 2;
    } else if (c == ',') {
      CG_CHECK(!p.explicit_output, "einsum(): found ',' in the output");
      p.terms.emplace_back();
    } else if (c == '-' && i + 1 < eq.size() && eq[i + 1] == '>') {
      CG_CHECK(!p.explicit_output, "einsum(): found '->' more than once in the equation");
      p.explicit_output = true;
      ++i;
    } else {
      const bool upper = c >= 'A' && c <= 'Z', lower = c >= 'a' && c <= 'z';
      CG_CHECK(upper || lower, "einsum(): invalid subscript given at index ", i,
               " in the equation string, subscripts must be in [a-zA-Z]");
      current().push_back(upper ? c - 'A' : c - 'a' + 26);
    }
  }
  return p;
}

struct Operand {
  Tensor t;
  std::vector<int> labels;  // one per dim
};

int64_t position(const std::vector<int>& v, int l) {
  return static_cast<int64_t>(std::find(v.begin(), v.end(), l) - v.begin());
}
bool contains(const std::vector<int>& v, int l) { return std::find(v.begin(), v.end(), l) != v.end(); }

// Sums out the labels of `op` for which keep(label) is false.
template <typename Keep>
void sum_out(Operand& op, const Keep& keep) {
  Dims dims;
  std::vector<int> kept;
  for (size_t d = 0; d < op.labels.size(); ++d) {
    if (keep(op.labels[d])) kept.push_back(op.labels[d]);
    else dims.push_back(static_cast<int64_t>(d));
  }
  if (dims.empty()) return;
  op.t = sum(op.t, dims, false);
  op.labels = kept;
}

// Permutes `op` to `order` (a permutation of its labels) and broadcasts its dims to `sizes`.
Tensor arrange(const Operand& op, const std::vector<int>& order, const Shape& sizes) {
  std::vector<int64_t> perm;
  for (int l : order) perm.push_back(position(op.labels, l));
  Tensor t = op.t;
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i) identity = identity && perm[i] == static_cast<int64_t>(i);
  if (!identity) t = permute(t, perm);
  return t.shape() == sizes ? t : expand(t, sizes);
}

Operand contract(Operand a, Operand b, const std::vector<int>& needed) {
  auto keep_a = [&](int l) { return contains(b.labels, l) || contains(needed, l); };
  auto keep_b = [&](int l) { return contains(a.labels, l) || contains(needed, l); };
  sum_out(a, keep_a);
  sum_out(b, keep_b);
  std::vector<int> batch, only_a, contracted, only_b;
  for (int l : a.labels) {
    if (!contains(b.labels, l)) only_a.push_back(l);
    else if (contains(needed, l)) batch.push_back(l);
    else contracted.push_back(l);
  }
  for (int l : b.labels)
    if (!contains(a.labels, l)) only_b.push_back(l);
  // A contracted label of size 1 on one side: sum the other side over it first.
  for (int l : contracted) {
    const int64_t da = position(a.labels, l), db = position(b.labels, l);
    if (a.t.shape()[da] == 1 && b.t.shape()[db] != 1) b.t = sum(b.t, {db}, true);
    if (b.t.shape()[db] == 1 && a.t.shape()[da] != 1) a.t = sum(a.t, {da}, true);
  }
  auto size_of = [&](int l) {
    const int64_t sa = contains(a.labels, l) ? a.t.shape()[position(a.labels, l)] : 1;
    const int64_t sb = contains(b.labels, l) ? b.t.shape()[position(b.labels, l)] : 1;
    return sa == 1 ? sb : sa;  // a size-1 dim broadcasts, to 0 as well
  };
  auto sizes = [&](const std::vector<std::vector<int>>& groups) {
    Shape s;
    for (const auto& g : groups)
      for (int l : g) s.push_back(size_of(l));
    return s;
  };
  auto prod = [&](const std::vector<int>& g) {
    int64_t n = 1;
    for (int l : g) n *= size_of(l);
    return n;
  };
  std::vector<int> order_a = batch, order_b = batch;
  order_a.insert(order_a.end(), only_a.begin(), only_a.end());
  order_a.insert(order_a.end(), contracted.begin(), contracted.end());
  order_b.insert(order_b.end(), contracted.begin(), contracted.end());
  order_b.insert(order_b.end(), only_b.begin(), only_b.end());
  Tensor ta = arrange(a, order_a, sizes({batch, only_a, contracted}));
  Tensor tb = arrange(b, order_b, sizes({batch, contracted, only_b}));
  const int64_t nb = prod(batch), nc = prod(contracted);
  const int64_t na = prod(only_a), nob = prod(only_b);
  // Nothing to contract: a broadcast product (no batch of 1 x 1 matrix products).
  Tensor r = contracted.empty() ? mul(reshape(ta, {nb, na, 1}), reshape(tb, {nb, 1, nob}))
                                : bmm(reshape(ta, {nb, na, nc}), reshape(tb, {nb, nc, nob}));
  Operand out;
  out.labels = batch;
  out.labels.insert(out.labels.end(), only_a.begin(), only_a.end());
  out.labels.insert(out.labels.end(), only_b.begin(), only_b.end());
  out.t = reshape(r, sizes({batch, only_a, only_b}));
  return out;
}

}  // namespace

Tensor einsum(const std::string& equation, const std::vector<Tensor>& operands) {
  CG_CHECK(!operands.empty(), "einsum(): must provide at least one operand");
  Parsed p = parse(equation);
  CG_CHECK(p.terms.size() <= operands.size(), "einsum(): fewer operands were provided than specified in the equation");
  CG_CHECK(p.terms.size() >= operands.size(), "einsum(): more operands were provided than specified in the equation");
  // Ellipsis dims, right-aligned across operands.
  int64_t ell = 0;
  std::vector<int64_t> ell_of(operands.size(), 0);
  for (size_t k = 0; k < operands.size(); ++k) {
    const auto& term = p.terms[k];
    const bool has_ell = contains(term, kEllipsis);
    const int64_t n = static_cast<int64_t>(term.size()) - (has_ell ? 1 : 0), dim = operands[k].dim();
    if (has_ell) {
      CG_CHECK(n <= dim, "einsum(): the number of subscripts in the equation (", n,
               ") is more than the number of dimensions (", dim, ") for operand ", k);
    } else {
      CG_CHECK(n == dim, "einsum(): the number of subscripts in the equation (", n,
               ") does not match the number of dimensions (", dim, ") for operand ", k, " and no ellipsis was given");
    }
    ell_of[k] = has_ell ? dim - n : 0;
    ell = std::max(ell, ell_of[k]);
  }
  std::vector<Operand> ops(operands.size());
  std::vector<int> count(kLetters + ell, 0);
  for (size_t k = 0; k < operands.size(); ++k) {
    ops[k].t = operands[k];
    for (int l : p.terms[k]) {
      if (l != kEllipsis) {
        ops[k].labels.push_back(l);
        ++count[l];  // in the equation: a repeated label is not an implicit output
        continue;
      }
      for (int64_t j = 0; j < ell_of[k]; ++j) ops[k].labels.push_back(static_cast<int>(kLetters + ell - ell_of[k] + j));
    }
    // Repeated labels: take the diagonal (it moves to the last dim).
    for (bool again = true; again;) {
      again = false;
      auto& lb = ops[k].labels;
      for (size_t i = 0; i < lb.size() && !again; ++i)
        for (size_t j = i + 1; j < lb.size() && !again; ++j) {
          if (lb[i] != lb[j]) continue;
          const int64_t si = ops[k].t.shape()[i], sj = ops[k].t.shape()[j];
          CG_CHECK(si == sj, "einsum(): subscript ", label_char(lb[i]), " is repeated for operand ", k,
                   " but the sizes don't match, ", sj, " != ", si);
          const int l = lb[i];
          ops[k].t = diagonal(ops[k].t, 0, static_cast<int64_t>(i), static_cast<int64_t>(j));
          lb.erase(lb.begin() + static_cast<int64_t>(j));
          lb.erase(lb.begin() + static_cast<int64_t>(i));
          lb.push_back(l);
          again = true;
        }
    }
    for (int l : ops[k].labels)
      if (l >= kLetters) ++count[l];
  }
  // Sizes must agree or broadcast (1).
  std::vector<int64_t> seen(kLetters + ell, -1);
  for (size_t k = 0; k < ops.size(); ++k)
    for (size_t d = 0; d < ops[k].labels.size(); ++d) {
      const int l = ops[k].labels[d];
      const int64_t s = ops[k].t.shape()[d];
      if (seen[l] == -1 || seen[l] == 1) seen[l] = s;
      else if (l < kLetters)
        CG_CHECK(s == 1 || s == seen[l], "einsum(): subscript ", label_char(l), " has size ", s, " for operand ", k,
                 " which does not broadcast with previously seen size ", seen[l]);
      else
        CG_CHECK(s == 1 || s == seen[l], "einsum(): operands do not broadcast with remapped shapes (original->remapped)");
    }
  std::vector<int> output;
  if (p.explicit_output) {
    for (int l : p.output) {
      if (l == kEllipsis) {
        for (int64_t j = 0; j < ell; ++j) output.push_back(static_cast<int>(kLetters + j));
        continue;
      }
      CG_CHECK(count[l] > 0, "einsum(): output subscript ", label_char(l),
               " does not appear in the equation for any input operand");
      CG_CHECK(!contains(output, l), "einsum(): output subscript ", label_char(l), " appears more than once in the output");
      output.push_back(l);
    }
  } else {
    for (int64_t j = 0; j < ell; ++j) output.push_back(static_cast<int>(kLetters + j));
    for (int l = 0; l < kLetters; ++l)
      if (count[l] == 1) output.push_back(l);
  }
  // Contract left to right; a label stays while the output or a later operand needs it.
  Operand acc = ops[0];
  for (size_t k = 1; k < ops.size(); ++k) {
    std::vector<int> needed = output;
    for (size_t m = k + 1; m < ops.size(); ++m) needed.insert(needed.end(), ops[m].labels.begin(), ops[m].labels.end());
    acc = contract(acc, ops[k], needed);
  }
  sum_out(acc, [&](int l) { return contains(output, l); });
  std::vector<int64_t> perm;
  for (int l : output) perm.push_back(position(acc.labels, l));
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i) identity = identity && perm[i] == static_cast<int64_t>(i);
  return identity ? acc.t : permute(acc.t, perm);
}

}  // namespace cg::ops
