"""The benchmark workloads W1-W9.

Every workload is written against the common PyTorch API and receives the tensor module
as ``tl`` (``torch`` or ``chaingrad``). Each one exposes four functions, bundled in a
:class:`Workload`:

``params(quick)``
    Problem sizes and iteration counts (``quick=True`` gives tiny sizes for smoke tests).
``make_inputs(params, seed)``
    The workload's inputs as numpy arrays, generated with a fixed seed so that every
    system sees identical data.
``check(tl, inputs, params)``
    Runs the workload once on those inputs and returns checkable values (losses as
    floats, gradients as numpy arrays) that must agree between systems.
``bench(tl, params, seed)``
    Times the workload (warm-up, then ``params["iters"]`` timed iterations in this
    process) and returns its metrics (per-process medians).

The runner adds the process's peak RSS and its RSS right after import to every result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np

from benchmarks.common import (
    now,
    phase_medians,
    run_timed,
    scalar_leaf,
    to_numpy,
    to_tensor,
)

Params = Dict[str, Any]
Inputs = Dict[str, np.ndarray]
CheckValues = Dict[str, Any]
Metrics = Dict[str, float]


@dataclass(frozen=True)
class Metric:
    """One reported figure of a workload.

    ``better`` is ``"lower"`` for times and memory and ``"higher"`` for throughputs; the
    report orients ratios so that a value above 1 always favours the first system.
    ``reference`` marks a figure of the machine rather than of the system (numpy's copy
    bandwidth or matmul speed, measured in the same process); it gets no ratio.
    """

    key: str
    label: str
    better: str = "lower"
    reference: bool = False


@dataclass(frozen=True)
class Variant:
    """A row group of a workload; ``threads=None`` means "use the run's ``--threads``"."""

    label: str = ""
    threads: Optional[int] = None


@dataclass(frozen=True)
class Workload:
    """A benchmark workload and the functions that define it (see the module docstring)."""

    key: str
    title: str
    summary: str
    metrics: Tuple[Metric, ...]
    params: Callable[[bool], Params]
    make_inputs: Callable[[Params, int], Inputs]
    check: Callable[[Any, Inputs, Params], CheckValues]
    bench: Callable[[Any, Params, int], Metrics]
    variants: Tuple[Variant, ...] = (Variant(),)
    show_rss: bool = False


def _rng(seed: int, salt: int) -> np.random.Generator:
    """Independent, reproducible generator per workload."""
    return np.random.default_rng([seed, salt])


def _normal(rng: np.random.Generator, shape: Tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    """float32 normal samples."""
    out = rng.standard_normal(shape, dtype=np.float32)
    if scale != 1.0:
        out *= np.float32(scale)
    return out


def _clear_grads(tensors: List[Any]) -> None:
    """Drop accumulated gradients (``t.grad = None``)."""
    for t in tensors:
        t.grad = None


def _sgd_step(tl: Any, params: List[Any], lr: float) -> None:
    """Manual SGD update under ``no_grad``, then drop the gradients."""
    with tl.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad = None


# --------------------------------------------------------------------------------------
# W1: tiny ops -- a 0-d graph of mixed add/mul/tanh/pow/sub, then backward.
# --------------------------------------------------------------------------------------


def _w1_params(quick: bool) -> Params:
    return {
        "n_ops": 200 if quick else 2000,
        "n_leaves": 8,
        "warmup": 1 if quick else 5,
        "iters": 2 if quick else 30,
    }


def _w1_inputs(p: Params, seed: int) -> Inputs:
    rng = _rng(seed, 1)
    return {"leaves": rng.uniform(-0.9, 0.9, p["n_leaves"]).astype(np.float32)}


def _w1_forward(tl: Any, leaves: List[Any], n_ops: int) -> Any:
    """``n_ops`` 0-d ops, five per round: add, mul, tanh, pow, sub.

    The leaves are reused many times, so backward also exercises gradient accumulation.
    All intermediate values stay within a few units, so nothing overflows.
    """
    k = len(leaves)
    y = leaves[0]
    for j in range(n_ops // 5):
        y = tl.tanh((y + leaves[j % k]) * leaves[(j + 3) % k]) ** 2 - leaves[(j + 5) % k]
    return y


def _w1_check(tl: Any, inputs: Inputs, p: Params) -> CheckValues:
    leaves = [scalar_leaf(tl, v) for v in inputs["leaves"]]
    y = _w1_forward(tl, leaves, p["n_ops"])
    y.backward()
    return {"y": float(y.item()), "leaf_grads": np.array([float(t.grad.item()) for t in leaves])}


def _w1_bench(tl: Any, p: Params, seed: int) -> Metrics:
    leaves = [scalar_leaf(tl, v) for v in _w1_inputs(p, seed)["leaves"]]
    n_ops = p["n_ops"]

    def step() -> Tuple[float, float]:
        t0 = now()
        y = _w1_forward(tl, leaves, n_ops)
        t1 = now()
        y.backward()
        t2 = now()
        return t1 - t0, t2 - t1

    fwd, bwd = phase_medians(run_timed(step, p["warmup"], p["iters"], lambda: _clear_grads(leaves)))
    return {"fwd_us_per_op": fwd / n_ops * 1e6, "bwd_us_per_op": bwd / n_ops * 1e6}


# --------------------------------------------------------------------------------------
# W2: micrograd-style scalar MLP on two moons, one SGD step per iteration.
# --------------------------------------------------------------------------------------


def two_moons(n: int, noise: float, seed: int) -> Tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles with Gaussian noise; labels are -1 and +1."""
    rng = _rng(seed, 2)
    n_a = n // 2
    n_b = n - n_a
    t_a = np.linspace(0.0, np.pi, n_a)
    t_b = np.linspace(0.0, np.pi, n_b)
    upper = np.stack([np.cos(t_a), np.sin(t_a)], axis=1)
    lower = np.stack([1.0 - np.cos(t_b), 0.5 - np.sin(t_b)], axis=1)
    x = np.concatenate([upper, lower]) + rng.normal(0.0, noise, (n, 2))
    y = np.concatenate([-np.ones(n_a), np.ones(n_b)])
    return x.astype(np.float32), y.astype(np.float32)


