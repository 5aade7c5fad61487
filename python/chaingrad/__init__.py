"""chaingrad: reverse-mode automatic differentiation with PyTorch's autograd semantics.

Write ``import chaingrad as torch`` and PyTorch-style autograd code runs on chaingrad's
C++ core: tensors, the differentiable operators and the backward engine are native; this
package only exposes and wraps them.
"""

from __future__ import annotations

import os as _os
from builtins import bool as builtins_bool  # the builtin, before the dtype `bool` shadows it

# Idle OpenMP workers sleep instead of spinning, so they do not steal the cores OpenBLAS's
# threads (and other processes) need between parallel loops. Must be set before _C loads libgomp.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import scipy_openblas32 as _openblas  # noqa: F401  (loads libscipy_openblas before _C needs it)

from . import _C, _tensor
from ._C import (
    Tensor,
    bernoulli,
    bfloat16,
    bool,  # noqa: A004 - PyTorch's name for the dtype
    cat,
    dtype,
    float16,
    float32,
    float64,
    from_numpy,
    get_num_threads,
    initial_seed,
    int8,
    int16,
    int32,
    int64,
    is_grad_enabled,
    manual_seed,
    randperm,
    set_num_threads,
    stack,
    uint8,
)

_tensor.install()

from . import _composite, _composite_math, _composite_shape, _composite_stats, _functions  # noqa: E402
from ._C import argsort, sort, topk  # noqa: E402  (sorting and selection)
from ._einsum import einsum  # noqa: E402
from ._factories import (  # noqa: E402
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_dlpack,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    tensor,
    zeros,
    zeros_like,
)
from ._functions import (  # noqa: E402
    allclose,
    clip,
    concat,
    concatenate,
    equal,
    is_floating_point,
    is_tensor,
    isclose,
    pow,
    where,
)
from ._size import Size  # noqa: E402
from ._tensor_str import get_printoptions, set_printoptions  # noqa: E402

_functions.export(globals())
_composite.install(globals())
_composite_math.install(globals())
_composite_shape.install(globals())
_composite_stats.install(globals())

# PyTorch's dtype aliases.
float = float32  # noqa: A001
double = float64
long = int64
int = int32  # noqa: A001
short = int16
half = float16
default_float_dtype = float32

from . import (
    autograd,  # noqa: E402
    cuda,  # noqa: E402
    func,  # noqa: E402
    linalg,  # noqa: E402
    nn,  # noqa: E402
    optim,  # noqa: E402
    return_types,  # noqa: E402
    special,  # noqa: E402
    testing,  # noqa: E402
    utils,  # noqa: E402
)
from ._device import device, get_default_device, layout, set_default_device, strided  # noqa: E402
from .autograd.grad_mode import enable_grad, inference_mode, no_grad, set_grad_enabled  # noqa: E402
from .serialization import load, save  # noqa: E402

linalg.install(globals())
from .utils.data._generator import Generator  # noqa: E402

__version__ = "0.1.0"


def get_default_dtype() -> dtype:
    """The dtype of floats created without one: float32 unless ``set_default_dtype`` changed it."""
    return _C._get_default_dtype()


def set_default_dtype(d: dtype) -> None:
    """Sets the floating dtype that Python floats, integer inputs promoted to float (``exp``, true
    division), creation functions without ``dtype=`` and ``nn`` layers' parameters get.

    As grad mode, the setting belongs to the calling thread (chaingrad keeps no process-wide
    mutable state); PyTorch's applies to the whole process. Non-floating dtypes raise
    ``TypeError`` as in PyTorch."""
    if not isinstance(d, dtype):
        raise TypeError("invalid dtype object: only floating-point types are supported as the default type")
    if not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _C._set_default_dtype(d)


def is_inference_mode_enabled() -> builtins_bool:  # type: ignore[name-defined]  # noqa: F821
    """Whether inference mode is on in this thread."""
    return _C.is_inference_mode_enabled()


def _live_counts() -> dict:
    """Live graph nodes, tensors and storages in this process (leak tests read these), and
    ``storage_peak_bytes``: the high-water mark of ``storage_bytes`` since the last
    ``_reset_peak_storage_bytes()`` (memory reports, e.g. activation checkpointing)."""
    counts = _C._live_counts()
    counts["storage_peak_bytes"] = _C._storage_peak_bytes()
    return counts


def _reset_peak_storage_bytes() -> None:
    """Restarts the ``storage_peak_bytes`` high-water mark from the bytes live now."""
    _C._reset_storage_peak_bytes()


def get_rng_state() -> Tensor:
    """The state of this thread's random number generator, as a 1-d int64 tensor of 628 words (PyTorch returns a
    uint8 tensor; chaingrad has no uint8). Pass it to ``set_rng_state`` to replay the same numbers."""
    return _C._get_rng_state()


def set_rng_state(new_state: Tensor) -> None:
    """Restores a state returned by ``get_rng_state``."""
    _C._set_rng_state(new_state)


def is_anomaly_enabled() -> builtins_bool:  # type: ignore[name-defined]  # noqa: F821
    """Whether autograd anomaly detection is on."""
    return _C._is_anomaly_enabled()


def is_anomaly_check_nan_enabled() -> builtins_bool:  # type: ignore[name-defined]  # noqa: F821
    """Whether anomaly detection also checks backward results for NaN."""
    return _C._is_anomaly_check_nan_enabled()


def set_anomaly_enabled(enabled: builtins_bool, check_nan: builtins_bool = True) -> None:  # type: ignore[name-defined]  # noqa: F821,E501
    """Turns autograd anomaly detection on or off (see ``autograd.detect_anomaly``)."""
    _C._set_anomaly_enabled(enabled, check_nan)


