"""Issue 11's leftover classes, each checked against PyTorch 2.13 on the cases that found them:
the outcome (a value, or the exception type and message) of every snippet must match.

* sliding windows (pooling, conv, unfold/fold, pad) on empty inputs and every dtype;
* kernels handed storage dtypes (int8..int32, uint8, float16, bfloat16) widen them;
* index dtypes (int32 where PyTorch takes it) and index-op messages (embedding, index_add, ...);
* linear / layer_norm / conv dtype mismatches; bool kernels PyTorch lacks (trace, pow, remainder);
* setitem through an advanced index with a value of another dtype;
* sort / topk tie order as PyTorch's CPU kernels give it;
* the fused loss kernels of ``chaingrad._C`` validate like the public functions.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Tuple

import chaingrad
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("chaingrad._C")

DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64")


def _F(L: Any) -> Any:
    return L.nn.functional


def _ones(L: Any, shape: Tuple[int, ...], dtype: str) -> Any:
    return L.ones(shape).to(getattr(L, dtype))


# name -> f(L, dtype): one call per dtype.
BY_DTYPE: Dict[str, Callable[[Any, str], Any]] = {
    "max_pool1d": lambda L, d: _F(L).max_pool1d(_ones(L, (2, 3, 4), d), 2),
    "max_pool1d.indices": lambda L, d: _F(L).max_pool1d(_ones(L, (2, 3, 4), d), 2, return_indices=True),
    "max_pool2d": lambda L, d: _F(L).max_pool2d(_ones(L, (2, 3, 4, 4), d), 2),
    "avg_pool1d": lambda L, d: _F(L).avg_pool1d(_ones(L, (2, 3, 4), d), 2),
    "avg_pool2d": lambda L, d: _F(L).avg_pool2d(_ones(L, (2, 3, 4, 4), d), 2),
    "unfold": lambda L, d: _F(L).unfold(_ones(L, (2, 3, 4, 4), d), 2),
    "fold": lambda L, d: _F(L).fold(_ones(L, (2, 12, 4), d), (3, 3), 2),
    "pad.constant": lambda L, d: _F(L).pad(_ones(L, (2, 3, 4), d), (1, 1), value=2),
    "pad.reflect": lambda L, d: _F(L).pad(_ones(L, (2, 3, 4), d), (1, 1), mode="reflect"),
    "pad.replicate2d": lambda L, d: _F(L).pad(_ones(L, (1, 2, 3, 4), d), (1, 1, 1, 0), mode="replicate"),
    "pad.circular": lambda L, d: _F(L).pad(_ones(L, (2, 3, 4), d), (1, 1), mode="circular"),
    "trace": lambda L, d: L.trace(_ones(L, (3, 3), d)),
    "conv1d": lambda L, d: _F(L).conv1d(_ones(L, (2, 3, 5), d), _ones(L, (2, 3, 2), d)),
    "conv2d": lambda L, d: _F(L).conv2d(_ones(L, (2, 3, 4, 4), d), _ones(L, (2, 3, 2, 2), d), _ones(L, (2,), d)),
    "sort": lambda L, d: L.sort(_ones(L, (2, 5), d), dim=1),
    "topk": lambda L, d: L.topk(_ones(L, (2, 5), d), 2),
    "pow.tensor": lambda L, d: L.pow(_ones(L, (3,), d), _ones(L, (3,), d)),
    "remainder": lambda L, d: L.remainder(_ones(L, (3,), d), _ones(L, (3,), d)),
    "floor_divide": lambda L, d: _ones(L, (3,), d) // _ones(L, (3,), d),
    "layer_norm": lambda L, d: _F(L).layer_norm(_ones(L, (2, 4), d), (4,)),
    "embedding.index": lambda L, d: _F(L).embedding(L.tensor([0, 1]).to(getattr(L, d)), L.ones(5, 3)),
    "index_select.index": lambda L, d: L.index_select(L.ones(5, 3), 0, L.tensor([0, 1]).to(getattr(L, d))),
    "index_add.index": lambda L, d: L.ones(5, 3).index_add(0, L.tensor([0, 1]).to(getattr(L, d)), L.ones(2, 3)),
    "gather.index": lambda L, d: L.gather(L.ones(5, 3), 0, L.tensor([[0, 1, 0]]).to(getattr(L, d))),
    "scatter_add.index": lambda L, d: L.zeros(5, 3).scatter_add(0, L.tensor([[0, 1, 0]]).to(getattr(L, d)),
                                                                L.ones(1, 3)),
    "getitem.index": lambda L, d: L.ones(5, 3)[L.tensor([0, 1]).to(getattr(L, d))],
    "nll_loss.target": lambda L, d: _F(L).nll_loss(L.ones(2, 3), L.tensor([0, 1]).to(getattr(L, d))),
}


def _name(t: Any) -> str:
    return str(t).replace("chaingrad.", "torch.")


def _outcome(f: Callable[[], Any]) -> Tuple[str, Any]:
    try:
        r = f()
    except Exception as e:  # noqa: BLE001 - the class and message are what is compared
        return type(e).__name__ if type(e).__module__ == "builtins" else type(e).__mro__[1].__name__, \
            _name(str(e).split("\n")[0])
    rs = r if isinstance(r, tuple) else (r,)
    return "ok", [(_name(x.dtype), tuple(x.shape), np.asarray(x.float().detach().numpy()).tolist()) for x in rs]


def _same(f: Callable[[Any], Any]) -> None:
    got, want = _outcome(lambda: f(chaingrad)), _outcome(lambda: f(torch))
    if got[0] != "ok" or want[0] != "ok":
        assert got == want
        return
    assert [r[:2] for r in got[1]] == [r[:2] for r in want[1]]
    for (_, _, a), (_, _, b) in zip(got[1], want[1]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(BY_DTYPE))
def test_dtype_matches_pytorch(name: str, dtype: str) -> None:
    _same(lambda L: BY_DTYPE[name](L, dtype))


def _z(L: Any, *shape: int) -> Any:
    return L.zeros(shape, dtype=L.float64)


# Shapes with empty dims: PyTorch lets the batch dim be empty and no other.
CASES: Dict[str, Callable[[Any], Any]] = {
    "max_pool2d.empty_batch": lambda L: _F(L).max_pool2d(_z(L, 0, 2, 4, 4), 2),
    "max_pool2d.empty_channels": lambda L: _F(L).max_pool2d(_z(L, 2, 0, 4, 4), 2),
    "max_pool2d.empty_3d": lambda L: _F(L).max_pool2d(_z(L, 0, 4, 4), 2),
    "avg_pool2d.empty_batch": lambda L: _F(L).avg_pool2d(_z(L, 0, 2, 4, 4), 2),
    "avg_pool2d.empty_height": lambda L: _F(L).avg_pool2d(_z(L, 2, 2, 0, 4), 2),
    "max_pool1d.empty_batch": lambda L: _F(L).max_pool1d(_z(L, 0, 3, 8), 2),
    "max_pool1d.empty_channels": lambda L: _F(L).max_pool1d(_z(L, 2, 0, 8), 2),
    "avg_pool1d.empty_length": lambda L: _F(L).avg_pool1d(_z(L, 2, 3, 0), 2),
    "conv1d.empty_weight": lambda L: _F(L).conv1d(_z(L, 0, 3, 5), _z(L, 0, 3, 2)),
    "conv1d.empty_weight_groups": lambda L: _F(L).conv1d(_z(L, 0, 4, 5), _z(L, 0, 1, 2), groups=4),
    "conv1d.indivisible_groups": lambda L: _F(L).conv1d(_z(L, 1, 2, 5), _z(L, 3, 1, 2), groups=2),
    "conv1d.empty_batch": lambda L: _F(L).conv1d(_z(L, 0, 3, 5), _z(L, 2, 3, 2)),
    "conv2d.bool_input": lambda L: _F(L).conv2d(L.ones(1, 3, 4, 4, dtype=L.bool), _z(L, 2, 3, 2, 2)),
    "conv2d.long_input": lambda L: _F(L).conv2d(L.ones(1, 3, 4, 4, dtype=L.int64), _z(L, 2, 3, 2, 2)),
    "conv2d.long_weight": lambda L: _F(L).conv2d(_z(L, 1, 3, 4, 4), L.ones(2, 3, 2, 2, dtype=L.int64)),
    # (PyTorch words this one differently for a batch of 1, where it takes another kernel)
    "conv2d.float_double": lambda L: _F(L).conv2d(L.ones(2, 3, 4, 4), _z(L, 2, 3, 2, 2)),
    "conv2d.bool_bias": lambda L: _F(L).conv2d(_z(L, 1, 3, 4, 4), _z(L, 2, 3, 2, 2), L.ones(2, dtype=L.bool)),
    "unfold.empty_batch": lambda L: _F(L).unfold(_z(L, 0, 3, 5, 4), 2),
    "unfold.empty_3d": lambda L: _F(L).unfold(_z(L, 0, 5, 4), 2),
    "unfold.empty_channels": lambda L: _F(L).unfold(_z(L, 2, 0, 5, 4), 2),
    "fold.empty_batch": lambda L: _F(L).fold(_z(L, 0, 12, 4), (3, 3), 2),
    "fold.empty_2d": lambda L: _F(L).fold(_z(L, 0, 15), (3, 3), 2),
    "fold.empty_blocks": lambda L: _F(L).fold(_z(L, 2, 12, 0), (3, 3), 2),
    "pad.reflect.empty_batch": lambda L: _F(L).pad(_z(L, 0, 3, 5), (2, 1), mode="reflect"),
    "pad.reflect.empty_2d": lambda L: _F(L).pad(_z(L, 0, 5), (2, 1), mode="reflect"),
    "pad.replicate.empty_channels": lambda L: _F(L).pad(_z(L, 3, 0, 5), (2, 1), mode="replicate"),
    "pad.replicate.unbatched_empty": lambda L: _F(L).pad(_z(L, 0, 4, 5), (1, 2, 3, 0), mode="replicate"),
    "pad.circular.empty": lambda L: _F(L).pad(_z(L, 3, 0, 5), (2, 1), mode="circular"),
    "embedding.empty_weight": lambda L: _F(L).embedding(L.tensor([0, 1]), _z(L, 0, 3)),
    "embedding.bool_index": lambda L: _F(L).embedding(L.tensor([True]), _z(L, 5, 3)),
    "index_copy.int32": lambda L: _z(L, 5, 3).index_copy(0, L.tensor([0, 1], dtype=L.int32), _z(L, 2, 3)),
    "linear.1d_mixed_bias": lambda L: _F(L).linear(L.ones(3), _z(L, 4, 3), _z(L, 4)),
    "linear.3d_bias_dtype": lambda L: _F(L).linear(_z(L, 2, 2, 3), _z(L, 4, 3), L.ones(4)),
    "linear.1d_long_bias": lambda L: _F(L).linear(_z(L, 3), _z(L, 4, 3), L.ones(4, dtype=L.int64)),
    "matmul.bool_double": lambda L: L.matmul(L.ones(2, 3, dtype=L.bool), _z(L, 3, 4)),
    "layer_norm.long_weight": lambda L: _F(L).layer_norm(_z(L, 2, 4), (4,), L.ones(4, dtype=L.int64)),
    "layer_norm.float_weight": lambda L: _F(L).layer_norm(_z(L, 2, 4), (4,), L.ones(4)),
    "layer_norm.long_bias": lambda L: _F(L).layer_norm(L.ones(2, 4), (4,), L.ones(4), L.ones(4, dtype=L.int64)),
    "layer_norm.half_float_params": lambda L: _F(L).layer_norm(L.ones(2, 4, dtype=L.float16), (4,), L.ones(4),
                                                               L.ones(4)),
    "layer_norm.long_shape_first": lambda L: _F(L).layer_norm(L.ones(2, 4, dtype=L.int64), (3,)),
    "pow.bool_scalar_base": lambda L: L.pow(True, L.tensor([True, False])),
    "setitem.index_other_dtype": lambda L: _setitem(L, L.tensor([2, 0]), L.ones(2, 4, dtype=L.int64)),
    "setitem.mask_other_dtype": lambda L: _setitem(L, L.zeros(3, 4, dtype=L.bool), L.ones(4)),
    "setitem.index_scalar": lambda L: _setitem(L, L.tensor([2, 0]), 3),
    "setitem.slice_other_dtype": lambda L: _setitem(L, slice(1, None), L.ones(2, 4, dtype=L.int64)),
}


def _setitem(L: Any, key: Any, value: Any) -> Any:
    x = L.arange(12.0, dtype=L.float64).reshape(3, 4)
    x[key] = value
    return x


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_matches_pytorch(name: str) -> None:
    _same(CASES[name])


def test_empty_batch_pooling_backward() -> None:
    for f in (lambda L, x: _F(L).max_pool2d(x, 2), lambda L, x: _F(L).avg_pool2d(x, 2)):
        x = chaingrad.zeros(0, 2, 4, 4, requires_grad=True)
        f(chaingrad, x).sum().backward()
        assert tuple(x.grad.shape) == (0, 2, 4, 4)


# Ties in sort / topk: PyTorch's CPU order (not the position order a stable sort gives) for
# every row length and k, including the lengths where its algorithms change (16, k * 64).
@pytest.mark.parametrize("n", [3, 16, 17, 40, 129, 300])
def test_sort_and_topk_ties_match_pytorch(n: int) -> None:
    rng = np.random.default_rng(n)
    for trial in range(4):
        a = rng.integers(0, 4, (3, n)).astype(np.float32)
        if trial == 3:
            a[0, ::5] = np.nan
        for L_args in ({"descending": False}, {"descending": True}, {"stable": True}):
            got = chaingrad.sort(chaingrad.from_numpy(a), dim=1, **L_args).indices.numpy()
            want = torch.sort(torch.from_numpy(a), dim=1, **L_args).indices.numpy()
            np.testing.assert_array_equal(got, want, err_msg=f"sort {L_args}")
        for k in sorted({1, 2, n // 64, n // 3, n}):
            if k < 1:
                continue
            for largest in (True, False):
                for is_sorted in (True, False):
                    got = chaingrad.topk(chaingrad.from_numpy(a), k, dim=1, largest=largest, sorted=is_sorted)
                    want = torch.topk(torch.from_numpy(a), k, dim=1, largest=largest, sorted=is_sorted)
                    np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy(),
                                                  err_msg=f"topk k={k} largest={largest} sorted={is_sorted}")


def test_topk_ties_along_a_strided_dim() -> None:
    a = np.random.default_rng(1).integers(0, 3, (30, 4)).astype(np.float64)
    got = chaingrad.topk(chaingrad.from_numpy(a), 5, dim=0).indices.numpy()
    want = torch.topk(torch.from_numpy(a), 5, dim=0).indices.numpy()
    np.testing.assert_array_equal(got, want)


def _fused(L: Any, name: str, *args: Any) -> Any:
    """The fused kernel for chaingrad, the public function for PyTorch (its trailing arguments
    by keyword: weight, reduction, ignore_index as the kernel takes them)."""
    if L is chaingrad:
        return getattr(chaingrad._C, "_" + name)(*args)
    keys = {"mse_loss": ("reduction",), "binary_cross_entropy": ("weight", "reduction"),
            "nll_loss": ("weight", "reduction", "ignore_index")}[name]
    n = len(args) - len(keys)
    return getattr(_F(L), name)(*args[:n], **dict(zip(keys, args[n:])))


FUSED: Dict[str, Callable[[Any], Any]] = {
    "mse_loss.bool_target": lambda L: _fused(L, "mse_loss", _z(L, 2, 3), L.ones(2, 3, dtype=L.bool), "mean"),
    "mse_loss.long_operands": lambda L: _fused(L, "mse_loss", L.ones(2, 3, dtype=L.int64),
                                               L.ones(2, 3, dtype=L.int64), "mean"),
    "mse_loss.mixed_floats": lambda L: _fused(L, "mse_loss", L.ones(2, 3), _z(L, 2, 3), "sum"),
    "binary_cross_entropy.target_dtype": lambda L: _fused(L, "binary_cross_entropy", L.full((2, 3), 0.5),
                                                          _z(L, 2, 3), None, "mean"),
    "binary_cross_entropy.long": lambda L: _fused(L, "binary_cross_entropy", L.ones(2, 3, dtype=L.int64),
                                                  L.ones(2, 3, dtype=L.int64), None, "mean"),
    "binary_cross_entropy.range": lambda L: _fused(L, "binary_cross_entropy", L.full((2, 3), 1.5),
                                                   L.ones(2, 3), None, "mean"),
    "nll_loss.long_input": lambda L: _fused(L, "nll_loss", L.ones(2, 3, dtype=L.int64), L.tensor([0, 1]), None,
                                            "mean", -100),
    "nll_loss.bool_input_2d": lambda L: _fused(L, "nll_loss", L.ones(2, 3, 4, dtype=L.bool),
                                               L.zeros(2, 4, dtype=L.int64), None, "mean", -100),
    "nll_loss.empty_weight": lambda L: _fused(L, "nll_loss", L.ones(2, 3), L.tensor([0, 1]), L.ones(0), "mean",
                                              -100),
    "nll_loss.empty_spatial": lambda L: _fused(L, "nll_loss", L.ones(0, 4, 3), L.zeros(0, 3, dtype=L.int64), None,
                                               "none", -100),
    "nll_loss.batch_mismatch": lambda L: _fused(L, "nll_loss", L.ones(2, 3), L.tensor([0, 1, 2]), None, "mean",
                                                -100),
}


def _fused_bce_logits(L: Any, x: Any, t: Any) -> Any:
    if L is chaingrad:
        return chaingrad._C._binary_cross_entropy_with_logits(x, t, None, None, "mean")
    return _F(L).binary_cross_entropy_with_logits(x, t)


FUSED.update({
    "bce_with_logits.bool_target": lambda L: _fused_bce_logits(L, L.ones(2, 3), L.ones(2, 3, dtype=L.bool)),
    "bce_with_logits.bool_input": lambda L: _fused_bce_logits(L, L.ones(2, 3, dtype=L.bool), L.ones(2, 3)),
    "bce_with_logits.double_target": lambda L: _fused_bce_logits(L, L.ones(2, 3), _z(L, 2, 3)),
    "bce_with_logits.float_target": lambda L: _fused_bce_logits(L, _z(L, 2, 3), L.ones(2, 3)),
    "bce_with_logits.long_target": lambda L: _fused_bce_logits(L, L.ones(2, 3), L.ones(2, 3, dtype=L.int64)),
})


@pytest.mark.parametrize("name", sorted(FUSED))
def test_fused_loss_validates_like_pytorch(name: str) -> None:
    _same(FUSED[name])