def _w2_params(quick: bool) -> Params:
    return {
        "n_points": 10 if quick else 100,
        "sizes": (2, 4, 4, 1) if quick else (2, 16, 16, 1),
        "lr": 0.005,
        "warmup": 1,
        "iters": 1 if quick else 3,
    }


def _w2_inputs(p: Params, seed: int) -> Inputs:
    x, y = two_moons(p["n_points"], 0.1, seed)
    rng = _rng(seed, 22)
    out: Inputs = {"x": x, "y": y}
    sizes = p["sizes"]
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        out[f"w{i}"] = rng.uniform(-1.0, 1.0, (fan_out, fan_in)).astype(np.float32)
        out[f"b{i}"] = rng.uniform(-0.1, 0.1, fan_out).astype(np.float32)
    return out


# A scalar layer: one list of 0-d weight tensors per output neuron, plus 0-d biases.
_ScalarLayer = Tuple[List[List[Any]], List[Any]]


def _w2_model(tl: Any, inputs: Inputs, p: Params) -> Tuple[List[_ScalarLayer], List[Any]]:
    """Build the MLP with every weight and bias a separate 0-d leaf tensor."""
    layers: List[_ScalarLayer] = []
    flat: List[Any] = []
    for i in range(len(p["sizes"]) - 1):
        rows = [[scalar_leaf(tl, v) for v in row] for row in inputs[f"w{i}"]]
        biases = [scalar_leaf(tl, v) for v in inputs[f"b{i}"]]
        layers.append((rows, biases))
        for row in rows:
            flat.extend(row)
        flat.extend(biases)
    return layers, flat


