"""Checkpoints load with torch's weights-only unpickler: a crafted file cannot run code."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch

from wildrobot_amp_ext.deploy.checkpoint import read_checkpoint
from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.utils.checkpoint import load_checkpoint


class _Touch:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def test_malicious_checkpoint_does_not_run(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "agent.pt"
    torch.save({"policy": {"w": torch.zeros(2)}, "evil": _Touch(marker)}, path)
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint(path)
    with pytest.raises(InputError):
        read_checkpoint(path)
    assert not marker.exists()


def test_our_checkpoint_contents_round_trip(tmp_path):
    state = {
        "policy": {"net.0.weight": torch.randn(3, 2)},
        "wildrobot_amp": {"rng": {"numpy": np.random.get_state(), "torch": torch.get_rng_state()}, "step": 7},
    }
    path = tmp_path / "agent.pt"
    torch.save(state, path)
    loaded = load_checkpoint(path)
    assert loaded["wildrobot_amp"]["step"] == 7
    np.testing.assert_array_equal(loaded["wildrobot_amp"]["rng"]["numpy"][1], state["wildrobot_amp"]["rng"]["numpy"][1])
    torch.testing.assert_close(loaded["policy"]["net.0.weight"], state["policy"]["net.0.weight"])


def test_a_checkpoint_with_deflated_members_is_refused_before_it_inflates(tmp_path):
    import zipfile

    from wildrobot_amp_ext.utils.checkpoint import validate_checkpoint

    good, bomb = tmp_path / "agent_8.pt", tmp_path / "bomb.pt"
    torch.save({"policy": {"w": torch.zeros(1 << 16)}}, good)
    assert "policy" in validate_checkpoint(good)
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for member in src.infolist():
            dst.writestr(member.filename, src.read(member.filename))
    assert bomb.stat().st_size < good.stat().st_size / 10  # zeros deflate: what a bomb is made of
    with pytest.raises(InputError, match="compressed member"):
        validate_checkpoint(bomb)
