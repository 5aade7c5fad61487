"""``chaingrad.einsum``: the equation and sublist forms of PyTorch's einsum, computed natively
(pairwise contractions through bmm) with autograd from the ops it is made of."""

from __future__ import annotations

import string
from typing import Any, List, Sequence

from . import _C

_LETTERS = string.ascii_uppercase + string.ascii_lowercase


def _sublist(sub: Sequence[Any]) -> str:
    out = []
    for s in sub:
        if s is Ellipsis:
            out.append("...")
        elif isinstance(s, int) and 0 <= s < 52:
            out.append(_LETTERS[s])
        else:
            raise ValueError(f"einsum(): expected subscript to be within the range [0, 52), but got {s}")
    return "".join(out)


def einsum(*args: Any) -> Any:
    """Einstein summation: ``einsum("ij,jk->ik", a, b)`` is ``a @ b``.

    Accepts an equation and operands (or a list of operands), with ``...`` for broadcast
    dimensions and an implicit output (labels seen once, in alphabetical order), or PyTorch's
    sublist form ``einsum(a, [0, 1], b, [1, 2], [0, 2])``.

    Example::

        >>> x = chaingrad.ones(2, 3)
        >>> chaingrad.einsum("ij->j", x)
        tensor([2., 2., 2.])
    """
    if not args:
        raise TypeError("einsum(): must specify the equation string and at least one operand, "
                        "or at least one operand and its subscripts list")
    if isinstance(args[0], str):
        operands: List[Any] = list(args[1:])
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = list(operands[0])
        return _C._einsum(args[0], operands)
    ops = list(args[0::2])
    subs = [_sublist(s) for s in args[1::2]]
    equation = ",".join(subs[: len(ops)])
    if len(args) % 2 == 1:  # the last item is the output sublist
        ops = ops[:-1]
        equation = ",".join(subs[: len(ops)]) + "->" + _sublist(args[-1])
    return _C._einsum(equation, ops)