# --- public names (explicit re-exports for type checkers: mypy --strict, pyright) ---
# A new public name must be listed here to be visible to type checkers.
from typing import TYPE_CHECKING as _TYPE_CHECKING  # noqa: E402

__all__ = [
    "argsort",
    "bfloat16",
    "cuda",
    "device",
    "einsum",
    "float16",
    "get_default_device",
    "half",
    "int16",
    "int32",
    "int8",
    "set_default_device",
    "short",
    "sort",
    "topk",
    "uint8",
    "Generator",
    "Size",
    "Tensor",
    "allclose",
    "arange",
    "as_tensor",
    "autograd",
    "bernoulli",
    "bool",
    "cat",
    "clip",
    "concat",
    "concatenate",
    "default_float_dtype",
    "double",
    "dtype",
    "empty",
    "empty_like",
    "enable_grad",
    "equal",
    "eye",
    "float",
    "float32",
    "float64",
    "from_dlpack",
    "from_numpy",
    "full",
    "full_like",
    "get_default_dtype",
    "get_num_threads",
    "get_printoptions",
    "get_rng_state",
    "inference_mode",
    "initial_seed",
    "int",
    "int64",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "is_floating_point",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "is_tensor",
    "isclose",
    "linspace",
    "load",
    "long",
    "manual_seed",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "optim",
    "pow",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "randperm",
    "return_types",
    "save",
    "set_anomaly_enabled",
    "set_default_dtype",
    "set_grad_enabled",
    "set_num_threads",
    "set_printoptions",
    "set_rng_state",
    "stack",
    "tensor",
    "testing",
    "utils",
    "where",
    "zeros",
    "zeros_like",
    # composed of native ops (_composite.py) and linalg.install
    "addmm",
    "addmv",
    "atleast_1d",
    "atleast_2d",
    "broadcast_shapes",
    "broadcast_tensors",
    "broadcast_to",
    "cdist",
    "count_nonzero",
    "cross",
    "det",
    "diag",
    "diff",
    "hstack",
    "inverse",
    "kron",
    "layout",
    "lerp",
    "linalg",
    "logaddexp",
    "logdet",
    "median",
    "meshgrid",
    "nan_to_num",
    "roll",
    "row_stack",
    "slogdet",
    "std_mean",
    "strided",
    "tensordot",
    "tile",
    "tril",
    "triu",
    "unique",
    "var_mean",
    "vstack",
    # composed of native ops (_composite_math.py, _composite_shape.py, _composite_stats.py)
    "special",
    "addbmm", "addcdiv", "addcmul", "addr", "aminmax", "argwhere", "atleast_3d", "baddbmm", "bincount", "block_diag",
    "bucketize", "cartesian_prod", "column_stack", "combinations", "corrcoef", "cov", "cumulative_trapezoid",
    "deg2rad", "diag_embed", "diagflat", "dsplit", "dstack", "float_power", "ger", "heaviside", "histc", "hsplit",
    "hypot", "inner", "isin", "kthvalue", "logaddexp2", "logcumsumexp", "logit", "matrix_power", "mode", "moveaxis",
    "movedim", "nanmean", "nanquantile", "nansum", "quantile", "rad2deg", "rot90", "searchsorted", "sinc",
    "take_along_dim", "tensor_split", "trapezoid", "tril_indices", "triu_indices", "unflatten", "vander", "vdot",
    "vsplit", "xlogy",
]
if _TYPE_CHECKING:
    from ._composite import (
        addmm,
        addmv,
        atleast_1d,
        atleast_2d,
        broadcast_shapes,
        broadcast_tensors,
        broadcast_to,
        cdist,
        count_nonzero,
        cross,
        diag,
        diff,
        hstack,
        kron,
        lerp,
        logaddexp,
        median,
        meshgrid,
        nan_to_num,
        roll,
        row_stack,
        std_mean,
        tensordot,
        tile,
        tril,
        triu,
        unique,
        var_mean,
        vstack,
    )
    from ._composite_math import (
        addbmm,
        addcdiv,
        addcmul,
        addr,
        aminmax,
        baddbmm,
        corrcoef,
        cov,
        deg2rad,
        diag_embed,
        diagflat,
        float_power,
        ger,
        heaviside,
        hypot,
        inner,
        logaddexp2,
        logcumsumexp,
        logit,
        matrix_power,
        moveaxis,
        movedim,
        nanmean,
        nansum,
        rad2deg,
        sinc,
        take_along_dim,
        vdot,
        xlogy,
    )
    from ._composite_shape import (
        atleast_3d,
        block_diag,
        cartesian_prod,
        column_stack,
        combinations,
        cumulative_trapezoid,
        dsplit,
        dstack,
        hsplit,
        rot90,
        tensor_split,
        trapezoid,
        tril_indices,
        triu_indices,
        unflatten,
        vander,
        vsplit,
    )
    from ._composite_stats import (
        argwhere,
        bincount,
        bucketize,
        histc,
        isin,
        kthvalue,
        mode,
        nanquantile,
        quantile,
        searchsorted,
    )
    from .linalg import det, logdet, slogdet
    from .linalg import inv as inverse
if _TYPE_CHECKING:  # the functions _functions.export defines at run time, typed by a generated stub
    from . import _method_functions
    from ._method_functions import *  # noqa: F403

    __all__ += _method_functions.__all__
else:
    __all__ += _functions._METHOD_FUNCTIONS
# --- end of the public names ---
