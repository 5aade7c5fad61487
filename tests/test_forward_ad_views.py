"""Forward-mode AD through views: a view's tangent is the same window of its base's tangent, so an
in-place write through a view (``y[0] = dual``, ``y[1:].mul_(dual)``) gives the base and every
other view of it the tangent PyTorch gives. Each case runs on chaingrad and on PyTorch."""

import importlib

import chaingrad as cg
import numpy as np
import pytest


def _tangents(lib, case):
    fwAD = importlib.import_module(lib.__name__ + ".autograd.forward_ad")

    def dual(p, t):
        return fwAD.make_dual(lib.tensor(p, dtype=lib.float64), lib.tensor(t, dtype=lib.float64))

    def tangent(t):
        tan = fwAD.unpack_dual(t).tangent
        return None if tan is None else tan.tolist()

    with fwAD.dual_level():
        return [tangent(t) for t in CASES[case](lib, dual)]


def _x(lib):
    return lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)


def _setitem(lib, dual):
    y = _x(lib).clone()
    y[0] = dual(5.0, 7.0)
    return [y, y * 2]


def _slice_mul_(lib, dual):
    y = _x(lib).clone()
    y[1:].mul_(dual([2.0, 2.0], [1.0, 10.0]))
    return [y]


def _sibling_views(lib, dual):
    y = _x(lib).clone()
    v, w = y[1:], y[:2]
    v.mul_(dual([2.0, 2.0], [1.0, 10.0]))
    return [y, v, w]


def _view_made_before_the_base_got_a_tangent(lib, dual):
    y = _x(lib).clone()
    v = y[1:]
    y.mul_(dual([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]))
    return [v, y]


def _view_of_a_view(lib, dual):
    y = _x(lib).clone()
    v = y[1:]
    u = v[1:]
    u.add_(dual([1.0], [5.0]))
    return [y, v, u]


def _twice(lib, dual):
    y = _x(lib).clone()
    v = y[1:]
    v.mul_(dual([2.0, 2.0], [1.0, 10.0]))
    v.mul_(3.0)
    return [y, v]


def _augmented_setitem(lib, dual):
    y = _x(lib).clone()
    y[1:] *= dual([2.0, 2.0], [1.0, 10.0])
    return [y]


def _constant_into_a_dual_copy(lib, dual):
    xd = dual([1.0, 2.0, 3.0], [1.0, 1.0, 1.0])
    y = xd.clone()
    y[1:] = 0.0
    return [y, xd]  # xd's tangent is not written through y's


def _write_through_a_view_of_the_dual(lib, dual):
    xd = dual([1.0, 2.0, 3.0], [1.0, 1.0, 1.0])
    v = xd[1:]
    v.mul_(2.0)
    return [xd, v]


def _strided_setitem(lib, dual):
    y = _x(lib).clone()
    y[::2] = dual([5.0, 6.0], [1.0, 2.0])
    return [y]


def _column(lib, dual):
    y = lib.zeros(2, 3, dtype=lib.float64)
    y[:, 1].add_(dual([1.0, 1.0], [3.0, 4.0]))
    return [y]


def _row_copy(lib, dual):
    y = lib.zeros(2, 3, dtype=lib.float64)
    r = y[1]
    r.copy_(dual([1.0, 1.0, 1.0], [3.0, 4.0, 5.0]))
    return [y, r]


def _transposed_base(lib, dual):
    y = lib.zeros(2, 3, dtype=lib.float64).t().clone()  # keeps the transposed strides
    y[0].copy_(dual([1.0, 2.0], [3.0, 4.0]))
    return [y, y.t()]


def _diagonal(lib, dual):
    y = lib.zeros(2, 2, dtype=lib.float64)
    y.diagonal().copy_(dual([1.0, 2.0], [3.0, 4.0]))
    return [y]


def _reshaped_view(lib, dual):
    y = lib.zeros(4, dtype=lib.float64)
    v = y.view(2, 2)
    v[1].add_(dual([1.0, 2.0], [3.0, 4.0]))
    return [y, v]


def _block(lib, dual):
    y = lib.zeros(2, 3, dtype=lib.float64)
    y[:, 1:2] = dual([[1.0], [2.0]], [[3.0], [4.0]])
    return [y, y.sum()]


def _index_put(lib, dual):
    y = _x(lib).clone()
    y[lib.tensor([0, 2])] = dual([5.0, 6.0], [1.0, 2.0])
    return [y]


CASES = {f.__name__[1:]: f for f in (
    _setitem, _slice_mul_, _sibling_views, _view_made_before_the_base_got_a_tangent, _view_of_a_view, _twice,
    _augmented_setitem, _constant_into_a_dual_copy, _write_through_a_view_of_the_dual, _strided_setitem, _column,
    _row_copy, _transposed_base, _diagonal, _reshaped_view, _block, _index_put)}


@pytest.mark.parametrize("case", sorted(CASES))
def test_inplace_through_views_matches_torch(case):
    torch = pytest.importorskip("torch")
    assert _tangents(cg, case) == _tangents(torch, case)


def test_view_before_the_level_sees_the_bases_new_tangent():
    import chaingrad.autograd.forward_ad as fwAD

    y = _x(cg).clone()
    v = y[1:]  # made before the level is entered
    with fwAD.dual_level():
        y.mul_(fwAD.make_dual(cg.full((3,), 2.0, dtype=cg.float64), cg.tensor([1.0, 2.0, 3.0], dtype=cg.float64)))
        np.testing.assert_array_equal(fwAD.unpack_dual(v).tangent.numpy(), [4.0, 9.0])
    assert fwAD.unpack_dual(v).tangent is None  # dropped when the level exits


def test_expanded_primal_keeps_per_element_tangents():
    # An expanded base (stride 0) cannot hold one tangent per element: its views keep their own.
    import chaingrad.autograd.forward_ad as fwAD

    with fwAD.dual_level():
        p = cg.tensor([1.0, 2.0], dtype=cg.float64).unsqueeze(0).expand(3, 2)
        t = cg.arange(6, dtype=cg.float64).view(3, 2)
        d = fwAD.make_dual(p, t)
        np.testing.assert_array_equal(fwAD.unpack_dual(d[1]).tangent.numpy(), [2.0, 3.0])
        np.testing.assert_array_equal(fwAD.unpack_dual(d.t() * 2).tangent.numpy(), (t.numpy() * 2).T)
