"""``assert_close``: compare tensors, arrays, numbers and containers of them like PyTorch."""

from __future__ import annotations

import collections.abc
import math
from typing import Any, Callable, List, Optional, Tuple, Union

import numpy as np

import chaingrad

__all__ = ["assert_close"]

# Default (rtol, atol) by dtype, PyTorch's table; exact comparison for the others.
_TOLERANCES = {
    "float16": (1e-3, 1e-5),
    "bfloat16": (1.6e-2, 1e-5),
    "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7),
    "complex64": (1.3e-6, 1e-5),
    "complex128": (1e-7, 1e-7),
}

Message = Union[str, Callable[[str], str], None]


class _Mismatch(Exception):
    def __init__(self, kind: type, text: str) -> None:
        super().__init__(text)
        self.kind = kind
        self.text = text
        self.path: List[Any] = []


def _tolerances(*dtypes: np.dtype) -> Tuple[float, float]:
    pairs = [_TOLERANCES.get(np.dtype(d).name, (0.0, 0.0)) for d in dtypes]
    return max(r for r, _ in pairs), max(a for _, a in pairs)


def _dtype_name(value: Any) -> str:
    if isinstance(value, chaingrad.Tensor):
        return str(value.dtype)
    return str(value.dtype)


def _array(value: Any) -> np.ndarray:
    if isinstance(value, chaingrad.Tensor):
        return np.asarray(value.detach().numpy())
    return np.asarray(value)


def _compare_numbers(actual: Any, expected: Any, rtol: Optional[float], atol: Optional[float],
                     equal_nan: bool, check_dtype: bool) -> None:
    if isinstance(actual, bool) and isinstance(expected, bool):
        if actual is not expected:
            raise _Mismatch(AssertionError, f"Booleans mismatch: {actual} is not {expected}")
        return
    if check_dtype and type(actual) is not type(expected):
        raise _Mismatch(
            AssertionError, f"The (d)types do not match: {type(actual)} != {type(expected)}."
        )
    exact = all(isinstance(v, int) for v in (actual, expected))
    if rtol is None or atol is None:
        rtol, atol = (0.0, 0.0) if exact else _TOLERANCES["float64"]
    _check_scalar(actual, expected, rtol, atol, equal_nan)


def _check_scalar(actual: Any, expected: Any, rtol: float, atol: float, equal_nan: bool) -> None:
    if actual == expected or (equal_nan and _isnan(actual) and _isnan(expected)):
        return
    diff = abs(actual - expected)
    if diff <= atol + rtol * abs(expected):
        return
    rel = diff / abs(expected) if expected != 0 else math.inf
    if rtol == 0 and atol == 0:
        text = (f"Scalars are not equal!\n\nExpected {expected} but got {actual}.\n"
                f"Absolute difference: {diff}\nRelative difference: {rel}")
    else:
        text = (f"Scalars are not close!\n\nExpected {expected} but got {actual}.\n"
                f"Absolute difference: {diff} (up to {atol} allowed)\n"
                f"Relative difference: {rel} (up to {rtol} allowed)")
    raise _Mismatch(AssertionError, text)


def _isnan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)


def _compare_arrays(actual: Any, expected: Any, rtol: Optional[float], atol: Optional[float],
                    equal_nan: bool, check_dtype: bool) -> None:
    a, e = _array(actual), _array(expected)
    if a.shape != e.shape:
        shape_a = actual.shape if isinstance(actual, chaingrad.Tensor) else a.shape
        shape_e = expected.shape if isinstance(expected, chaingrad.Tensor) else e.shape
        raise _Mismatch(
            AssertionError,
            f"The values for attribute 'shape' do not match: {shape_a} != {shape_e}.",
        )
    if a.dtype != e.dtype:
        if check_dtype:
            raise _Mismatch(
                AssertionError,
                "The values for attribute 'dtype' do not match: "
                f"{_dtype_name(actual)} != {_dtype_name(expected)}.",
            )
        common = np.result_type(a.dtype, e.dtype)
        a, e = a.astype(common), e.astype(common)
    if rtol is None or atol is None:
        rtol, atol = _tolerances(a.dtype)
    if a.ndim == 0:
        _check_scalar(a.item(), e.item(), rtol, atol, equal_nan)
        return
    exact = a.dtype.kind in "biu"
    if exact:
        a, e = a.astype(np.int64), e.astype(np.int64)
        matches = a == e
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            matches = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan)
    if bool(matches.all()):
        return
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        abs_diff = np.abs(a - e)
        abs_diff[matches] = 0
        if exact:  # integer differences divide into the default float dtype
            rel_diff = abs_diff.astype(np.float32) / np.abs(e).astype(np.float32)
        else:
            rel_diff = abs_diff / np.abs(e)
        rel_diff[matches] = 0
    n_bad = int((~matches).sum())
    total = matches.size
    lines = [f"Mismatched elements: {n_bad} / {total} ({100.0 * n_bad / total:.1f}%)"]
    for label, diff, limit in (("absolute", abs_diff, atol), ("relative", rel_diff, rtol)):
        flat = int(np.argmax(diff.reshape(-1)))
        index = tuple(int(i) for i in np.unravel_index(flat, diff.shape))
        line = f"Greatest {label} difference: {diff.reshape(-1)[flat].item()} at index {index}"
        if not (rtol == 0 and atol == 0):
            line += f" (up to {limit} allowed)"
        lines.append(line)
    title = "not equal" if rtol == 0 and atol == 0 else "not close"
    raise _Mismatch(AssertionError, f"Tensor-likes are {title}!\n\n" + "\n".join(lines))