def _w2_loss(tl: Any, layers: List[_ScalarLayer], xs: List[List[float]], ys: List[float]) -> Any:
    """Sum over points of the squared error; tanh on hidden layers, linear output."""
    loss = None
    last = len(layers) - 1
    for x, target in zip(xs, ys):
        h: List[Any] = list(x)
        for li, (rows, biases) in enumerate(layers):
            out = []
            for row, bias in zip(rows, biases):
                act = bias
                for w, v in zip(row, h):
                    act = act + w * v
                out.append(tl.tanh(act) if li < last else act)
            h = out
        term = (h[0] - target) ** 2
        loss = term if loss is None else loss + term
    return loss


def _w2_points(inputs: Inputs) -> Tuple[List[List[float]], List[float]]:
    xs = [[float(a) for a in row] for row in inputs["x"]]
    return xs, [float(v) for v in inputs["y"]]


def _w2_check(tl: Any, inputs: Inputs, p: Params) -> CheckValues:
    layers, flat = _w2_model(tl, inputs, p)
    xs, ys = _w2_points(inputs)
    loss = _w2_loss(tl, layers, xs, ys)
    loss.backward()
    grads = np.array([float(t.grad.item()) for t in flat])
    _sgd_step(tl, flat, p["lr"])
    with tl.no_grad():
        loss_after = _w2_loss(tl, layers, xs, ys)
    return {"loss": float(loss.item()), "grads": grads, "loss_after_step": float(loss_after.item())}


def _w2_bench(tl: Any, p: Params, seed: int) -> Metrics:
    inputs = _w2_inputs(p, seed)
    layers, flat = _w2_model(tl, inputs, p)
    xs, ys = _w2_points(inputs)
    lr = p["lr"]

    def step() -> Tuple[float]:
        t0 = now()
        loss = _w2_loss(tl, layers, xs, ys)
        loss.backward()
        _sgd_step(tl, flat, lr)
        return (now() - t0,)

    (t,) = phase_medians(run_timed(step, p["warmup"], p["iters"]))
    return {"ms_per_step": t * 1e3}


# --------------------------------------------------------------------------------------
# W3: small MLP, batch 64, 784 -> 128 -> 10, relu, cross-entropy, manual SGD.
# --------------------------------------------------------------------------------------


def _w3_params(quick: bool) -> Params:
    if quick:
        return {
            "batch": 8,
            "d_in": 20,
            "hidden": 16,
            "classes": 5,
            "lr": 0.1,
            "warmup": 1,
            "iters": 3,
        }
    return {
        "batch": 64,
        "d_in": 784,
        "hidden": 128,
        "classes": 10,
        "lr": 0.1,
        "warmup": 20,
        "iters": 100,
    }


def _w3_inputs(p: Params, seed: int) -> Inputs:
    rng = _rng(seed, 3)
    return {
        "x": _normal(rng, (p["batch"], p["d_in"])),
        "y": rng.integers(0, p["classes"], p["batch"]).astype(np.int64),
        "w1": _normal(rng, (p["hidden"], p["d_in"]), 1.0 / math.sqrt(p["d_in"])),
        "b1": _normal(rng, (p["hidden"],), 0.01),
        "w2": _normal(rng, (p["classes"], p["hidden"]), 1.0 / math.sqrt(p["hidden"])),
        "b2": _normal(rng, (p["classes"],), 0.01),
    }


def _w3_setup(tl: Any, inputs: Inputs) -> Tuple[Any, Any, List[Any]]:
    x = to_tensor(tl, inputs["x"])
    y = to_tensor(tl, inputs["y"])
    params = [to_tensor(tl, inputs[k], requires_grad=True) for k in ("w1", "b1", "w2", "b2")]
    return x, y, params


def _w3_loss(tl: Any, x: Any, y: Any, params: List[Any]) -> Any:
    w1, b1, w2, b2 = params
    fn = tl.nn.functional
    h = fn.linear(x, w1, b1).relu()
    return fn.cross_entropy(fn.linear(h, w2, b2), y)


