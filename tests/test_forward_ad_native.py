"""Which op_db entries compute their forward-mode tangent natively (a JVP rule next to the op's VJP)
and which through the double-VJP fallback (engine/jvp.cpp): every differentiable entry of
``tests/op_db.py`` is run under a dual level with the native/fallback counters of
``_forward_ad_counts()``. An entry not in ``FALLBACK`` must never reach the fallback; an entry in it
must still reach it (so the list stays honest when a rule is added). Values are checked elsewhere
(``test_forward_ad.py``: reverse-mode Jacobian, finite differences, PyTorch)."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402
import chaingrad.autograd.forward_ad as fwAD  # noqa: E402
from op_db import OPS  # noqa: E402
from test_forward_ad import _forward, _tangents  # noqa: E402
from test_ops import GRAD_CASES, Call  # noqa: E402

# The entries that still use the double-VJP fallback for at least one sample, with the reason.
FALLBACK: Dict[str, str] = {
}

_BY_OP: Dict[str, List[Any]] = {}
for _case in GRAD_CASES:
    _BY_OP.setdefault(_case.values[0].name, []).append(_case.values[1])


def _counts(name: str) -> Dict[str, int]:
    op = next(o for o in OPS if o.name == name)
    total = {"native": 0, "fallback": 0}
    for sample in _BY_OP[name]:
        call = Call(chaingrad, sample)
        chaingrad._C._reset_forward_ad_counts()
        _forward(chaingrad, fwAD, call, op.primary(), _tangents(call, op.name))
        for k, v in chaingrad._C._forward_ad_counts().items():
            total[k] += v
    return total


@pytest.mark.parametrize("name", sorted(_BY_OP))
def test_jvp_is_native_unless_allowed(name: str) -> None:
    counts = _counts(name)
    if name in FALLBACK:
        assert counts["fallback"] > 0, f"{name} no longer uses the fallback: remove it from FALLBACK"
    else:
        assert counts["fallback"] == 0, f"{name} uses the double-VJP fallback {counts['fallback']} times"


def test_allow_list_names_real_entries() -> None:
    assert set(FALLBACK) <= set(_BY_OP)
    assert all(reason.strip() for reason in FALLBACK.values())
