"""The bad-argument classes of issue 11 that the fuzz suite found, one representative each,
compared with PyTorch: dtype-dispatch failures (NotImplementedError), float-only ops on integer
input, bool max/min, empty reductions, non-differentiable class weights, loss dtype mixes."""

from __future__ import annotations

from typing import Any, Callable

import chaingrad
import numpy as np
import pytest

torch = pytest.importorskip("torch")

B = np.array([True, False, True])
L = np.array([1, -2, 3])
F32 = np.array([0.25, 0.5, 0.75], dtype=np.float32)
F64 = np.array([0.3, 0.6, 0.9])
E = np.zeros((0, 3))


def _t(lib: Any, a: np.ndarray, grad: bool = False) -> Any:
    t = lib.from_numpy(np.array(a, copy=True))
    return t.requires_grad_() if grad else t


CASES = {
    "abs_bool": lambda lib: lib.abs(_t(lib, B)),
    "silu_long": lambda lib: lib.nn.functional.silu(_t(lib, L)),
    "gelu_bool": lambda lib: lib.nn.functional.gelu(_t(lib, B)),
    "softplus_long": lambda lib: lib.nn.functional.softplus(_t(lib, L)),
    "elu_long": lambda lib: lib.nn.functional.elu(_t(lib, L)),
    "leaky_relu_bool": lambda lib: lib.nn.functional.leaky_relu(_t(lib, B)),
    "softmax_long": lambda lib: lib.softmax(_t(lib, L), 0),
    "log_softmax_bool": lambda lib: lib.log_softmax(_t(lib, B), 0),
    "softmax_0d_dim": lambda lib: lib.softmax(_t(lib, np.array(1.0)), 1),
    "cross_entropy_long": lambda lib: lib.nn.functional.cross_entropy(_t(lib, L.reshape(1, 3)), _t(lib, np.array([0]))),
    "bmm_bool": lambda lib: lib.bmm(_t(lib, B.reshape(1, 1, 3)), _t(lib, F64.reshape(1, 3, 1))),
    "sigmoid_long": lambda lib: lib.sigmoid(_t(lib, L)),
    "amax_bool": lambda lib: lib.amax(_t(lib, B)),
    "min_bool": lambda lib: lib.min(_t(lib, B)),
    "max_bool_dim": lambda lib: lib.max(_t(lib, B), 0)[0],
    "amin_empty": lambda lib: lib.amin(_t(lib, E)),
    "amax_empty_dim0": lambda lib: lib.amax(_t(lib, E), 0),
    "max_empty": lambda lib: lib.max(_t(lib, E)),
    "norm_inf_empty": lambda lib: _t(lib, E).norm(float("inf")),
    "chunk_empty": lambda lib: len(_t(lib, E).chunk(2)),
    "nll_weight_grad": lambda lib: lib.nn.functional.nll_loss(
        _t(lib, np.zeros((2, 3)), True), _t(lib, np.array([0, 1])), weight=_t(lib, np.ones(3), True)),
    "bce_logits_pos_weight_grad": lambda lib: lib.nn.functional.binary_cross_entropy_with_logits(
        _t(lib, F64), _t(lib, F64), pos_weight=_t(lib, np.ones(3), True)),
    "mse_bool_float": lambda lib: lib.nn.functional.mse_loss(_t(lib, B), _t(lib, F32)),
    "mse_bool_bool": lambda lib: lib.nn.functional.mse_loss(_t(lib, B), _t(lib, B)),
    "huber_long_float": lambda lib: lib.nn.functional.huber_loss(_t(lib, L), _t(lib, F32)),
    "bce_float_double": lambda lib: lib.nn.functional.binary_cross_entropy(_t(lib, F32), _t(lib, F64)),
    "bce_logits_double_float": lambda lib: lib.nn.functional.binary_cross_entropy_with_logits(
        _t(lib, F64), _t(lib, F32)),
    "topk_bool": lambda lib: lib.topk(_t(lib, B), 1)[0],
}


def _outcome(f: Callable[[], Any]) -> Any:
    try:
        return "ok", f()
    except Exception as e:  # noqa: BLE001 - the exception class is what is compared
        return type(e), str(e)


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_outcome_as_torch(name: str) -> None:
    (kc, vc), (kt, vt) = _outcome(lambda: CASES[name](chaingrad)), _outcome(lambda: CASES[name](torch))
    if kt == "ok":
        assert kc == "ok", vc
        if isinstance(vt, int):
            assert vc == vt
            return
        assert str(vc.dtype).rsplit(".")[-1] == str(vt.dtype).rsplit(".")[-1]
        np.testing.assert_allclose(vc.detach().numpy(), vt.detach().numpy(), rtol=1e-5, atol=1e-6)
    else:
        assert kc != "ok", f"chaingrad returned, torch raised {kt.__name__}: {vt}"
        assert kc.__name__ == kt.__name__ or issubclass(kc, kt), (kc, kt, vc)
        assert vc.split("\n")[0] == vt.split("\n")[0]
