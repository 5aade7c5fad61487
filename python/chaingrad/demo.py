"""A guided tour of chaingrad's autograd, printed to the terminal.

Run it with::

    python -m chaingrad.demo              # the full tour (under 20 s)
    python -m chaingrad.demo --quick      # a shorter training run, for tests
    python -m chaingrad.demo --out DIR    # where the Graphviz files go

It walks through the ideas of the seed tutorials: the graph of
``z = (a + b)(b - c)`` and its ``grad_fn`` / ``next_functions``, a
vector-Jacobian product through ``backward(gradient=...)``, ``retain_graph``,
a second derivative with ``create_graph=True`` and a hook that clamps a
gradient; then it trains a small network on a two-moons data set (with a
progress bar: tqdm's when installed), writes the backward graph of one training
step as Graphviz DOT (and SVG when ``dot`` is on ``PATH``) and, when matplotlib
is installed, plots the loss curve and the learned decision boundary to PNG.

Everything is written against PyTorch's API. Set
``CHAINGRAD_EXAMPLES_BACKEND=torch`` to run the same tour on PyTorch (then the
DOT file is produced by walking ``grad_fn.next_functions`` here, instead of by
``chaingrad.autograd.graph.to_dot``).
"""

import argparse
import importlib
import os
import shutil
import subprocess
import sys
import time
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

BACKEND = os.environ.get("CHAINGRAD_EXAMPLES_BACKEND", "chaingrad")
if BACKEND == "torch":
    import torch
else:
    import chaingrad as torch

nn = torch.nn


def heading(number: int, title: str) -> None:
    """Print a numbered section heading."""
    print()
    print(f"{number}. {title}")
    print("-" * (len(title) + len(str(number)) + 2))


def node_name(fn: Any) -> str:
    """Return a backward node's type name, e.g. ``MulBackward0`` or ``AccumulateGrad``."""
    return type(fn).__name__


def print_graph(fn: Any, indent: str = "   ") -> None:
    """Print the backward graph below ``fn`` as a tree, one node per line.

    Each child is shown with the input slot it feeds, as in the pairs
    ``(node, index)`` of ``grad_fn.next_functions``.
    """
    stack: List[Tuple[Any, int, Optional[int]]] = [(fn, 0, None)]
    while stack:
        node, depth, slot = stack.pop()
        label = "None" if node is None else node_name(node)
        where = "" if slot is None else f" [input {slot}]"
        print(f"{indent}{'    ' * depth}{label}{where}")
        if node is not None:
            children = list(node.next_functions)
            for position in range(len(children) - 1, -1, -1):
                child, _ = children[position]
                stack.append((child, depth + 1, position))


# --------------------------------------------------------------------------- tour


def tour_graph() -> None:
    """Build ``z = (a + b)(b - c)``, show its graph, and backpropagate."""
    heading(1, "The graph of z = (a + b)(b - c)")
    a = torch.tensor(2.0, requires_grad=True)
    b = torch.tensor(3.0, requires_grad=True)
    c = torch.tensor(1.0, requires_grad=True)
    z = (a + b) * (b - c)
    print("   a = 2, b = 3, c = 1")
    print("   z =", z)
    print("   z.grad_fn:", node_name(z.grad_fn))
    print("   z.grad_fn.next_functions:",
          [(node_name(f), i) for f, i in z.grad_fn.next_functions])
    print("   the whole graph, root first (leaves end in AccumulateGrad):")
    print_graph(z.grad_fn, indent="     ")
    z.backward()
    print("   after z.backward():")
    print(f"     a.grad = {a.grad.item():5.1f}   (dz/da = b - c)")
    print(f"     b.grad = {b.grad.item():5.1f}   (dz/db = (b - c) + (a + b))")
    print(f"     c.grad = {c.grad.item():5.1f}   (dz/dc = -(a + b))")


def tour_vjp() -> None:
    """Show that ``y.backward(gradient=v)`` computes ``J^T v``."""
    heading(2, "A vector-Jacobian product with backward(gradient=v)")
    w = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    x = torch.tensor([1.0, -1.0, 0.5], requires_grad=True)
    y = w @ x  # y is a vector; its Jacobian with respect to x is w
    print("   y = W @ x with W =", w.tolist())
    print("   y =", y)
    try:
        y.backward()
    except RuntimeError as exc:
        print(f"   y.backward() -> {type(exc).__name__}: {exc}")
    v = torch.tensor([1.0, 0.5])
    y.backward(gradient=v)
    print("   y.backward(gradient=v) with v =", v.tolist())
    print("   x.grad =", x.grad, "  W^T v =", (w.T @ v).tolist())


