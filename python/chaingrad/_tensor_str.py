"""Text rendering of tensors, matching ``repr(torch.Tensor)`` of PyTorch 2.13 exactly.

This module is pure Python on top of numpy.  The public entry point is
:func:`format_tensor`, which receives the tensor's data as a numpy array plus a
little metadata and returns the string PyTorch would print for an equivalent
``torch.Tensor``.  Global print options are managed with
:func:`set_printoptions` / :func:`get_printoptions` / :func:`printoptions`, with
the same names, defaults and profiles as ``torch.set_printoptions``.

Outline of the layout rules that are reproduced:

* One *element formatter* is chosen for the whole tensor (or, when the tensor is
  summarised, for the elements that are actually shown).  Floating tensors whose
  non-zero finite entries are all integral print as ``1.``; otherwise entries
  print with ``precision`` decimals, or in scientific notation when the largest
  to smallest non-zero magnitude ratio exceeds 1000, the largest magnitude
  exceeds 1e8 or the smallest is below 1e-4 (unless ``sci_mode`` forces a
  choice).  Every element is right-aligned to a common width, which is measured
  over the non-zero finite entries only.
* 1-D rows are wrapped so that each line holds as many ``width + 2`` wide cells
  as fit in ``linewidth`` minus the current indentation.
* Tensors with more than ``threshold`` elements are summarised: along every
  dimension longer than ``2 * edgeitems`` only the first and last ``edgeitems``
  entries are kept, separated by ``...``.
* Extra items (``dtype=...``, ``grad_fn=<...>``, ...) follow the closing
  bracket, each on a new line when it would overflow ``linewidth``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

import numpy as np

__all__ = [
    "format_tensor",
    "get_printoptions",
    "is_default_dtype_name",
    "printoptions",
    "set_printoptions",
]

_PREFIX = "tensor("

#: Dtypes whose name is never printed for non-empty tensors (besides the default
#: floating dtype itself).
_ALWAYS_IMPLICIT_DTYPES = frozenset({"int64", "bool"})


@dataclasses.dataclass
class _PrintOptions:
    """Current global print options (mirrors torch's defaults)."""

    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: Optional[bool] = None


_OPTIONS = _PrintOptions()

_PROFILES: Dict[str, Dict[str, Any]] = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}


def set_printoptions(
    precision: Optional[int] = None,
    threshold: Optional[float] = None,
    edgeitems: Optional[int] = None,
    linewidth: Optional[int] = None,
    profile: Optional[str] = None,
    sci_mode: Optional[bool] = None,
) -> None:
    """Set the global options used when printing tensors.

    Semantics follow ``torch.set_printoptions``: ``profile`` (``"default"``,
    ``"short"`` or ``"full"``) is applied first, then every explicitly given
    option overrides it.  ``sci_mode`` is always assigned, so calling this
    function without ``sci_mode`` restores automatic selection of scientific
    notation.

    Args:
        precision: Number of digits after the decimal point for floats.
        threshold: Element count above which tensors are summarised.
        edgeitems: Number of leading/trailing items kept per summarised dimension.
        linewidth: Characters per line used to wrap rows and suffixes.
        profile: Named preset: ``"default"``, ``"short"`` or ``"full"``.
        sci_mode: ``True``/``False`` forces scientific/fixed notation; ``None``
            chooses automatically.
    """
    if profile is not None:
        preset = _PROFILES.get(profile)
        if preset is not None:
            for name, value in preset.items():
                setattr(_OPTIONS, name, value)
    if precision is not None:
        _OPTIONS.precision = precision
    if threshold is not None:
        _OPTIONS.threshold = threshold
    if edgeitems is not None:
        _OPTIONS.edgeitems = edgeitems
    if linewidth is not None:
        _OPTIONS.linewidth = linewidth
    _OPTIONS.sci_mode = sci_mode


def get_printoptions() -> Dict[str, Any]:
    """Return the current print options as a dict accepted by :func:`set_printoptions`."""
    return dataclasses.asdict(_OPTIONS)


@contextlib.contextmanager
def printoptions(**kwargs: Any) -> Iterator[None]:
    """Context manager that temporarily applies :func:`set_printoptions` arguments."""
    saved = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**saved)


def is_default_dtype_name(dtype_name: str, default_dtype_name: str = "float32") -> bool:
    """Whether a non-empty tensor of ``dtype_name`` prints without a ``dtype=`` item.

    PyTorch omits the dtype for the default floating dtype (``float32`` unless
    changed), ``int64`` and ``bool``; every other dtype (e.g. ``float64``) is
    shown.
    """
    return dtype_name == default_dtype_name or dtype_name in _ALWAYS_IMPLICIT_DTYPES


Scalar = Union[float, int, bool]


