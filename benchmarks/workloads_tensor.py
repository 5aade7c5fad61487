"""The large-tensor workloads: W4 elementwise, W5 matmul, W8 memory, W9 transcendentals (memory
bandwidth, BLAS and vectorised kernels). Registered in ``benchmarks.workloads``."""

from __future__ import annotations

import math
from typing import Any, Callable, Iterator, List, Tuple

import numpy as np

from benchmarks.common import now, phase_medians, run_timed, to_numpy, to_tensor
from benchmarks.workloads import CheckValues, Inputs, Metrics, Params, _clear_grads, _normal, _rng

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
