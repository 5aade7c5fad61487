"""Tutorial-style PyTorch programs using the names issue 11 found missing (``torch.device`` and
``.to(device)``, ``cuda.is_available``, ``set_default_device``, ``out=``, ``Variable``,
``RMSprop``/``Adagrad``, ``smooth_l1_loss``/``huber_loss``, save/load of a leaf that requires
grad), each run with only the import swapped: ``import chaingrad as torch`` must print what real
PyTorch 2.13 prints. Each program runs in a fresh interpreter (some set global defaults); the
inputs are literals, so the printed values do not depend on either random generator.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from typing import Dict

import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(chaingrad.__file__)))

PROGRAMS: Dict[str, str] = {
    "device_and_cuda": """
        import torch
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        print(device, device.type, torch.cuda.is_available())
        x = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).to(device)
        w = torch.tensor([[0.5], [-1.0]], device=device, requires_grad=True)
        y = (x @ w).sum()
        y.backward()
        print(x.device, w.grad.device, y.item())
        print(w.grad)
        print(torch.zeros(2, device="cpu").device, x.to("cpu").device, x.cpu().device)
        try:
            torch.zeros(2, device="cuda")
        except (RuntimeError, AssertionError) as e:
            print(type(e).__name__)
    """,
    "set_default_device": """
        import torch
        torch.set_default_device("cpu")
        a = torch.ones(3)
        print(a.device, a.dtype, a)
        print(torch.get_default_dtype(), torch.tensor([1.5]).device, torch.arange(3).device)
    """,
    "out_keyword": """
        import torch
        a = torch.tensor([1.0, 2.0, 3.0])
        b = torch.tensor([4.0, 5.0, 6.0])
        out = torch.empty(3)
        torch.add(a, b, out=out)
        print(out)
        torch.mul(a, b, out=out)
        print(out)
        m = torch.empty(2, 2)
        torch.matmul(torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.eye(2), out=m)
        print(m)
        torch.sub(b, a, out=out)
        print(out, torch.div(b, a))
    """,
    "variable": """
        import torch
        from torch.autograd import Variable
        x = Variable(torch.tensor([2.0, 3.0]), requires_grad=True)
        y = (x * x).sum()
        y.backward()
        print(x.grad, isinstance(x, torch.Tensor), x.requires_grad)
        print(Variable(torch.ones(2)).requires_grad)
    """,
    "rmsprop_adagrad": """
        import torch
        for name in ["RMSprop", "Adagrad"]:
            w = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
            opt = getattr(torch.optim, name)([w], lr=0.1)
            for _ in range(5):
                opt.zero_grad()
                loss = ((w - 1.0) ** 2).sum()
                loss.backward()
                opt.step()
            print(name, [round(v, 5) for v in w.tolist()], round(loss.item(), 5))
    """,
    "smooth_losses": """
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
        pred = torch.tensor([0.5, 2.0, -1.0, 4.0], requires_grad=True)
        target = torch.tensor([0.0, 1.0, 1.0, 1.0])
        for loss in [F.smooth_l1_loss(pred, target), F.smooth_l1_loss(pred, target, beta=2.0),
                     F.huber_loss(pred, target), F.huber_loss(pred, target, delta=0.5),
                     nn.SmoothL1Loss()(pred, target), nn.HuberLoss(reduction="sum")(pred, target)]:
            print(round(loss.item(), 6), type(loss.grad_fn).__name__)
        F.huber_loss(pred, target).backward()
        print(pred.grad)
    """,
    "save_load_requires_grad": """
        import io
        import torch
        x = torch.tensor([1.0, 2.0], requires_grad=True)
        buf = io.BytesIO()
        torch.save({"x": x, "step": 3}, buf)
        buf.seek(0)
        state = torch.load(buf)
        y = state["x"]
        print(y, y.requires_grad, y.is_leaf, state["step"])
        (y * 2).sum().backward()
        print(y.grad)
    """,
    "training_loop": """
        import torch
        import torch.nn as nn
        torch.manual_seed(0)
        device = torch.device("cpu")
        model = nn.Linear(2, 1).to(device)
        with torch.no_grad():
            model.weight.copy_(torch.tensor([[0.1, -0.2]]))
            model.bias.fill_(0.0)
        data = torch.tensor([[1.0, 2.0], [2.0, 1.0], [3.0, 3.0], [0.0, 1.0]], device=device)
        target = torch.tensor([[1.0], [2.0], [3.0], [0.5]], device=device)
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        loss_fn = nn.MSELoss()
        for epoch in range(20):
            opt.zero_grad()
            loss = loss_fn(model(data), target)
            loss.backward()
            opt.step()
            if epoch % 5 == 0:
                print(epoch, round(loss.item(), 5))
        print([round(v, 4) for v in model.weight.detach().flatten().tolist()])
    """,
}


def _swap(code: str) -> str:
    """The program with only its imports changed to chaingrad."""
    code = re.sub(r"^(\s*)import torch$", r"\1import chaingrad as torch", code, flags=re.M)
    code = re.sub(r"^(\s*)import torch\.(\S+) as", r"\1import chaingrad.\2 as", code, flags=re.M)
    return re.sub(r"^(\s*)from torch(\.\S+)? import", r"\1from chaingrad\2 import", code, flags=re.M)


def _run(code: str) -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PYTHON_DIR, env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.replace("chaingrad.", "torch.")


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_prints_what_pytorch_prints(name: str) -> None:
    code = PROGRAMS[name]
    got = _run(_swap(code))
    pytest.importorskip("torch")
    assert got == _run(code)


def test_swap_changes_only_imports() -> None:
    code = "import torch\nimport torch.nn as nn\nfrom torch.autograd import Variable\ntorch.ones(1)\n"
    assert _swap(code) == ("import chaingrad as torch\nimport chaingrad.nn as nn\n"
                           "from chaingrad.autograd import Variable\ntorch.ones(1)\n")
