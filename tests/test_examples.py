"""Run every script in ``examples/`` and ``python -m chaingrad.demo --quick``.

Each script runs in a subprocess, once with chaingrad (skipped when
``chaingrad._C`` cannot be imported) and once with PyTorch through
``CHAINGRAD_EXAMPLES_BACKEND=torch`` (skipped when torch is not installed), and
its key printed values are asserted. For the scripts that follow a seed
tutorial, chaingrad's whole output must equal PyTorch's, line for line, after
replacing the module name and leaving out lines marked ``[random]`` or
``[known difference]``.
"""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DEMO = ROOT / "python" / "chaingrad" / "demo.py"
# distributed_*.py need mpiexec and the distributed extra: tests/test_distributed.py runs them.
SCRIPTS = sorted(path.name for path in EXAMPLES.glob("*.py") if not path.name.startswith("distributed_"))
SEED_SCRIPTS = [
    "backward_and_jacobian.py",
    "linear_algebra_and_autograd.py",
    "autograd_modes_hooks_higher_order.py",
    "understanding_backward.py",
    "backward_gradient_argument.py",
]
TIMEOUT = 180

_cache: Dict[Tuple[str, str], "subprocess.CompletedProcess[str]"] = {}


def require(backend: str) -> None:
    """Skip unless ``backend`` ("chaingrad" or "torch") can be used."""
    if backend == "chaingrad":
        pytest.importorskip("chaingrad._C")
    elif importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed")


def run(
    args: List[str], backend: str, cwd: Optional[Path] = None
) -> "subprocess.CompletedProcess[str]":
    """Run ``python args...`` with the given backend and return the finished process."""
    env = dict(os.environ, CHAINGRAD_EXAMPLES_BACKEND=backend, PYTHONIOENCODING="utf-8")
    if backend == "torch":
        # PyTorch's OpenMP threads spin on these tiny tensors and, on a busy
        # 2-core machine, make a 3 s script take 40 s; one thread is plenty.
        env["OMP_NUM_THREADS"] = "1"
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=str(cwd or ROOT),
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def run_script(name: str, backend: str) -> "subprocess.CompletedProcess[str]":
    """Run ``examples/<name>`` once per backend (results are cached)."""
    require(backend)
    key = (name, backend)
    if key not in _cache:
        _cache[key] = run([str(EXAMPLES / name)], backend)
    return _cache[key]


def normalised(text: str) -> List[str]:
    """Output lines with chaingrad's module name replaced.

    Lines marked ``[random]`` (values drawn from the backend's generator) and
    ``[known difference]`` (documented departures from PyTorch) are dropped.
    """
    text = text.replace("chaingrad.", "torch.").replace("chaingrad::", "torch::")
    return [
        line
        for line in text.splitlines()
        if not line.startswith(("[random]", "[known difference]"))
    ]


def test_scripts_are_listed():
    """The README and this file know about every script in examples/."""
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    assert set(SEED_SCRIPTS) | {"xor.py", "moons.py"} == set(SCRIPTS)
    for name in SCRIPTS:
        assert name in readme


@pytest.mark.parametrize("backend", ["chaingrad", "torch"])
@pytest.mark.parametrize("name", SCRIPTS)
def test_script_runs(name: str, backend: str):
    """Every example starts with the backend switch and runs to the end."""
    source = (EXAMPLES / name).read_text(encoding="utf-8")
    assert "import chaingrad as torch" in source
    assert "CHAINGRAD_EXAMPLES_BACKEND" in source
    proc = run_script(name, backend)
    assert proc.stdout.strip()


# The printed lines each seed script must contain, whatever the backend.
KEY_LINES = {
    "backward_and_jacobian.py": [
        "tensor(3.)",
        "tensor(10., grad_fn=<MulBackward0>)",
        "dz/da = tensor(2.)  (b - c)",
        "dz/db = tensor(7.)  (b - c) + (a + b)",
        "dz/dc = tensor(-5.)  -(a + b)",
        "a.grad = tensor(4.)  b.grad = tensor(14.)  c.grad = tensor(-10.)",
        "RuntimeError: Trying to backward through the graph a second time (or directly access"
        " saved tensors after they have already been freed). Saved intermediate values of the"
        " graph are freed when you call .backward() or autograd.grad(). Specify"
        " retain_graph=True if you need to backward through the graph a second time or if you"
        " need to access saved tensors after calling backward.",
        "RuntimeError: grad can be implicitly created only for scalar outputs",
        "equal: True",
    ],
    "linear_algebra_and_autograd.py": [
        "tensor(5.) tensor(6.) tensor(1.5000) tensor(9.)",
        "torch.Size([4])",
        "tensor(28., grad_fn=<MulBackward0>)",
        "tensor([ 0.,  4.,  8., 12.])",
        "tensor([True, True, True, True])",
        "tensor([1., 1., 1., 1.])",
        "tensor([0., 2., 4., 6.])",
        "a = -2.5: d = -128000.0000, a.grad = 51200.0, close to d / a: True",
    ],
    "autograd_modes_hooks_higher_order.py": [
        "grad enabled: True",
        "y.requires_grad: False  y.grad_fn: None",
        "RuntimeError: element 0 of tensors does not require grad and does not have a grad_fn",
        "        [2., 2., 2.]])",
        "with the hook    w.grad = tensor([ 0.5000, -1.0000,  1.0000])",
        "loaded: is_leaf True  grad_fn None",
        "d2y/dx2 = tensor(12.)",
    ],
    "understanding_backward.py": [
        "tensor([4.])",
        "tensor([8.])",
        "RuntimeError: mat1 and mat2 must have the same dtype, but got Long and Float",
        "RuntimeError: expected m1 and m2 to have the same dtype, but got: long int != float",
        "tensor([[-0.5000, -0.5000]])",
        "tensor([-1.])",
    ],
    "backward_gradient_argument.py": [
        "tensor([2., 4., 6.])",
        "tensor([6., 6., 7.], grad_fn=<CopySlices>)",
        "tensor([1., 2., 3.])  requires_grad: False",
        "UserWarning: Converting a tensor with requires_grad=True to a scalar may lead to"
        " unexpected behavior.",
        "tensor(1.1000)",
        "tensor(1.4000)",
        "tensor([1.1000, 1.4000, 1.0000])",
        "RuntimeError: Only Tensors of floating point and complex dtype can require gradients",
    ],
}