def _is_number(x: Any) -> bool:
    return isinstance(x, (bool, int, float, complex))


def _compare(actual: Any, expected: Any, path: List[Any], **options: Any) -> None:
    """Compare two leaves, or two containers item by item; a mismatch records its path."""
    both = (actual, expected)
    try:
        if all(isinstance(x, chaingrad.Tensor) for x in both) or all(
            isinstance(x, np.ndarray) for x in both
        ):
            _compare_arrays(actual, expected, **options)
            return
        if all(_is_number(x) for x in both):
            _compare_numbers(actual, expected, **options)
            return
    except _Mismatch as err:
        err.path = path
        raise
    if all(isinstance(x, collections.abc.Mapping) for x in both):
        keys_a, keys_e = set(actual), set(expected)
        if keys_a != keys_e:
            missing = sorted(keys_e - keys_a, key=repr)
            extra = sorted(keys_a - keys_e, key=repr)
            raise _Mismatch(
                AssertionError,
                "The keys of the mappings do not match:\n"
                f"Missing keys in the actual mapping: {missing}\n"
                f"Additional keys in the actual mapping: {extra}",
            )
        for key in expected:
            _compare(actual[key], expected[key], [*path, key], **options)
        return
    if all(
        isinstance(x, collections.abc.Sequence) and not isinstance(x, (str, bytes)) for x in both
    ):
        if len(actual) != len(expected):
            raise _Mismatch(
                AssertionError,
                f"The length of the sequences mismatch: {len(actual)} != {len(expected)}",
            )
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, [*path, i], **options)
        return
    raise _Mismatch(
        TypeError,
        f"No comparison pair was able to handle inputs of type {type(actual)} and "
        f"{type(expected)}.",
    )


def assert_close(
    actual: Any,
    expected: Any,
    *,
    allow_subclasses: bool = True,
    rtol: Optional[float] = None,
    atol: Optional[float] = None,
    equal_nan: bool = False,
    check_device: bool = True,
    check_dtype: bool = True,
    check_layout: bool = True,
    check_stride: bool = False,
    msg: Message = None,
) -> None:
    """Assert that ``actual`` and ``expected`` are close: ``|actual - expected| <= atol + rtol *
    |expected|`` elementwise, with equal shapes (and dtypes, unless ``check_dtype=False``).

    Tensors, numpy arrays, Python numbers and (nested) sequences and mappings of them are
    compared. Omitted ``rtol``/``atol`` default by dtype as in PyTorch (float32: 1.3e-6 and
    1e-5, float64: 1e-7 and 1e-7, integers and bools: exact). NaNs compare equal only with
    ``equal_nan``. On failure the ``AssertionError`` reports the mismatched elements and the
    greatest absolute and relative differences, or ``msg`` (a string, or a callable given the
    default message).

    Example::

        >>> chaingrad.testing.assert_close(chaingrad.tensor([1.0, 2.0]), chaingrad.tensor([1.0, 2.0]))
    """
    if (rtol is None) ^ (atol is None):
        missing = "rtol" if rtol is None else "atol"
        raise ValueError(
            f"Both 'rtol' and 'atol' must be either specified or omitted, but got no {missing}."
        )
    options = dict(rtol=rtol, atol=atol, equal_nan=equal_nan, check_dtype=check_dtype)
    try:
        _compare(actual, expected, [], **options)
    except _Mismatch as failure:
        text = failure.text
        if failure.path:
            text += "\n\nThe failure occurred for item " + "".join(f"[{k!r}]" for k in failure.path)
        if failure.kind is AssertionError and msg is not None:
            text = msg(text) if callable(msg) else msg
        raise failure.kind(text) from None