def _w3_check(tl: Any, inputs: Inputs, p: Params) -> CheckValues:
    x, y, params = _w3_setup(tl, inputs)
    loss = _w3_loss(tl, x, y, params)
    loss.backward()
    out: CheckValues = {"loss": float(loss.item())}
    for name, t in zip(("w1", "b1", "w2", "b2"), params):
        out[f"grad_{name}"] = to_numpy(t.grad)
    _sgd_step(tl, params, p["lr"])
    with tl.no_grad():
        out["loss_after_step"] = float(_w3_loss(tl, x, y, params).item())
    return out


def _w3_bench(tl: Any, p: Params, seed: int) -> Metrics:
    x, y, params = _w3_setup(tl, _w3_inputs(p, seed))
    lr = p["lr"]

    def step() -> Tuple[float]:
        t0 = now()
        loss = _w3_loss(tl, x, y, params)
        loss.backward()
        _sgd_step(tl, params, lr)
        return (now() - t0,)

    (t,) = phase_medians(run_timed(step, p["warmup"], p["iters"]))
    return {"ms_per_step": t * 1e3}


# --------------------------------------------------------------------------------------
# W4: large elementwise, ((x*w + b).tanh() * x).sum() over 10M float32.
# --------------------------------------------------------------------------------------

#: Compulsory memory traffic of W4 per element: read x, w, b once (3 x 4 B) and write
#: their three gradients once (3 x 4 B). A fully fused forward+backward would move
#: exactly this much; every extra pass over memory an engine makes lowers its GB/s.
W4_BYTES_PER_ELEMENT = 24


def _w4_params(quick: bool) -> Params:
    return {
        "n": 1000 if quick else 10_000_000,
        "warmup": 1,
        "iters": 2 if quick else 4,
        "copy_reps": 3 if quick else 10,
    }


def _w4_inputs(p: Params, seed: int) -> Inputs:
    rng = _rng(seed, 4)
    n = p["n"]
    return {"x": _normal(rng, (n,)), "w": _normal(rng, (n,)), "b": _normal(rng, (n,))}


def _w4_loss(x: Any, w: Any, b: Any) -> Any:
    return ((x * w + b).tanh() * x).sum()


def _w4_check(tl: Any, inputs: Inputs, p: Params) -> CheckValues:
    x, w, b = (to_tensor(tl, inputs[k], requires_grad=True) for k in ("x", "w", "b"))
    loss = _w4_loss(x, w, b)
    loss.backward()
    return {
        "loss": float(loss.item()),
        "grad_x": to_numpy(x.grad),
        "grad_w": to_numpy(w.grad),
        "grad_b": to_numpy(b.grad),
    }


