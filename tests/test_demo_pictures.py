"""The demo's pictures (loss curve, decision boundary) and its progress bar."""

import numpy as np
import pytest

pytest.importorskip("chaingrad._C")
import chaingrad  # noqa: E402
from chaingrad import demo  # noqa: E402


def test_plain_progress_yields_everything_and_stays_quiet_off_a_terminal(capsys):
    assert list(demo.plain_progress(list(range(7)), "epoch 1/1")) == list(range(7))
    assert capsys.readouterr().err == ""


def test_pictures_are_written_when_matplotlib_is_installed(tmp_path):
    pytest.importorskip("matplotlib")
    chaingrad.manual_seed(0)
    model = chaingrad.nn.Sequential(chaingrad.nn.Linear(2, 4), chaingrad.nn.ReLU(),
                                    chaingrad.nn.Linear(4, 2))
    rng = np.random.default_rng(0)
    points, labels = demo.make_moons(40, 0.1, rng)
    history = dict(losses=list(np.linspace(1.0, 0.1, 12)), steps_per_epoch=4, points=points,
                   labels=labels, split=30)
    paths = demo.write_pictures(model, history, str(tmp_path))
    assert [p.rsplit("/", 1)[-1] for p in paths] == ["loss_curve.png", "decision_boundary.png"]
    for p in paths:
        with open(p, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