@pytest.mark.parametrize("backend", ["chaingrad", "torch"])
@pytest.mark.parametrize("name", SEED_SCRIPTS)
def test_seed_script_key_lines(name: str, backend: str):
    """Each seed script prints the values PyTorch prints for the tutorial's code."""
    lines = normalised(run_script(name, backend).stdout)
    for expected in KEY_LINES[name]:
        assert expected in lines, f"missing line {expected!r}"


@pytest.mark.parametrize("name", SEED_SCRIPTS)
def test_seed_script_matches_torch(name: str):
    """chaingrad prints exactly what PyTorch prints (module names aside)."""
    ours = normalised(run_script(name, "chaingrad").stdout)
    theirs = normalised(run_script(name, "torch").stdout)
    assert ours == theirs


@pytest.mark.parametrize("backend", ["chaingrad", "torch"])
def test_xor_reaches_full_accuracy(backend: str):
    """The XOR network classifies all four points."""
    lines = run_script("xor.py", backend).stdout.splitlines()
    assert lines[-1] == "accuracy: 1.0"
    assert "  [1.0, 1.0] -> 0" in lines and "  [0.0, 1.0] -> 1" in lines


@pytest.mark.parametrize("backend", ["chaingrad", "torch"])
def test_moons_classifier(backend: str):
    """The two-moons classifier reaches a high test accuracy."""
    lines = run_script("moons.py", backend).stdout.splitlines()
    match = re.fullmatch(r"accuracy: (\d\.\d+)", lines[-1])
    assert match, lines[-1]
    assert float(match.group(1)) >= 0.95
    assert any(line.startswith("epoch  30  loss") for line in lines)


@pytest.mark.parametrize("backend", ["chaingrad", "torch"])
def test_demo_quick(backend: str, tmp_path: Path):
    """``python -m chaingrad.demo --quick --out DIR`` tours the ideas and writes the graph.

    With PyTorch as backend the file is run through runpy (the ``chaingrad``
    package need not be importable then).
    """
    require(backend)
    out = tmp_path / "out"
    if backend == "chaingrad":
        proc = run(["-m", "chaingrad.demo", "--quick", "--out", str(out)], backend, tmp_path)
    else:
        code = (
            "import runpy, sys; sys.argv = [sys.argv[1]] + sys.argv[2:]; "
            "runpy.run_path(sys.argv[0], run_name='__main__')"
        )
        proc = run(["-c", code, str(DEMO), "--quick", "--out", str(out)], backend, tmp_path)
    text = proc.stdout
    for expected in [
        "z.grad_fn: MulBackward0",
        "z.grad_fn.next_functions: [('AddBackward0', 0), ('SubBackward0', 0)]",
        "a.grad =   2.0",
        "b.grad =   7.0",
        "c.grad =  -5.0",
        "x.grad = tensor([3.0000, 4.5000, 6.0000])   W^T v = [3.0, 4.5, 6.0]",
        "second backward (gradients add up):  x.grad = 12.0",
        "third backward -> RuntimeError: Trying to backward through the graph a second time",
        "d2y/dx2 = 12.0",
        "w.grad with the hook:      [0.5, -1.0, 1.0]",
        "epoch  6/6",
    ]:
        assert expected in text, f"missing {expected!r}"
    assert re.search(r"^accuracy: \d\.\d{3}$", text, re.MULTILINE)
    if backend == "chaingrad":
        assert "DOT from chaingrad.autograd.graph.to_dot" in text
    dot_source = (out / "training_step.dot").read_text(encoding="utf-8")
    assert "digraph" in dot_source and "->" in dot_source
    if shutil.which("dot"):
        assert (out / "training_step.svg").read_text(encoding="utf-8").lstrip().startswith("<")
