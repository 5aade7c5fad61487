"""Shared by the seed-tutorial tests (test_seeds.py, test_seeds_002_004.py): the ``tl`` fixture
(the library under test) and the helpers that compare printed text and error messages."""

import contextlib
import importlib
from types import ModuleType
from typing import Any, Iterator

import pytest

BACKENDS = ["chaingrad", "torch"]


@pytest.fixture(params=BACKENDS, name="tl")
def tl_fixture(request: pytest.FixtureRequest) -> Iterator[ModuleType]:
    """The library under test: ``chaingrad`` or ``torch`` (skipped when missing).

    Grad mode is restored afterwards, since some seeds flip it globally.
    """
    if request.param == "chaingrad":
        pytest.importorskip("chaingrad._C")
        module = importlib.import_module("chaingrad")
    else:
        module = pytest.importorskip("torch")
    enabled = module.is_grad_enabled()
    try:
        yield module
    finally:
        module.set_grad_enabled(enabled)


def norm(text: str, tl: ModuleType) -> str:
    """Replace the library's module name by ``torch`` in printed text."""
    return text.replace(f"{tl.__name__}.", "torch.").replace(f"{tl.__name__}::", "torch::")


def out(capsys: pytest.CaptureFixture, tl: ModuleType) -> str:
    """What was printed since the last call, normalised with :func:`norm`."""
    return norm(capsys.readouterr().out, tl)


def vals(t: Any) -> Any:
    """A tensor's values as (nested) Python numbers."""
    return t.detach().tolist()


@contextlib.contextmanager
def raises(exc_type: type, prefix: str) -> Iterator[None]:
    """Expect ``exc_type`` whose message starts with ``prefix``."""
    with pytest.raises(exc_type) as info:
        yield
    assert str(info.value).startswith(prefix), str(info.value)


def nn_functional(tl: ModuleType) -> ModuleType:
    """``tl.nn.functional`` (``import torch.nn.functional as F`` in the seeds)."""
    return importlib.import_module(f"{tl.__name__}.nn.functional")


BACKWARD_TWICE = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)
NOT_SCALAR = "grad can be implicitly created only for scalar outputs"
NO_GRAD_FN = "element 0 of tensors does not require grad and does not have a grad_fn"
