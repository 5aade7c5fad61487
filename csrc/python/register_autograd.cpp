// Autograd bindings: graph nodes, hooks, grad modes, the engine entry point (run with the GIL
// released) and the node behind Python autograd.Function subclasses.
#include <pybind11/functional.h>

#include "graph/accumulate_grad.h"
#include "engine/engine.h"
#include "graph/meta.h"
#include "graph/saved.h"
#include "ops/common.h"
#include "ops/inplace.h"
#include "ops/ops.h"
#include "python/bindings.h"

namespace cg::python {

using autograd::Node;
using autograd::TensorList;

namespace {

py::tuple to_tuple(const TensorList& ts) {
  py::tuple t(ts.size());
  for (size_t i = 0; i < ts.size(); ++i) t[i] = ts[i].defined() ? py::cast(ts[i]) : py::none();
  return t;
}

py::object grad_or_none(const Tensor& g) { return g.defined() ? py::cast(g) : py::none(); }

std::string type_name(py::handle h) { return py::str(py::type::handle_of(h).attr("__name__")); }

// The name PyTorch's hook messages use: the callable's __name__.
std::string hook_name(const py::object& fn) {
  if (py::hasattr(fn, "__name__")) return py::str(fn.attr("__name__"));
  return type_name(fn);
}

// A node hook's result: None (keep), or a tuple of Tensor/None of the same length.
TensorList from_result(py::handle r, size_t expected, const std::string& who) {
  TensorList out;
  if (r.is_none()) return out;
  if (!py::isinstance<py::tuple>(r)) throw TypeError(msg("expected tuple, but hook returned '", type_name(r), "'"));
  auto items = py::reinterpret_borrow<py::tuple>(r);
  if (items.size() != expected)
    throw RuntimeError(msg("hook '", who, "' has returned an incorrect number of values (got ", items.size(),
                           ", but expected ", expected, ")"));
  for (auto item : items) {
    if (!item.is_none() && !is_tensor(item))
      throw TypeError(msg("expected Variable, but hook returned '", type_name(item), "'"));
    out.push_back(item.is_none() ? Tensor() : item.cast<Tensor>());
  }
  return out;
}

// Hook callables are named functors (not lambdas) so the garbage-collector support below can
// find the Python object inside a std::function (std::function::target). The engine checks
// the shape and dtype of what they return (autograd::check_hook_value); these check the type.
struct PyTensorHookFn {
  std::shared_ptr<PyOwned> holder;
  Tensor operator()(const Tensor& g) const {
    py::gil_scoped_acquire gil;
    py::object r = holder->obj(grad_or_none(g));
    if (r.is_none()) return Tensor();
    if (!is_tensor(r)) throw TypeError(msg("expected Variable, but hook returned '", type_name(r), "'"));
    return r.cast<Tensor>();
  }
};

struct PyNodePreHookFn {
  std::shared_ptr<PyOwned> holder;
  std::string who;
  TensorList operator()(const TensorList& gout) const {
    py::gil_scoped_acquire gil;
    return from_result(holder->obj(to_tuple(gout)), gout.size(), who);
  }
};

struct PyNodePostHookFn {
  std::shared_ptr<PyOwned> holder;
  std::string who;
  TensorList operator()(const TensorList& gin, const TensorList& gout) const {
    py::gil_scoped_acquire gil;
    return from_result(holder->obj(to_tuple(gin), to_tuple(gout)), gin.size(), who);
  }
};

struct PyPostAccumulateHookFn {
  std::shared_ptr<PyOwned> holder;
  void operator()(const Tensor& v) const {
    py::gil_scoped_acquire gil;
    holder->obj(v);
  }
};

autograd::TensorHook tensor_hook(py::object fn) {
  return PyTensorHookFn{std::make_shared<PyOwned>(std::move(fn))};
}

// Handle returned by every register_*hook: remove() detaches the hook.
struct RemovableHandle {
  std::function<void()> remover;
  bool removed = false;
  void remove() {
    if (!removed && remover) remover();
    removed = true;
  }
};

// Whether a gradient of shape `grad` can be summed down to `target` (target expands to it).
bool expandable_to(const Shape& target, const Shape& grad) {
  if (target.size() > grad.size()) return false;
  for (size_t i = 0; i < target.size(); ++i) {
    int64_t t = target[target.size() - 1 - i], g = grad[grad.size() - 1 - i];
    if (t != g && t != 1) return false;
  }
  return true;
}

// The node of a Python autograd.Function: calls the class's backward under the GIL.
struct PyFunctionNode : Node {
  std::shared_ptr<PyOwned> backward;  // callable(*grads) -> tuple, one entry per forward arg
  std::vector<int64_t> tensor_positions;  // forward-arg index of each edge
  std::vector<autograd::OutputMeta> input_meta;  // shape and dtype of each tensor input (per edge)
  int64_t num_args = 0;
  std::vector<autograd::SavedTensor> saved;
  std::string node_name;  // "<Function class>Backward", or a built-in's own name

