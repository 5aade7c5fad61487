"""Tests for chaingrad.autograd.graph (graph walking and Graphviz output)."""

import re
import shutil

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402
import chaingrad.autograd.graph as G  # noqa: E402


def cg(a, requires_grad=False):
    t = chaingrad.from_numpy(np.array(a, copy=True))
    return t.requires_grad_() if requires_grad else t


def small_graph():
    x = cg(np.arange(3.0), requires_grad=True)
    w = cg(np.ones(3), requires_grad=True)
    c = cg(np.full(3, 2.0))  # no grad: its edge is None
    y = ((x * w + c) * x).sum()
    return x, w, y


def test_nodes_edges_leaves():
    x, w, y = small_graph()
    ns = G.nodes(y)
    assert ns[0] is y.grad_fn
    assert all(isinstance(n.name(), str) for n in ns)
    assert len(ns) == len(set(map(id, ns)))
    leaf_nodes = [n for n in ns if hasattr(n, "variable")]
    assert len(leaf_nodes) == 2  # one AccumulateGrad per leaf, though x is used twice
    es = G.edges(y)
    ids = {id(n) for n in ns}
    assert all(id(a) in ids and id(b) in ids and isinstance(i, int) for a, b, i in es)
    # every non-None next_functions entry is an edge
    expected = sum(1 for n in ns for nxt, _ in n.next_functions if nxt is not None)
    assert len(es) == expected
    leaves = G.leaves(y)
    assert len(leaves) == 2 and {id(t) for t in leaves} == {id(x), id(w)}
    assert G.leaves(x) == [x] and G.nodes(x) == []
    assert G.nodes(cg(np.ones(2))) == []


def test_node_names_match_torch():
    torch = pytest.importorskip("torch")
    _, _, y = small_graph()
    xt = torch.arange(3.0, dtype=torch.float64, requires_grad=True)
    wt = torch.ones(3, dtype=torch.float64, requires_grad=True)
    yt = ((xt * wt + torch.full((3,), 2.0, dtype=torch.float64)) * xt).sum()
    ours = sorted(n.name() for n in G.nodes(y) if not hasattr(n, "variable"))
    seen, stack, theirs = set(), [yt.grad_fn], []
    while stack:  # torch's graph, walked directly (G only knows chaingrad tensors)
        n = stack.pop()
        if n is None or n in seen:
            continue
        seen.add(n)
        if not hasattr(n, "variable"):
            theirs.append(n.name())
        stack.extend(nxt for nxt, _ in n.next_functions)
    theirs.sort()
    assert ours == theirs


def test_saved_tensors():
    x = cg(np.ones((2, 3)), requires_grad=True)
    w = cg(np.ones((3, 4)), requires_grad=True)
    y = x.matmul(w)
    node = y.grad_fn
    if not any(a.startswith("_saved_") for a in dir(node)):
        pytest.skip("the core exposes no _saved_* attributes")
    saved = G.saved_tensors(node)
    assert sorted(shape for shape, _ in saved.values()) == [(2, 3), (3, 4)]
    assert all(dtype == chaingrad.float64 for _, dtype in saved.values())
    assert G.saved_tensors(G.nodes(y)[-1]) == {}  # AccumulateGrad saves nothing


def test_to_dot_structure():
    x, w, y = small_graph()
    dot = G.to_dot(y, params={"x": x, "w": w})
    assert dot.startswith("digraph chaingrad {") and dot.rstrip().endswith("}")
    assert dot.count("{") == dot.count("}")
    ns, es = G.nodes(y), G.edges(y)
    node_lines = re.findall(r"^  n\d+ \[label=", dot, flags=re.M)
    assert len(node_lines) == len(ns)
    edge_lines = re.findall(r"^  (n\d+|out\d+) -> (n\d+|out\d+);$", dot, flags=re.M)
    assert len(edge_lines) == len(es) + 1  # plus the edge into the output node
    assert ("n0", "out0") in edge_lines
    assert '"x\\n(3,) float64\\nrequires_grad=True"' in dot
    assert '"w\\n(3,) float64\\nrequires_grad=True"' in dot
    assert 'out0 [label="output\\n() float64"' in dot
    assert "fillcolor=lightblue" in dot
    for n in ns:
        if not hasattr(n, "variable"):
            assert n.name() in dot
    without = G.to_dot(y, show_saved=False)
    assert "self:" not in without and "other:" not in without
    if any(a.startswith("_saved_") for n in ns for a in dir(n)):
        assert ": (3,) float64" in G.to_dot(y)


def test_to_dot_escapes_and_edge_cases():
    x = cg(np.ones(2), requires_grad=True)
    y = x * 2
    dot = G.to_dot(y, params=[('we"ird\\name', x)])
    assert 'we\\"ird\\\\name' in dot
    assert "output (leaf)" in G.to_dot(x)
    assert "no grad_fn" in G.to_dot(cg(np.ones(1)))
    multi = G.to_dot([y, y.sum()])
    assert "out0" in multi and "out1" in multi
    with pytest.raises(TypeError):
        G.to_dot([1, 2])


def test_long_chain_is_iterative():
    x = cg(np.ones(1), requires_grad=True)
    y = x
    n = 20_000
    for _ in range(n):
        y = y + 1.0
    assert len(G.nodes(y)) == n + 1
    assert len(G.edges(y)) == n
    assert G.leaves(y) == [x]
    dot = G.to_dot(y, show_saved=False)
    assert dot.count("->") == n + 1


def test_render(tmp_path, monkeypatch):
    _, _, y = small_graph()
    if shutil.which("dot") is not None:
        out = G.render(y, tmp_path / "g.svg")
        text = (tmp_path / "g.svg").read_text()
        assert out == str(tmp_path / "g.svg") and "<svg" in text
        with pytest.raises(ValueError):
            G.render(y, tmp_path / "g.x", format="svg -o /etc/passwd")
    monkeypatch.setattr(G.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="Graphviz 'dot' program not found on PATH"):
        G.render(y, tmp_path / "g.svg")