class _ElementFormatter:
    """Chooses one notation and one column width for all printed elements.

    The decision is made from ``sample`` (the elements that will be displayed);
    the width is measured on its non-zero finite entries only, so zeros, NaN and
    infinities never widen the columns (they are still padded to the width).
    """

    def __init__(self, sample: np.ndarray, opts: _PrintOptions) -> None:
        self.precision = opts.precision
        self.is_float = sample.dtype.kind == "f"
        self.integral = True
        self.scientific = False
        self.width = 1

        flat = sample.reshape(-1)
        if not self.is_float:
            self._measure_exact(flat)
            return

        shown = flat[np.isfinite(flat) & (flat != 0)]
        if shown.size == 0:
            # Nothing informative: keep integral, fixed notation, width 1.
            return

        magnitudes = np.abs(shown).astype(np.float64)
        smallest = float(magnitudes.min())
        largest = float(magnitudes.max())
        self.integral = bool(np.all(shown == np.ceil(shown)))
        if opts.sci_mode is None:
            self.scientific = largest / smallest > 1000.0 or largest > 1.0e8
            if not self.integral:
                self.scientific = self.scientific or smallest < 1.0e-4
        else:
            self.scientific = bool(opts.sci_mode)

        for value in _length_candidates(shown):
            self.width = max(self.width, len(self._render(value)))

    def _measure_exact(self, flat: np.ndarray) -> None:
        """Width for integer and boolean tensors: longest ``str`` of an element."""
        if flat.size == 0:
            return
        if flat.dtype.kind == "b":
            candidates: List[Scalar] = [bool(v) for v in np.unique(flat)]
        else:
            candidates = [flat.min().item(), flat.max().item()]
        for value in candidates:
            self.width = max(self.width, len(str(value)))

    def _render(self, value: Scalar) -> str:
        """Unpadded text of one element."""
        if not self.is_float:
            return str(value)
        if self.scientific:
            return f"{value:.{self.precision}e}"
        if self.integral:
            text = f"{value:.0f}"
            if math.isfinite(value):
                text += "."
            return text
        return f"{value:.{self.precision}f}"

    def __call__(self, value: Scalar) -> str:
        """Text of one element, right-aligned to the common width."""
        return self._render(value).rjust(self.width)


def _length_candidates(values: np.ndarray) -> List[float]:
    """Elements among which the longest formatted text is guaranteed to occur.

    With a fixed number of decimals (or a fixed mantissa length in scientific
    notation), the text length depends only on the sign and on the number of
    integer digits (or exponent digits), which are monotone in the magnitude.
    The extremes of each sign therefore cover every possible length.
    """
    picks: List[float] = []
    for part in (values[values > 0], values[values < 0]):
        if part.size:
            picks.append(float(part.min()))
            picks.append(float(part.max()))
    return picks


def _summary_sample(arr: np.ndarray, edge: int) -> np.ndarray:
    """The sub-array of elements that remain visible after summarisation."""
    if arr.ndim == 0:
        return arr
    if arr.ndim == 1:
        if arr.shape[0] > 2 * edge:
            return np.concatenate((arr[:edge], arr[-edge:]))
        return arr
    if not edge:
        return np.empty((0,) * arr.ndim, dtype=arr.dtype)
    count = arr.shape[0]
    if count > 2 * edge:
        rows = [*range(edge), *range(count - edge, count)]
    else:
        rows = list(range(count))
    return np.stack([_summary_sample(arr[i], edge) for i in rows])