def tour_retain_graph() -> None:
    """Backpropagate twice through one graph, then once too often."""
    heading(3, "retain_graph: backpropagating through one graph twice")
    x = torch.tensor(3.0, requires_grad=True)
    y = x**2
    y.backward(retain_graph=True)
    print("   first backward (retain_graph=True):  x.grad =", x.grad.item())
    y.backward()
    print("   second backward (gradients add up):  x.grad =", x.grad.item())
    try:
        y.backward()
    except RuntimeError as exc:
        first_sentence = str(exc).split(" (")[0]
        print(f"   third backward -> {type(exc).__name__}: {first_sentence} ...")


def tour_second_derivative() -> None:
    """Differentiate a derivative with ``create_graph=True``."""
    heading(4, "A second derivative with create_graph=True")
    x = torch.tensor(2.0, requires_grad=True)
    y = x**3
    (dy,) = torch.autograd.grad(y, x, create_graph=True)
    print("   y = x^3 at x = 2")
    print("   dy/dx   =", dy.item(), "  (3x^2; it has a grad_fn:", node_name(dy.grad_fn) + ")")
    (d2y,) = torch.autograd.grad(dy, x)
    print("   d2y/dx2 =", d2y.item(), "  (6x)")


def tour_hook() -> None:
    """Register a hook that clamps the gradient arriving at a leaf."""
    heading(5, "A hook that clamps a gradient to [-1, 1]")
    w = torch.tensor([0.5, -2.0, 3.0], requires_grad=True)
    scale = torch.tensor([0.5, -4.0, 10.0])
    w.register_hook(lambda grad: grad.clamp(-1.0, 1.0))
    (w * scale).sum().backward()
    print("   loss = sum(w * s) with s =", scale.tolist())
    print("   gradient without the hook:", scale.tolist())
    print("   w.grad with the hook:     ", w.grad.tolist())


# ----------------------------------------------------------------------- training


