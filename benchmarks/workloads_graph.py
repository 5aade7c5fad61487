"""The graph-bound workloads: W1 tiny ops, W2 scalar MLP, W3 small MLP, W6 deep chain, W7
Hessian-vector product (per-op and per-node costs). Registered in ``benchmarks.workloads``."""

from __future__ import annotations

import math
from typing import Any, List, Tuple

import numpy as np

from benchmarks.common import now, phase_medians, run_timed, scalar_leaf, to_numpy, to_tensor
from benchmarks.workloads import CheckValues, Inputs, Metrics, Params, _clear_grads, _normal, _rng, _sgd_step

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