  TensorList apply(TensorList&& grads) override {
    py::gil_scoped_acquire gil;
    py::object r = backward->obj(*to_tuple(grads));
    return validate(r);
  }

  // What user code returned, checked as PyTorch checks it: one entry per forward argument
  // (extra trailing Nones allowed), Tensor or None, None for non-tensor arguments; each gradient
  // summed down to its input's shape when it broadcasts to it, and cast to the input's dtype.
  TensorList validate(const py::object& r) const {
    py::tuple res = py::isinstance<py::tuple>(r) ? py::reinterpret_borrow<py::tuple>(r) : py::make_tuple(r);
    int64_t n = static_cast<int64_t>(res.size());
    while (n > num_args && res[n - 1].is_none()) --n;
    if (n != num_args)
      throw RuntimeError(msg("function ", name(), " returned an incorrect number of gradients (expected ", num_args,
                             ", got ", res.size(), ")"));
    size_t e = 0;
    TensorList out(tensor_positions.size());
    for (int64_t i = 0; i < num_args; ++i) {
      py::handle g = res[i];
      const bool is_input_tensor = e < tensor_positions.size() && tensor_positions[e] == i;
      if (!is_input_tensor) {
        if (!g.is_none())
          throw RuntimeError(msg("function ", name(), " returned a gradient different than None at position ", i + 1,
                                 ", but the corresponding forward input was not a Variable"));
        continue;
      }
      const size_t slot = e++;
      if (g.is_none()) continue;
      if (!is_tensor(g)) throw RuntimeError(msg("expected Variable or None (got ", type_name(g), ")"));
      Tensor gt = g.cast<Tensor>();
      const autograd::OutputMeta& want = input_meta[slot];
      if (gt.shape() != want.shape) {
        if (!expandable_to(want.shape, gt.shape()))
          throw RuntimeError(msg("Function ", name(), " returned an invalid gradient at index ", slot, " - got ",
                                 shape_str(gt.shape()), " but expected shape compatible with ", shape_str(want.shape)));
        gt = ops::sum_to(gt, want.shape, gt.dtype());
      }
      if (gt.dtype() != want.dtype) gt = ops::to_dtype(gt, want.dtype);
      out[slot] = std::move(gt);
    }
    return out;
  }
  void release_saved() override {
    for (auto& s : saved) s.release();
  }
  std::string name() const override { return node_name; }
};

struct NodeRef {
  std::weak_ptr<Node> node;
};

// ---- garbage collection of cycles through hooks ----
// A hook that captures its own tensor (y.register_hook(lambda g: g * y)) forms the cycle
// Python tensor -> TensorImpl -> grad_fn -> hook -> lambda -> Python tensor, invisible to
// Python's collector because the middle is C++. Like PyTorch, the Tensor type's traverse also
// visits the Python callables the tensor owns exclusively through C++ (its TensorImpl is held
// only by this Python object, its grad_fn only by the TensorImpl, the callable only by the
// hook): then the collector can see and break such cycles.
traverseproc g_tensor_base_traverse = nullptr;

int visit_callable(const std::shared_ptr<PyOwned>& h, visitproc visit, void* arg) {
  if (h && h.use_count() == 1 && h->obj) Py_VISIT(h->obj.ptr());
  return 0;
}

template <typename Functor, typename StdFunction>
int visit_hook(const StdFunction& f, visitproc visit, void* arg) {
  if (const Functor* p = f.template target<Functor>()) return visit_callable(p->holder, visit, arg);
  return 0;
}

int traverse_node(Node& n, visitproc visit, void* arg) {
  if (n.has_hooks()) {
    int r = n.edit_hooks([&](Node::Hooks& h) {
      for (auto& item : h.tensor.items)
        if (int r = visit_hook<PyTensorHookFn>(item.fn.fn, visit, arg)) return r;
      for (auto& item : h.pre.items)
        if (int r = visit_hook<PyNodePreHookFn>(item.fn, visit, arg)) return r;
      for (auto& item : h.post.items)
        if (int r = visit_hook<PyNodePostHookFn>(item.fn, visit, arg)) return r;
      return 0;
    });
    if (r) return r;
  }
  if (auto* f = dynamic_cast<PyFunctionNode*>(&n))
    if (int r = visit_callable(f->backward, visit, arg)) return r;
  return 0;
}

int tensor_traverse(PyObject* self, visitproc visit, void* arg) {
  if (g_tensor_base_traverse)
    if (int r = g_tensor_base_traverse(self, visit, arg)) return r;
  const Tensor* t = tensor_of(self);
  if (!t) return 0;
  const auto& impl = t->impl_ptr();
  if (impl.use_count() != 1) return 0;
  auto* m = static_cast<autograd::AutogradMeta*>(impl->autograd.get());
  if (!m) return 0;
  {
    std::lock_guard<std::mutex> lock(m->mutex);
    for (auto& item : m->hooks.get().items)
      if (int r = visit_hook<PyTensorHookFn>(item.fn, visit, arg)) return r;
    for (auto& item : m->post_accumulate_hooks.get().items)
      if (int r = visit_hook<PyPostAccumulateHookFn>(item.fn, visit, arg)) return r;
  }
  if (m->grad_fn && m->grad_fn.use_count() == 1) return traverse_node(*m->grad_fn, visit, arg);
  return 0;
}

// grad_fn._saved_<name> as PyTorch shows it: sizes and lists of tensors as tuples, an unsaved
// (undefined) tensor as None.
py::object saved_value_to_python(const autograd::SavedValue& v) {
  return std::visit(
      [](const auto& x) -> py::object {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return py::none();
        } else if constexpr (std::is_same_v<T, Tensor>) {
          return x.defined() ? py::cast(x) : py::none();
        } else if constexpr (std::is_same_v<T, autograd::TensorList>) {
          py::tuple t(x.size());
          for (size_t i = 0; i < x.size(); ++i) t[i] = x[i].defined() ? py::cast(x[i]) : py::none();
          return t;
        } else if constexpr (std::is_same_v<T, Shape>) {
          py::tuple t(x.size());
          for (size_t i = 0; i < x.size(); ++i) t[i] = py::int_(x[i]);
          return t;
        } else {
          return py::cast(x);
        }
      },
      v);
}

void install_tensor_traverse() {
  PyTypeObject* type = tensor_type();
  if (!PyType_HasFeature(type, Py_TPFLAGS_HAVE_GC) || type->tp_traverse == tensor_traverse) return;
  g_tensor_base_traverse = type->tp_traverse;
  type->tp_traverse = tensor_traverse;
}

}  // namespace

