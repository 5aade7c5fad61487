"""Finite-difference checks of analytical gradients: ``gradcheck`` and ``gradgradcheck``."""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import numpy as np

import chaingrad

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]


class GradcheckError(RuntimeError):
    """Raised when analytical and numerical Jacobians disagree."""


def _tuple(x: Any) -> Tuple:
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


def _differentiable_outputs(fn: Callable, inputs: Tuple) -> Tuple:
    return tuple(o for o in _tuple(fn(*inputs)) if isinstance(o, chaingrad.Tensor) and o.requires_grad)


def _differentiable_positions(fn: Callable, inputs: Tuple) -> List[int]:
    """Positions (among all outputs) of the outputs that require grad: the ones both Jacobians cover."""
    return [k for k, o in enumerate(_tuple(fn(*inputs))) if isinstance(o, chaingrad.Tensor) and o.requires_grad]


def _numerical_jacobian(fn: Callable, inputs: Tuple, eps: float, positions: List[int]) -> List[List[np.ndarray]]:
    """J[i][j]: d output_j / d input_i as a (numel_in, numel_out) array, by central differences.

    Each input is perturbed in place through a detached alias, so non-contiguous inputs keep
    their layout (a reshape would copy them and the perturbation would be lost)."""

    def evaluate() -> List[np.ndarray]:
        outs = _tuple(fn(*inputs))
        return [outs[k].detach().double().numpy().ravel().copy() for k in positions]

    # Evaluated with grad mode on: the function may differentiate internally (gradgradcheck).
    base = evaluate()
    jac: List[List[np.ndarray]] = []
    for x in inputs:
        if not (isinstance(x, chaingrad.Tensor) and x.requires_grad):
            jac.append([])
            continue
        cols = [np.zeros((x.numel(), o.size)) for o in base]
        alias = x.detach()
        shape = tuple(x.shape)
        for k in range(x.numel()):
            idx = np.unravel_index(k, shape) if shape else ()
            idx = tuple(int(i) for i in idx)
            orig = alias[idx].item()
            alias[idx] = orig + eps
            plus = evaluate()
            alias[idx] = orig - eps
            minus = evaluate()
            alias[idx] = orig
            for j in range(len(base)):
                cols[j][k] = (plus[j] - minus[j]) / (2 * eps)
        jac.append(cols)
    return jac


def _analytical_jacobian(fn: Callable, inputs: Tuple) -> List[List[np.ndarray]]:
    outs = _differentiable_outputs(fn, inputs)
    diff_inputs = [x for x in inputs if isinstance(x, chaingrad.Tensor) and x.requires_grad]
    jac = [[np.zeros((x.numel(), o.numel())) for o in outs] if isinstance(x, chaingrad.Tensor) and x.requires_grad
           else [] for x in inputs]
    for j, o in enumerate(outs):
        for m in range(o.numel()):
            go = chaingrad.zeros_like(o).reshape(-1)
            go[m] = 1.0
            grads = chaingrad.autograd.grad(o, diff_inputs, go.reshape(o.shape), retain_graph=True, allow_unused=True)
            gi = 0
            for i, x in enumerate(inputs):
                if isinstance(x, chaingrad.Tensor) and x.requires_grad:
                    g = grads[gi]
                    gi += 1
                    if g is not None:
                        if tuple(g.shape) != tuple(x.shape) or g.dtype != x.dtype:
                            raise GradcheckError(f"Gradient for input {i} has shape {tuple(g.shape)} and dtype "
                                                 f"{g.dtype}; expected {tuple(x.shape)} and {x.dtype}")
                        jac[i][j][:, m] = g.detach().double().numpy().ravel()
    return jac


def gradcheck(
    func: Callable,
    inputs: Union[chaingrad.Tensor, Sequence[Any]],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    **unused: Any,
) -> bool:
    """Compares ``func``'s analytical Jacobian against central finite differences.

    Inputs that require grad should be float64. On a mismatch, the report names the input,
    output and the worst element with both values.
    """
    ins = _tuple(inputs)
    for x in ins:
        if isinstance(x, chaingrad.Tensor) and x.requires_grad and x.dtype != chaingrad.float64:
            import warnings

            warnings.warn("Input #0 requires gradient and is not a double precision floating point. "
                          "This check will likely fail if all the inputs are not of double precision "
                          "floating point.", stacklevel=2)
    num = _numerical_jacobian(func, ins, eps, _differentiable_positions(func, ins))
    ana = _analytical_jacobian(func, ins)
    for i, (n_cols, a_cols) in enumerate(zip(num, ana)):
        for j, (n, a) in enumerate(zip(n_cols, a_cols)):
            if n.size == 0:
                continue
            diff = np.abs(n - a)
            tol = atol + rtol * np.abs(n)
            if not np.all(diff <= tol):
                k = np.unravel_index(np.argmax(diff - tol), diff.shape)
                msg = (f"Jacobian mismatch for output {j} with respect to input {i},\n"
                       f"numerical:{n!r}\nanalytical:{a!r}\n"
                       f"worst element: input index {k[0]}, output index {k[1]}: numerical {n[k]:.8g}, "
                       f"analytical {a[k]:.8g}, difference {diff[k]:.3g}\n")
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True


def gradgradcheck(
    func: Callable,
    inputs: Union[chaingrad.Tensor, Sequence[Any]],
    grad_outputs: Optional[Sequence[Any]] = None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    **unused: Any,
) -> bool:
    """Checks second derivatives: gradcheck of the map (inputs, v) -> vJ, with v random."""
    ins = _tuple(inputs)
    outs = _differentiable_outputs(func, ins)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = [chaingrad.tensor(np.asarray(rng.standard_normal(tuple(o.shape))).tolist(), dtype=o.dtype,
                                         requires_grad=True) for o in outs]
    n_in = len(ins)
    diff_idx = [i for i, x in enumerate(ins) if isinstance(x, chaingrad.Tensor) and x.requires_grad]

    def first_grad(*args: Any) -> Tuple:
        # The first derivative needs a graph even when called for the finite differences.
        with chaingrad.enable_grad():
            xs, vs = args[:n_in], args[n_in:]
            os_ = _differentiable_outputs(func, xs)
            gs = chaingrad.autograd.grad(os_, [xs[i] for i in diff_idx], vs, create_graph=True,
                                         materialize_grads=True)
            return tuple(gs)

    return gradcheck(first_grad, tuple(ins) + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