def _render_row(
    row: np.ndarray,
    indent: int,
    summarize: bool,
    fmt: _ElementFormatter,
    opts: _PrintOptions,
) -> str:
    """Render a 1-D array, wrapping it into lines that fit ``linewidth``."""
    edge = opts.edgeitems
    per_line = max(1, math.floor((opts.linewidth - indent) / (fmt.width + 2)))
    if summarize and not edge:
        cells = ["..."]
    elif summarize and row.shape[0] > 2 * edge:
        cells = [fmt(v) for v in row[:edge].tolist()]
        cells.append(" ...")
        cells.extend(fmt(v) for v in row[-edge:].tolist())
    else:
        cells = [fmt(v) for v in row.tolist()]
    lines = [", ".join(cells[i : i + per_line]) for i in range(0, len(cells), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _render_nested(
    arr: np.ndarray,
    indent: int,
    summarize: bool,
    fmt: _ElementFormatter,
    opts: _PrintOptions,
) -> str:
    """Render an array of any rank with bracket nesting and blank-line separators."""
    if arr.ndim == 0:
        return fmt(arr.item())
    if arr.ndim == 1:
        return _render_row(arr, indent, summarize, fmt, opts)
    edge = opts.edgeitems
    count = arr.shape[0]
    if summarize and count > 2 * edge:
        head = [_render_nested(arr[i], indent + 1, summarize, fmt, opts) for i in range(edge)]
        tail = [
            _render_nested(arr[i], indent + 1, summarize, fmt, opts)
            for i in range(count - edge, count)
        ]
        blocks = [*head, "...", *tail]
    else:
        blocks = [_render_nested(arr[i], indent + 1, summarize, fmt, opts) for i in range(count)]
    separator = "," + "\n" * (arr.ndim - 1) + " " * (indent + 1)
    return "[" + separator.join(blocks) + "]"


def _render_body(arr: np.ndarray, indent: int, opts: _PrintOptions) -> str:
    """Text of the data part (between ``tensor(`` and the suffixes)."""
    if arr.size == 0:
        return "[]"
    summarize = arr.size > opts.threshold
    if summarize and arr.ndim >= 1 and not opts.edgeitems:
        # Every dimension collapses to a bare ellipsis; no element is shown.
        return "[...]"
    sample = _summary_sample(arr, opts.edgeitems) if summarize else arr
    fmt = _ElementFormatter(sample, opts)
    return _render_nested(arr, indent, summarize, fmt, opts)


def _append_suffixes(
    text: str,
    suffixes: Sequence[str],
    indent: int,
    linewidth: int,
    shown: Optional[Sequence[str]] = None,
) -> str:
    """Append ``, item`` for each suffix and the closing parenthesis.

    An item moves to its own line (indented by ``indent``) when appending it to
    the current line would exceed ``linewidth``.  The running length of the last
    line deliberately uses the same accounting as PyTorch (which counts two
    extra characters for the first line), so wrapping decisions agree.

    Line breaks are decided from ``suffixes``; when ``shown`` is given, its
    entries (same count) are what actually gets written.  This lets an item be
    displayed with a different module name while keeping PyTorch's layout.
    """
    display = list(suffixes) if shown is None else list(shown)
    pieces = [text]
    current = len(text) - text.rfind("\n") + 1
    for item, out in zip(suffixes, display):
        if current + len(item) + 2 > linewidth:
            pieces.append(",\n" + " " * indent + out)
            current = indent + len(item)
        else:
            pieces.append(", " + out)
            current += len(item) + 2
    pieces.append(")")
    return "".join(pieces)


def _shape_text(shape: Sequence[int]) -> str:
    """``str(tuple(shape))``, e.g. ``(0, 3)`` or ``(5,)``."""
    return str(tuple(int(d) for d in shape))


def format_tensor(
    values: np.ndarray,
    *,
    dtype_name: str,
    is_default_dtype: bool,
    suffixes: Sequence[str] = (),
    module_name: str = "chaingrad",
    default_dtype_name: str = "float32",
) -> str:
    """Return the ``repr`` PyTorch would print for a tensor holding ``values``.

    Args:
        values: The tensor's data (any shape, including 0-d and empty).  Float,
            integer and boolean numpy dtypes are supported.
        dtype_name: Name of the tensor's dtype without module, e.g. ``"float64"``.
        is_default_dtype: Whether a *non-empty* tensor of this dtype omits the
            ``dtype=`` item.  PyTorch omits it for the default floating dtype,
            ``int64`` and ``bool`` (see :func:`is_default_dtype_name`).
        suffixes: Further items shown after the data, in order, e.g.
            ``["requires_grad=True"]`` or ``["grad_fn=<MulBackward0>"]``.  They
            follow the ``size=``/``dtype=`` items that this function adds itself.
        module_name: Replaces ``torch`` in ``dtype=torch.float64``.  Line
            breaks are still decided as if the item read ``dtype=torch...``, so
            the layout is identical to PyTorch's output with the name swapped.
        default_dtype_name: The default floating dtype.  Empty tensors show
            ``dtype=`` for every other dtype (including ``int64`` and ``bool``),
            because there are no elements to infer it from.

    Returns:
        The full text, e.g. ``"tensor([1., 2.], dtype=chaingrad.float64)"``.
    """
    arr = np.asarray(values)
    opts = _OPTIONS
    indent = len(_PREFIX)
    show_dtype = (dtype_name != default_dtype_name) if arr.size == 0 else not is_default_dtype
    show_size = arr.ndim != 1 if arr.size == 0 else not opts.edgeitems
    layout: List[str] = []
    if show_size:
        layout.append("size=" + _shape_text(arr.shape))
    if show_dtype:
        layout.append(f"dtype=torch.{dtype_name}")
    shown = list(layout)
    if show_dtype:
        shown[-1] = f"dtype={module_name}.{dtype_name}"
    layout.extend(suffixes)
    shown.extend(suffixes)
    body = _render_body(arr, indent, opts)
    return _append_suffixes(_PREFIX + body, layout, indent, opts.linewidth, shown)