def plain_progress(items: Sequence[Any], desc: str, width: int = 30) -> Iterator[Any]:
    """Yield ``items`` while drawing a text progress bar on stderr (redrawn in place on a
    terminal; elsewhere only the finished bar is written, so logs stay short)."""
    stream = sys.stderr
    live = stream.isatty()
    total = max(len(items), 1)
    step = max(total // 20, 1)

    def draw(done: int, end: str) -> None:
        filled = width * done // total
        bar = "#" * filled + "." * (width - filled)
        stream.write(f"\r   {desc} [{bar}] {done}/{total}{end}")
        stream.flush()

    for i, item in enumerate(items):
        if live and i % step == 0:
            draw(i, "")
        yield item
    if live:
        draw(total, "\r" + " " * (width + len(desc) + 20) + "\r")


def progress(items: Sequence[Any], desc: str) -> Iterable[Any]:
    """``items`` wrapped in a progress bar: tqdm's when it is installed, a plain one otherwise."""
    try:
        from tqdm import tqdm
    except ImportError:
        return plain_progress(items, desc)
    return tqdm(items, desc="   " + desc, leave=False, unit="batch", file=sys.stderr)



def make_moons(n: int, noise: float, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """Return ``n`` noisy points on two interleaving half circles, with 0/1 labels."""
    half = n // 2
    t = rng.uniform(0.0, np.pi, n)
    upper = np.stack([np.cos(t[:half]), np.sin(t[:half])], axis=1)
    lower = np.stack([1.0 - np.cos(t[half:]), 0.5 - np.sin(t[half:])], axis=1)
    points = np.concatenate([upper, lower]) + rng.normal(0.0, noise, (n, 2))
    labels = (np.arange(n) >= half).astype(np.int64)
    order = rng.permutation(n)
    return points[order].astype(np.float32), labels[order]


def accuracy_of(model: Any, points: Any, labels: Any) -> float:
    """Fraction of points whose arg-max logit is the label."""
    with torch.no_grad():
        return (model(points).argmax(dim=1) == labels).float().mean().item()


def train_moons(quick: bool, seed: int = 0) -> Tuple[Any, Any, float, Dict[str, Any]]:
    """Train a 2-16-16-2 MLP on two moons.

    Returns the model, the (not yet backpropagated) loss of one more mini-batch,
    whose graph is one training step, the test accuracy and a history for the
    pictures (``losses`` per step, ``steps_per_epoch``, ``points``, ``labels``).
    """
    epochs, samples = (6, 300) if quick else (25, 800)
    heading(6, f"Training a small network on two moons ({epochs} epochs)")
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    points, labels = make_moons(samples, 0.1, rng)
    split = int(0.75 * samples)
    x_train, y_train = torch.tensor(points[:split]), torch.tensor(labels[:split])
    x_test, y_test = torch.tensor(points[split:]), torch.tensor(labels[split:])
    print(f"   {split} training and {samples - split} test points;"
          " Linear(2,16)-ReLU-Linear(16,16)-ReLU-Linear(16,2), Adam, cross-entropy")

    model = nn.Sequential(
        nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2)
    )
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    batch = 32
    start = time.perf_counter()
    losses: List[float] = []
    for epoch in range(1, epochs + 1):
        order = rng.permutation(split)
        total = 0.0
        steps = 0
        for first in progress(range(0, split, batch), f"epoch {epoch}/{epochs}"):
            idx = order[first : first + batch]
            xb = torch.tensor(points[:split][idx])
            yb = torch.tensor(labels[:split][idx])
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            total += losses[-1]
            steps += 1
        acc = accuracy_of(model, x_train, y_train)
        elapsed = time.perf_counter() - start
        print(f"   epoch {epoch:2d}/{epochs}  loss {total / steps:.4f}"
              f"  train accuracy {acc:.3f}  ({elapsed:.1f} s)")
    test_acc = accuracy_of(model, x_test, y_test)
    print(f"   final test accuracy: {test_acc:.3f}")

    # one more forward pass, kept un-backpropagated, to draw its graph
    xb, yb = x_train[:batch], y_train[:batch]
    loss = loss_fn(model(xb), yb)
    history = dict(losses=losses, steps_per_epoch=steps, points=points, labels=labels, split=split)
    return model, loss, test_acc, history


# ------------------------------------------------------------------------ pictures


def write_pictures(model: Any, history: Dict[str, Any], out_dir: str) -> List[str]:
    """Plot the loss curve and the learned decision boundary to PNG files in ``out_dir``
    when matplotlib is installed (returns the paths written; none without matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no window, works without a display
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    os.makedirs(out_dir, exist_ok=True)
    written = []

    losses = np.asarray(history["losses"])
    per_epoch = history["steps_per_epoch"]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(np.arange(1, len(losses) + 1) / per_epoch, losses, lw=0.8, alpha=0.5, label="batch")
    epochs = len(losses) // per_epoch
    means = losses[: epochs * per_epoch].reshape(epochs, per_epoch).mean(axis=1)
    ax.plot(np.arange(1, epochs + 1), means, marker="o", label="epoch mean")
    ax.set(xlabel="epoch", ylabel="cross-entropy loss", title="Training loss", yscale="log")
    ax.legend()
    fig.tight_layout()
    path = os.path.join(out_dir, "loss_curve.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    written.append(path)

    points, labels = history["points"], history["labels"]
    lo, hi = points.min(axis=0) - 0.5, points.max(axis=0) + 0.5
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    with torch.no_grad():
        prob = model(torch.tensor(grid)).softmax(dim=1)[:, 1].numpy().reshape(gx.shape)
    fig, ax = plt.subplots(figsize=(6, 5))
    shade = ax.contourf(gx, gy, prob, levels=20, cmap="RdBu_r", alpha=0.6)
    ax.contour(gx, gy, prob, levels=[0.5], colors="k", linewidths=1.5)
    split = history["split"]
    for part, marker, name in ((slice(None, split), "o", "train"), (slice(split, None), "^", "test")):
        ax.scatter(points[part, 0], points[part, 1], c=labels[part], cmap="RdBu_r",
                   marker=marker, s=12, edgecolors="k", linewidths=0.3, label=name)
    fig.colorbar(shade, ax=ax, label="P(class 1)")
    ax.set(title="Learned decision boundary", xlabel="x1", ylabel="x2")
    ax.legend(loc="upper right")
    fig.tight_layout()
    path = os.path.join(out_dir, "decision_boundary.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    written.append(path)
    return written


# -------------------------------------------------------------------------- graph


def _dot_quote(text: str) -> str:
    """Quote ``text`` as a DOT string literal (a newline becomes DOT's ``\\n``)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def walk_to_dot(root: Any, params: Dict[str, Any]) -> str:
    """Return DOT for the backward graph of ``root`` by walking ``grad_fn.next_functions``.

    Used when the backend is PyTorch, which has no ``to_dot``. Nodes are the
    backward functions (a leaf's ``AccumulateGrad`` is labelled with the
    parameter's name from ``params`` and its shape) plus the root tensor; edges
    point from inputs towards the root.
    """
    names = {id(tensor): name for name, tensor in params.items()}
    lines = [
        "digraph backward {",
        '  node [shape=box, fontname="Helvetica", fontsize=10];',
        f"  root [label={_dot_quote('loss ' + str(tuple(root.shape)))}, "
        "style=filled, fillcolor=lightblue];",
    ]
    ids: Dict[int, str] = {}
    keep: List[Any] = []  # keeps wrappers alive so that id() values stay unique
    stack: List[Any] = []

    def name_of(fn: Any) -> Tuple[str, bool]:
        key = id(fn)
        if key in ids:
            return ids[key], False
        keep.append(fn)
        ids[key] = f"n{len(ids)}"
        return ids[key], True

    def declare(fn: Any, node_id: str) -> None:
        label = node_name(fn)
        variable = getattr(fn, "variable", None)
        if variable is not None:
            label = names.get(id(variable), label) + "\n" + str(tuple(variable.shape))
            lines.append(f"  {node_id} [label={_dot_quote(label)}, style=filled, "
                         "fillcolor=lightgrey];")
        else:
            lines.append(f"  {node_id} [label={_dot_quote(label)}];")

    if root.grad_fn is not None:
        root_id, _ = name_of(root.grad_fn)
        declare(root.grad_fn, root_id)
        lines.append(f"  {root_id} -> root;")
        stack.append(root.grad_fn)
    while stack:
        fn = stack.pop()
        fn_id = ids[id(fn)]
        for child, _ in fn.next_functions:
            if child is None:
                continue
            child_id, new = name_of(child)
            if new:
                declare(child, child_id)
                stack.append(child)
            lines.append(f"  {child_id} -> {fn_id};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def graph_to_dot(loss: Any, params: Dict[str, Any]) -> Tuple[str, str]:
    """Return ``(dot_source, how)`` for the backward graph of ``loss``.

    ``params`` maps parameter names to tensors, used to label the leaves.
    """
    if BACKEND == "torch":
        return walk_to_dot(loss, params), "walked grad_fn.next_functions (PyTorch backend)"
    graph = importlib.import_module("chaingrad.autograd.graph")
    return graph.to_dot(loss, params=params), "chaingrad.autograd.graph.to_dot"


def write_graph(loss: Any, params: Dict[str, Any], out_dir: str) -> None:
    """Write the graph of one training step as DOT, and as SVG when ``dot`` exists."""
    heading(7, "The backward graph of one training step, as Graphviz")
    source, how = graph_to_dot(loss, params)
    os.makedirs(out_dir, exist_ok=True)
    dot_path = os.path.join(out_dir, "training_step.dot")
    with open(dot_path, "w", encoding="utf-8") as handle:
        handle.write(source)
    edges = sum(1 for line in source.splitlines() if "->" in line)
    print(f"   DOT from {how}: {edges} edges")
    print(f"   wrote {dot_path}")
    dot = shutil.which("dot")
    if dot is None:
        print("   (Graphviz 'dot' is not on PATH: no SVG)")
        return
    svg_path = os.path.join(out_dir, "training_step.svg")
    result = subprocess.run(
        [dot, "-Tsvg", dot_path, "-o", svg_path], capture_output=True, text=True, timeout=60
    )
    if result.returncode == 0:
        print(f"   wrote {svg_path}")
    else:
        print(f"   dot failed: {result.stderr.strip()}")


# --------------------------------------------------------------------------- main


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the tour; return the process exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m chaingrad.demo", description="A guided tour of chaingrad's autograd."
    )
    parser.add_argument("--quick", action="store_true", help="train briefly (for tests)")
    parser.add_argument(
        "--out", default=".", metavar="DIR",
        help="folder for training_step.dot/.svg and the PNG plots (default .)"
    )
    args = parser.parse_args(argv)

    print(f"chaingrad demo (backend: {torch.__name__})")
    tour_graph()
    tour_vjp()
    tour_retain_graph()
    tour_second_derivative()
    tour_hook()
    model, loss, test_acc, history = train_moons(args.quick)
    write_graph(loss, dict(model.named_parameters()), args.out)
    for path in write_pictures(model, history, args.out):
        print(f"   wrote {path}")
    print()
    print(f"accuracy: {test_acc:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
