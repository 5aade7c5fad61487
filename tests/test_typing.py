"""Static typing and docs of the public API: mypy --strict (and basedpyright, when installed)
report no error on a user script (tests/typing/user_script.py), and help() has real text for
the autograd entry points."""

import importlib.util
import json
import os
import pydoc
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "typing" / "user_script.py"
PACKAGE_DIR = ROOT / "python"


def test_user_script_runs():
    """The checked script is real code: it runs."""
    namespace: dict = {}
    exec(compile(SCRIPT.read_text(), str(SCRIPT), "exec"), namespace)  # noqa: S102
    first, total = namespace["tensor_basics"]()
    assert isinstance(first, chaingrad.Tensor) and isinstance(total, float)


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed")
def test_mypy_strict_reports_no_error(tmp_path):
    # As for an installed package: chaingrad's own modules are analysed for their types but
    # their internal errors are not the user's (follow_imports = silent).
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\nstrict = True\n\n[mypy-chaingrad.*]\nfollow_imports = silent\n")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), "--cache-dir",
         str(tmp_path / "cache"), str(SCRIPT)],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "MYPYPATH": str(PACKAGE_DIR)},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success: no issues found" in proc.stdout


@pytest.mark.skipif(shutil.which("basedpyright") is None, reason="basedpyright is not installed")
def test_pyright_reports_no_error(tmp_path):
    config = tmp_path / "pyrightconfig.json"
    config.write_text(json.dumps({"extraPaths": [str(PACKAGE_DIR)], "typeCheckingMode": "standard"}))
    proc = subprocess.run(
        ["basedpyright", "--project", str(config), "--outputjson", str(SCRIPT)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    report = json.loads(proc.stdout)
    errors = [d for d in report["generalDiagnostics"] if d["severity"] == "error"]
    assert errors == [], errors


def test_reflected_operators_and_grad_are_typed_in_the_stub():
    stub = (PACKAGE_DIR / "chaingrad" / "_C.pyi").read_text()
    for op in ("__radd__", "__rmul__", "__rsub__", "__rtruediv__", "__rpow__", "__iadd__"):
        assert f"def {op}(self, other: Any) -> Tensor" in stub
    assert "def __mul__(self, other: Any) -> Tensor" in stub
    assert "shape: Size" in stub and "grad: Optional[Tensor]" in stub
    functions = (PACKAGE_DIR / "chaingrad" / "_method_functions.pyi").read_text()
    assert "def exp(input: Tensor) -> Tensor: ..." in functions


def test_public_names_are_exported():
    for name in ("Tensor", "tensor", "randn", "no_grad", "zeros", "manual_seed", "nn", "optim",
                 "autograd", "utils", "testing", "Generator", "exp", "sum", "where"):
        assert name in chaingrad.__all__, name
        assert hasattr(chaingrad, name), name


@pytest.mark.parametrize(
    "target,title",
    [
        (chaingrad.Tensor.backward, "backward"),
        (chaingrad.autograd.grad, "grad"),
        (chaingrad.autograd.backward, "backward"),
    ],
)
def test_help_answers_for_autograd_entry_points(target, title):
    text = pydoc.render_doc(target, renderer=pydoc.plaintext)
    body = text.split("\n", 2)[2]
    assert body.lstrip().startswith(title + "(")  # not titled `_backward`
    for section in ("Args:", "Returns:", "Example::", "create_graph"):
        assert section in text, section
