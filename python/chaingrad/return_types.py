"""Named tuples returned by ops that give values and indices (``max(dim)``, ``min(dim)``, ``sort``, ``topk``)."""

from __future__ import annotations

from typing import NamedTuple

from ._C import Tensor


def _repr(self: tuple) -> str:
    # PyTorch's layout: one field per line after the qualified type name.
    fields = ",\n".join(f"{name}={value!r}" for name, value in zip(self._fields, self))
    return f"chaingrad.return_types.{type(self).__name__}(\n{fields})"


class max(NamedTuple):  # noqa: N801 - PyTorch's name
    """``chaingrad.return_types.max(values, indices)``."""

    values: Tensor
    indices: Tensor

    __repr__ = _repr


class min(NamedTuple):  # noqa: N801 - PyTorch's name
    """``chaingrad.return_types.min(values, indices)``."""

    values: Tensor
    indices: Tensor

    __repr__ = _repr


class sort(NamedTuple):  # noqa: N801 - PyTorch's name
    """``chaingrad.return_types.sort(values, indices)``."""

    values: Tensor
    indices: Tensor

    __repr__ = _repr


class topk(NamedTuple):  # noqa: N801 - PyTorch's name
    """``chaingrad.return_types.topk(values, indices)``."""

    values: Tensor
    indices: Tensor

    __repr__ = _repr


class median(NamedTuple):  # noqa: N801 - PyTorch's name
    """``chaingrad.return_types.median(values, indices)``."""

    values: Tensor
    indices: Tensor

    __repr__ = _repr


class slogdet(NamedTuple):  # noqa: N801 - PyTorch's name
    """``chaingrad.return_types.slogdet(sign, logabsdet)``."""

    sign: Tensor
    logabsdet: Tensor

    __repr__ = _repr


class linalg_inv_ex(NamedTuple):  # noqa: N801 - PyTorch's name
    """``chaingrad.return_types.linalg_inv_ex(inverse, info)``."""

    inverse: Tensor
    info: Tensor

    __repr__ = _repr


class linalg_cholesky_ex(NamedTuple):  # noqa: N801 - PyTorch's name
    """``chaingrad.return_types.linalg_cholesky_ex(L, info)``."""

    L: Tensor
    info: Tensor

    __repr__ = _repr


class linalg_qr(NamedTuple):  # noqa: N801 - PyTorch's name
    """``chaingrad.return_types.linalg_qr(Q, R)``."""

    Q: Tensor
    R: Tensor

    __repr__ = _repr


class linalg_eigh(NamedTuple):  # noqa: N801 - PyTorch's name
    """``chaingrad.return_types.linalg_eigh(eigenvalues, eigenvectors)``."""

    eigenvalues: Tensor
    eigenvectors: Tensor

    __repr__ = _repr


class linalg_svd(NamedTuple):  # noqa: N801 - PyTorch's name
    """``chaingrad.return_types.linalg_svd(U, S, Vh)``."""

    U: Tensor
    S: Tensor
    Vh: Tensor

    __repr__ = _repr


class svd(NamedTuple):  # noqa: N801 - PyTorch's name
    """``chaingrad.return_types.svd(U, S, V)`` (the older ``chaingrad.svd``)."""

    U: Tensor
    S: Tensor
    V: Tensor

    __repr__ = _repr


class aminmax(NamedTuple):  # noqa: N801 - PyTorch's name
    """``chaingrad.return_types.aminmax(min, max)``."""

    min: Tensor
    max: Tensor

    __repr__ = _repr


class kthvalue(NamedTuple):  # noqa: N801 - PyTorch's name
    """``chaingrad.return_types.kthvalue(values, indices)``."""

    values: Tensor
    indices: Tensor

    __repr__ = _repr


class mode(NamedTuple):  # noqa: N801 - PyTorch's name
    """``chaingrad.return_types.mode(values, indices)``."""

    values: Tensor
    indices: Tensor

    __repr__ = _repr