void register_autograd(py::module_& m) {
  install_tensor_traverse();
  py::class_<RemovableHandle, std::shared_ptr<RemovableHandle>>(m, "RemovableHandle")
      .def("remove", &RemovableHandle::remove)
      .def("__enter__", [](std::shared_ptr<RemovableHandle> h) { return h; })
      .def("__exit__", [](RemovableHandle& h, py::args) { h.remove(); });

  py::class_<Node, std::shared_ptr<Node>>(m, "Node", py::dynamic_attr())
      .def("name", &Node::name)
      .def_property_readonly("next_functions", [](const Node& n) {
        py::tuple t(n.next_edges.size());
        for (size_t i = 0; i < n.next_edges.size(); ++i)
          t[i] = py::make_tuple(n.next_edges[i].fn ? py::cast(n.next_edges[i].fn) : py::none(), n.next_edges[i].input_nr);
        return t;
      })
      .def_property_readonly("variable", [](Node& n) -> py::object {
        if (n.is_accumulator()) {
          Tensor v = static_cast<autograd::AccumulateGrad&>(n).variable();
          return v.defined() ? py::cast(v) : py::none();
        }
        throw py::attribute_error("'" + n.name() + "' object has no attribute 'variable'");
      })
      .def("_sequence_nr", &Node::sequence_nr)
      .def("_saved_names", [](Node& n) { return n.saved_names(); })
      // Frees what the node saved, as a backward pass without retain_graph does (is_grads_batched).
      .def("_release_saved", [](Node& n) { n.release_saved(); })
      .def("_saved_value", [](Node& n, const std::string& name) { return saved_value_to_python(n.saved_value(name)); })
      .def("_saved_items", [](Node& n) {
        py::dict d;
        for (auto& [k, v] : n.saved_tensors_for_inspection()) d[py::str(k)] = saved_value_to_python(v);
        return d;
      })
      .def("register_hook", [](std::shared_ptr<Node> n, py::object fn) {
        std::string who = hook_name(fn);
        int id = n->edit_hooks([&](Node::Hooks& h) {
          return h.post.add(PyNodePostHookFn{std::make_shared<PyOwned>(std::move(fn)), who}, who);
        });
        std::weak_ptr<Node> w = n;
        return std::make_shared<RemovableHandle>(RemovableHandle{[w, id] {
          if (auto p = w.lock()) p->edit_hooks([id](Node::Hooks& h) { h.post.remove(id); });
        }});
      })
      .def("register_prehook", [](std::shared_ptr<Node> n, py::object fn) {
        std::string who = hook_name(fn);
        int id = n->edit_hooks([&](Node::Hooks& h) {
          return h.pre.add(PyNodePreHookFn{std::make_shared<PyOwned>(std::move(fn)), who}, who);
        });
        std::weak_ptr<Node> w = n;
        return std::make_shared<RemovableHandle>(RemovableHandle{[w, id] {
          if (auto p = w.lock()) p->edit_hooks([id](Node::Hooks& h) { h.pre.remove(id); });
        }});
      });

  m.def("_register_tensor_hook", [](const Tensor& t, py::object fn) {
    CG_CHECK(autograd::requires_grad(t), "cannot register a hook on a tensor that doesn't require gradient");
    std::string who = hook_name(fn);
    if (autograd::is_leaf(t)) {
      auto& m = autograd::meta_mut(t);
      int id;
      {
        std::lock_guard<std::mutex> lock(m.mutex);
        id = m.hooks.add(tensor_hook(std::move(fn)), who);
      }
      std::weak_ptr<TensorImpl> w = t.impl_ptr();
      return std::make_shared<RemovableHandle>(RemovableHandle{[w, id] {
        if (auto p = w.lock()) {
          auto& pm = autograd::meta_mut(Tensor(p));
          std::lock_guard<std::mutex> lock(pm.mutex);
          pm.hooks.remove(id);
        }
      }});
    }
    const auto& meta = *autograd::meta(t);
    std::shared_ptr<Node> fnode = meta.grad_fn;
    const uint32_t output_nr = meta.output_nr;
    int id = fnode->edit_hooks([&](Node::Hooks& h) {
      return h.tensor.add({output_nr, tensor_hook(std::move(fn))}, who);
    });
    std::weak_ptr<Node> w = fnode;
    return std::make_shared<RemovableHandle>(RemovableHandle{[w, id] {
      if (auto p = w.lock()) p->edit_hooks([id](Node::Hooks& h) { h.tensor.remove(id); });
    }});
  });
  m.def("_register_post_accumulate_grad_hook", [](const Tensor& t, py::object fn) {
    CG_CHECK(autograd::requires_grad(t), "cannot register a hook on a tensor that doesn't require gradient");
    CG_CHECK(autograd::is_leaf(t), "post accumulate grad hooks cannot be registered on non-leaf tensors");
    auto& m = autograd::meta_mut(t);
    int id;
    {
      std::lock_guard<std::mutex> lock(m.mutex);
      id = m.post_accumulate_hooks.add(PyPostAccumulateHookFn{std::make_shared<PyOwned>(std::move(fn))});
    }
    std::weak_ptr<TensorImpl> w = t.impl_ptr();
    return std::make_shared<RemovableHandle>(RemovableHandle{[w, id] {
      if (auto p = w.lock()) {
        auto& pm = autograd::meta_mut(Tensor(p));
        std::lock_guard<std::mutex> lock(pm.mutex);
        pm.post_accumulate_hooks.remove(id);
      }
    }});
  });

  // ---- grad modes ----
  m.def("is_grad_enabled", &autograd::GradMode::is_enabled);
  m.def("_set_grad_enabled", &autograd::GradMode::set_enabled);
  m.def("is_inference_mode_enabled", &autograd::GradMode::is_inference);
  m.def("_set_inference_mode", &autograd::GradMode::set_inference);

  // ---- the engine ----
  m.def("_run_backward", [](const std::vector<Tensor>& roots, const std::vector<std::optional<Tensor>>& grads,
                            const std::vector<Tensor>& inputs, bool keep_graph, bool create_graph, bool accumulate,
                            bool allow_unused, bool materialize) {
    TensorList gs;
    for (const auto& g : grads) gs.push_back(g ? *g : Tensor());
    autograd::BackwardOptions opt{keep_graph, create_graph, accumulate, allow_unused, materialize};
    TensorList result;
    {
      py::gil_scoped_release release;
      result = autograd::run_backward(roots, gs, inputs, opt);
    }
    py::tuple out(result.size());
    for (size_t i = 0; i < result.size(); ++i) out[i] = py::cast(result[i]);
    return out;
  });

  // ---- parallel backward (engine.h): threads per backward call, and the per-node work that pays ----
  m.def("_get_backward_threads", &autograd::backward_threads);
  m.def("_set_backward_threads", &autograd::set_backward_threads, py::arg("threads"));
  m.def("_get_parallel_min_node_work", &autograd::parallel_min_node_work);
  m.def("_set_parallel_min_node_work", &autograd::set_parallel_min_node_work, py::arg("elements"));
  m.def("_last_backward_was_parallel", &autograd::last_backward_was_parallel);

  // ---- autograd.Function ----
  py::class_<NodeRef>(m, "_NodeRef");
  m.def("_function_record", [](py::object backward, const std::string& node_name, py::sequence args,
                               py::sequence outputs, py::sequence non_differentiable, py::sequence to_save,
                               py::sequence dirty, bool materialize_grads) {
    // Inputs that are tensors get edges; outputs that require grad get this node as history.
    auto node = autograd::make_node<PyFunctionNode>();
    node->backward = std::make_shared<PyOwned>(std::move(backward));
    node->node_name = node_name;
    node->num_args = static_cast<int64_t>(args.size());
    node->set_materialize_grads(materialize_grads);
    bool any_grad = false;
    for (size_t i = 0; i < args.size(); ++i) {
      if (!is_tensor(args[i])) continue;
      Tensor t = args[i].cast<Tensor>();
      node->tensor_positions.push_back(static_cast<int64_t>(i));
      node->next_edges.push_back(autograd::requires_grad(t) ? autograd::gradient_edge(t) : autograd::Edge{});
      node->input_meta.push_back({t.shape(), t.dtype()});
      any_grad |= autograd::requires_grad(t);
    }
    std::vector<Tensor> outs;
    for (auto o : outputs) outs.push_back(o.cast<Tensor>());
    std::vector<bool> nondiff(outs.size(), false);
    for (auto nd : non_differentiable) {
      Tensor t = nd.cast<Tensor>();
      for (size_t i = 0; i < outs.size(); ++i)
        if (outs[i].is_same(t)) nondiff[i] = true;
    }
    std::vector<bool> is_dirty(outs.size(), false);
    for (auto d : dirty) {
      Tensor t = d.cast<Tensor>();
      for (size_t i = 0; i < outs.size(); ++i)
        if (outs[i].is_same(t)) is_dirty[i] = true;
      if (autograd::requires_grad(t) && autograd::is_leaf(t) && autograd::GradMode::is_enabled())
        throw RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.");
      ops::check_inplace(t);  // views of leaves, outputs of multi-view functions
    }
    const bool record = any_grad && autograd::GradMode::is_enabled();
    for (size_t i = 0; i < outs.size(); ++i) {
      const bool differentiable = record && !nondiff[i] && is_floating(outs[i].dtype());
      if (is_dirty[i]) {
        // Modified in place by forward: like an in-place op, the input itself takes the new
        // history (its base's, through CopySlices, when it is a view); its version moves on.
        Tensor result = outs[i].alias();
        if (differentiable) autograd::set_history(result, node);
        else if (record) node->output_meta.push_back({outs[i].shape(), outs[i].dtype()});
        ops::commit_inplace(outs[i], result);
      } else if (differentiable) {
        autograd::set_history(outs[i], node);
      } else if (record) {
        node->output_meta.push_back({outs[i].shape(), outs[i].dtype()});
      }
    }
    for (auto s : to_save) {
      if (s.is_none()) {
        node->saved.emplace_back();
        continue;
      }
      Tensor t = s.cast<Tensor>();
      bool is_output = false;
      for (const Tensor& o : outs) is_output |= o.is_same(t);
      node->saved.emplace_back(t, is_output && any_grad);
    }
    return py::make_tuple(NodeRef{node}, any_grad ? py::cast(std::static_pointer_cast<Node>(node)) : py::none());
  });
  m.def("_function_saved", [](const NodeRef& ref) {
    auto node = std::dynamic_pointer_cast<PyFunctionNode>(ref.node.lock());
    CG_CHECK(node, "Trying to backward through the graph a second time (or directly access saved tensors after they "
                   "have already been freed). Saved intermediate values of the graph are freed when you call "
                   ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
                   "graph a second time or if you need to access saved tensors after calling backward.");
    py::tuple t(node->saved.size());
    for (size_t i = 0; i < node->saved.size(); ++i) t[i] = py::cast(node->saved[i].unpack(*node));
    return t;
  });
}

}  // namespace cg::python