def copy_bandwidth_gbs(n: int, reps: int) -> float:
    """Best-of-``reps`` numpy copy bandwidth of an ``n``-element float32 array, in GB/s.

    Bytes moved per copy are counted as read + write = 2 x 4 B x n (the STREAM "copy"
    convention; write-allocate traffic is not counted).
    """
    src = np.ones(n, dtype=np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # fault the pages in
    best = math.inf
    for _ in range(max(1, reps)):
        t0 = now()
        np.copyto(dst, src)
        best = min(best, now() - t0)
    return 2.0 * src.nbytes / best / 1e9


def _w4_bench(tl: Any, p: Params, seed: int) -> Metrics:
    n = p["n"]
    # Measured first and freed, so the copy buffers never add to the workload's peak RSS.
    copy_gbs = copy_bandwidth_gbs(n, p["copy_reps"])
    inputs = _w4_inputs(p, seed)
    x, w, b = (to_tensor(tl, inputs[k], requires_grad=True) for k in ("x", "w", "b"))
    del inputs

    def step() -> Tuple[float, float]:
        f0 = _minor_faults()
        t0 = now()
        loss = _w4_loss(x, w, b)
        loss.backward()
        t1 = now()
        return t1 - t0, float(_minor_faults() - f0)

    t, faults = phase_medians(run_timed(step, p["warmup"], p["iters"], lambda: _clear_grads([x, w, b])))
    gbs = W4_BYTES_PER_ELEMENT * n / t / 1e9
    return {"ms": t * 1e3, "gbs": gbs, "copy_gbs": copy_gbs, "frac_copy_bw": gbs / copy_gbs, "faults": faults}


def _minor_faults() -> int:
    """Page faults of this process so far (fresh pages the kernel had to map and zero)."""
    try:
        import resource
    except ImportError:  # not on POSIX
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


# --------------------------------------------------------------------------------------
# W5: matmul, (A @ B).tanh().sum() with grads for A and B, against numpy's A @ B.
# --------------------------------------------------------------------------------------


def _w5_params(quick: bool) -> Params:
    return {"n": 64 if quick else 1024, "warmup": 1, "iters": 2 if quick else 6}


def _w5_inputs(p: Params, seed: int) -> Inputs:
    rng = _rng(seed, 5)
    n = p["n"]
    return {"a": _normal(rng, (n, n), 1.0 / math.sqrt(n)), "b": _normal(rng, (n, n))}


def _w5_check(tl: Any, inputs: Inputs, p: Params) -> CheckValues:
    a = to_tensor(tl, inputs["a"], requires_grad=True)
    b = to_tensor(tl, inputs["b"], requires_grad=True)
    loss = (a @ b).tanh().sum()
    loss.backward()
    return {"loss": float(loss.item()), "grad_a": to_numpy(a.grad), "grad_b": to_numpy(b.grad)}


def _w5_bench(tl: Any, p: Params, seed: int) -> Metrics:
    n = p["n"]
    inputs = _w5_inputs(p, seed)
    a_np, b_np = inputs["a"], inputs["b"]
    a = to_tensor(tl, a_np, requires_grad=True)
    b = to_tensor(tl, b_np, requires_grad=True)

    def step() -> Tuple[float, float]:
        t0 = now()
        loss = (a @ b).tanh().sum()
        loss.backward()
        t1 = now()
        c = a_np @ b_np  # numpy reference, interleaved with the workload
        t2 = now()
        del c
        return t1 - t0, t2 - t1

    t, t_np = phase_medians(run_timed(step, p["warmup"], p["iters"], lambda: _clear_grads([a, b])))
    flops = 6.0 * n**3  # forward A@B, backward dA = G@B^T and dB = A^T@G
    return {
        "ms": t * 1e3,
        "gflops": flops / t / 1e9,
        "numpy_ms": t_np * 1e3,
        "numpy_gflops": 2.0 * n**3 / t_np / 1e9,
        "vs_numpy": 3.0 * t_np / t,
    }


# --------------------------------------------------------------------------------------
# W6: deep chain, 1,000,000 sequential 0-d ops, then backward.
# --------------------------------------------------------------------------------------

W6_FACTOR = 1.0000001


def _w6_params(quick: bool) -> Params:
    return {"n_ops": 1000 if quick else 1_000_000, "warmup_ops": 100 if quick else 10_000}


def _w6_inputs(p: Params, seed: int) -> Inputs:
    return {"x0": np.array(1.0, dtype=np.float32)}


def _w6_chain(x: Any, n_ops: int) -> Any:
    """``n_ops`` ops: ``n_ops / 2`` rounds of ``x = x * 1.0000001 + 0.0``."""
    for _ in range(n_ops // 2):
        x = x * W6_FACTOR + 0.0
    return x


def _w6_check(tl: Any, inputs: Inputs, p: Params) -> CheckValues:
    x0 = scalar_leaf(tl, float(inputs["x0"]))
    x = _w6_chain(x0, p["n_ops"])
    x.backward()
    return {"x": float(x.item()), "grad_x0": float(x0.grad.item())}


def _w6_bench(tl: Any, p: Params, seed: int) -> Metrics:
    x0_val = float(_w6_inputs(p, seed)["x0"])
    warm = scalar_leaf(tl, x0_val)
    _w6_chain(warm, p["warmup_ops"]).backward()
    del warm

    x0 = scalar_leaf(tl, x0_val)
    t0 = now()
    x = _w6_chain(x0, p["n_ops"])
    t1 = now()
    x.backward()
    t2 = now()
    del x  # releases the whole chain; must not overflow the stack
    t3 = now()
    return {"fwd_s": t1 - t0, "bwd_s": t2 - t1, "free_s": t3 - t2}


# --------------------------------------------------------------------------------------
# W7: Hessian-vector product through double backward.
# --------------------------------------------------------------------------------------


def _w7_params(quick: bool) -> Params:
    return {"n": 16 if quick else 512, "warmup": 1 if quick else 5, "iters": 2 if quick else 50}


def _w7_inputs(p: Params, seed: int) -> Inputs:
    rng = _rng(seed, 7)
    n = p["n"]
    return {
        "w": _normal(rng, (n, n), 1.0 / math.sqrt(n)),
        "x": _normal(rng, (n,)),
        "v": _normal(rng, (n,)),
    }


def _w7_hvp(tl: Any, w: Any, x: Any, v: Any) -> Tuple[Any, Any, Any]:
    """Return ``f``, ``g = df/dx`` and ``H v`` for ``f = sum(tanh(W @ x))``."""
    f = tl.tanh(w @ x).sum()
    (g,) = tl.autograd.grad(f, x, create_graph=True)
    (hv,) = tl.autograd.grad(g @ v, x)
    return f, g, hv


def _w7_setup(tl: Any, inputs: Inputs) -> Tuple[Any, Any, Any]:
    return (
        to_tensor(tl, inputs["w"]),
        to_tensor(tl, inputs["x"], requires_grad=True),
        to_tensor(tl, inputs["v"]),
    )


def _w7_check(tl: Any, inputs: Inputs, p: Params) -> CheckValues:
    f, g, hv = _w7_hvp(tl, *_w7_setup(tl, inputs))
    return {"f": float(f.item()), "grad": to_numpy(g), "hvp": to_numpy(hv)}


def _w7_bench(tl: Any, p: Params, seed: int) -> Metrics:
    w, x, v = _w7_setup(tl, _w7_inputs(p, seed))

    def step() -> Tuple[float]:
        t0 = now()
        _w7_hvp(tl, w, x, v)
        return (now() - t0,)

    (t,) = phase_medians(run_timed(step, p["warmup"], p["iters"]))
    return {"ms_per_hvp": t * 1e3}


# --------------------------------------------------------------------------------------
# W8: memory of forward + backward through a 20-layer, 1024-wide MLP, batch 256.
# --------------------------------------------------------------------------------------


def _w8_params(quick: bool) -> Params:
    if quick:
        return {"layers": 3, "width": 16, "batch": 4, "warmup": 1, "iters": 1}
    return {"layers": 20, "width": 1024, "batch": 256, "warmup": 1, "iters": 1}


def _w8_arrays(p: Params, seed: int) -> Iterator[Tuple[str, np.ndarray]]:
    """Yield the inputs one array at a time (so the benchmark never holds all of them)."""
    rng = _rng(seed, 8)
    width = p["width"]
    yield "x", _normal(rng, (p["batch"], width))
    for i in range(p["layers"]):
        yield f"w{i}", _normal(rng, (width, width), math.sqrt(2.0 / width))
        yield f"b{i}", _normal(rng, (width,), 0.01)


def _w8_inputs(p: Params, seed: int) -> Inputs:
    return dict(_w8_arrays(p, seed))


def _w8_setup(tl: Any, arrays: Iterator[Tuple[str, np.ndarray]]) -> Tuple[Any, List[Any]]:
    x = None
    params: List[Any] = []
    for name, arr in arrays:
        if name == "x":
            x = to_tensor(tl, arr)
        else:
            params.append(to_tensor(tl, arr, requires_grad=True))
    return x, params


def _w8_loss(tl: Any, x: Any, params: List[Any]) -> Any:
    fn = tl.nn.functional
    h = x
    n_layers = len(params) // 2
    for i in range(n_layers):
        h = fn.linear(h, params[2 * i], params[2 * i + 1])
        if i < n_layers - 1:
            h = h.relu()
    return (h**2).mean()


def _w8_check(tl: Any, inputs: Inputs, p: Params) -> CheckValues:
    x, params = _w8_setup(tl, iter(inputs.items()))
    loss = _w8_loss(tl, x, params)
    loss.backward()
    return {
        "loss": float(loss.item()),
        "grad_w0": to_numpy(params[0].grad),
        "grad_b0": to_numpy(params[1].grad),
        "grad_w_last": to_numpy(params[-2].grad),
    }


def _w8_bench(tl: Any, p: Params, seed: int) -> Metrics:
    x, params = _w8_setup(tl, _w8_arrays(p, seed))

    def step() -> Tuple[float]:
        t0 = now()
        loss = _w8_loss(tl, x, params)
        loss.backward()
        return (now() - t0,)

    (t,) = phase_medians(run_timed(step, p["warmup"], p["iters"], lambda: _clear_grads(params)))
    return {"ms": t * 1e3}


# --------------------------------------------------------------------------------------
# W9: transcendentals, tanh/exp/log/sigmoid over 10M float32, against numpy in-process.
# --------------------------------------------------------------------------------------

W9_FUNCTIONS = ("tanh", "exp", "log", "sigmoid")


def _w9_params(quick: bool) -> Params:
    return {"n": 1000 if quick else 10_000_000, "warmup": 1, "iters": 3 if quick else 9}


def _w9_inputs(p: Params, seed: int) -> Inputs:
    x = _normal(_rng(seed, 9), (p["n"],), 3.0)
    return {"x": x, "pos": np.abs(x) + np.float32(1e-3)}  # log's input is positive


def _w9_numpy(name: str) -> Callable[[np.ndarray], np.ndarray]:
    if name == "sigmoid":  # numpy has none: the usual expression
        return lambda a: 1.0 / (1.0 + np.exp(-a))
    return getattr(np, name)


def _w9_check(tl: Any, inputs: Inputs, p: Params) -> CheckValues:
    out: CheckValues = {}
    for name in W9_FUNCTIONS:
        x = to_tensor(tl, inputs["pos" if name == "log" else "x"])
        out[name] = to_numpy(getattr(tl, name)(x))
    return out


def _w9_bench(tl: Any, p: Params, seed: int) -> Metrics:
    inputs = _w9_inputs(p, seed)
    metrics: Metrics = {}
    for name in W9_FUNCTIONS:
        a = inputs["pos" if name == "log" else "x"]
        x = to_tensor(tl, a)
        fn, np_fn = getattr(tl, name), _w9_numpy(name)

        def step(fn: Any = fn, x: Any = x, np_fn: Any = np_fn, a: np.ndarray = a) -> Tuple[float, float]:
            t0 = now()
            y = fn(x)
            t1 = now()
            del y
            t2 = now()
            z = np_fn(a)  # numpy, allocating its result like the system does
            t3 = now()
            del z
            return t1 - t0, t3 - t2

        t, t_np = phase_medians(run_timed(step, p["warmup"], p["iters"]))
        metrics[f"{name}_ms"] = t * 1e3
        metrics[f"{name}_vs_numpy"] = t_np / t
    return metrics


# --------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------

WORKLOADS: Dict[str, Workload] = {
    w.key: w
    for w in (
        Workload(
            "W1",
            "tiny ops",
            "0-d graph of 2,000 mixed ops (add, mul, tanh, pow, sub), then backward",
            (Metric("fwd_us_per_op", "forward µs/op"), Metric("bwd_us_per_op", "backward µs/op")),
            _w1_params,
            _w1_inputs,
            _w1_check,
            _w1_bench,
        ),
        Workload(
            "W2",
            "scalar MLP",
            "micrograd-style 2-16-16-1 MLP of 0-d weights, 100 two-moons points, SGD step",
            (Metric("ms_per_step", "ms/step"),),
            _w2_params,
            _w2_inputs,
            _w2_check,
            _w2_bench,
        ),
        Workload(
            "W3",
            "small MLP",
            "batch 64, 784-128-10, relu, cross-entropy, backward, manual SGD under no_grad",
            (Metric("ms_per_step", "ms/step"),),
            _w3_params,
            _w3_inputs,
            _w3_check,
            _w3_bench,
            variants=(Variant("1 thread", 1), Variant("2 threads", 2)),
        ),
        Workload(
            "W4",
            "large elementwise",
            "((x*w + b).tanh() * x).sum() over 10M float32, forward + backward",
            (
                Metric("ms", "ms fwd+bwd"),
                Metric("gbs", "GB/s (24 B/elem)", "higher"),
                Metric("frac_copy_bw", "fraction of copy BW", "higher"),
                Metric("copy_gbs", "numpy copy GB/s (ref.)", "higher", reference=True),
                Metric("faults", "page faults/step"),
            ),
            _w4_params,
            _w4_inputs,
            _w4_check,
            _w4_bench,
        ),
        Workload(
            "W5",
            "matmul",
            "(A@B).tanh().sum(), 1024x1024 float32, grads for A and B",
            (
                Metric("ms", "ms fwd+bwd"),
                Metric("gflops", "GFLOP/s (6n³)", "higher"),
                Metric("vs_numpy", "× numpy (3·t_np/t)", "higher"),
                Metric("numpy_gflops", "numpy A@B GFLOP/s (ref.)", "higher", reference=True),
            ),
            _w5_params,
            _w5_inputs,
            _w5_check,
            _w5_bench,
        ),
        Workload(
            "W6",
            "deep chain",
            "1,000,000 sequential 0-d ops (x = x * 1.0000001 + 0.0), then backward",
            (
                Metric("fwd_s", "forward s"),
                Metric("bwd_s", "backward s"),
                Metric("free_s", "free graph s"),
            ),
            _w6_params,
            _w6_inputs,
            _w6_check,
            _w6_bench,
            show_rss=True,
        ),
        Workload(
            "W7",
            "Hessian-vector product",
            "f = sum(tanh(W@x)), n=512; grad(grad(f, x, create_graph=True) @ v, x)",
            (Metric("ms_per_hvp", "ms/hvp"),),
            _w7_params,
            _w7_inputs,
            _w7_check,
            _w7_bench,
        ),
        Workload(
            "W8",
            "memory",
            "forward + backward of a 20-layer MLP, width 1024, batch 256, float32",
            (Metric("ms", "ms fwd+bwd"),),
            _w8_params,
            _w8_inputs,
            _w8_check,
            _w8_bench,
            show_rss=True,
        ),
        Workload(
            "W9",
            "transcendentals",
            "tanh, exp, log, sigmoid over 10M float32 (no grad), numpy timed in the same process",
            tuple(
                m
                for name in W9_FUNCTIONS
                for m in (
                    Metric(f"{name}_ms", f"{name} ms"),
                    Metric(f"{name}_vs_numpy", f"{name} × numpy (t_np/t)", "higher"),
                )
            ),
            _w9_params,
            _w9_inputs,
            _w9_check,
            _w9_bench,
        ),
    )
}


def select(only: Optional[str]) -> List[Workload]:
    """Resolve a ``--only`` value such as ``"W1,w3"`` (``None`` selects everything)."""
    if not only:
        return list(WORKLOADS.values())
    chosen: List[Workload] = []
    for raw in only.split(","):
        key = raw.strip().upper()
        if not key:
            continue
        if key not in WORKLOADS:
            raise KeyError(f"unknown workload {raw.strip()!r}; choose from {', '.join(WORKLOADS)}")
        if WORKLOADS[key] not in chosen:
            chosen.append(WORKLOADS[key])
    return chosen
