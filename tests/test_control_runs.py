"""What a control run is built from: the time-shuffled reference (every frame kept, the motion gone) and the bonus
control's constant (the AMP run's mean style reward per step, read from its TensorBoard log)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wildrobot_amp_ext.dataset.controls import main as controls_main
from wildrobot_amp_ext.dataset.schema import load_dataset
from wildrobot_amp_ext.evaluation.curves import STYLE_PER_STEP, mean_style_reward
from wildrobot_amp_ext.evaluation.curves import main as curves_main

REFERENCE = Path(__file__).resolve().parents[1] / "pretrained" / "wildrobot_walk" / "reference.npz"


def test_the_shuffled_reference_keeps_every_frame_and_loses_the_order(tmp_path):
    out = tmp_path / "shuffled.npz"
    assert controls_main([str(REFERENCE), "--out", str(out), "--seed", "3"]) == 0
    ref, shuffled = load_dataset(REFERENCE), load_dataset(out)
    assert shuffled.features.shape == ref.features.shape and "time-shuffled" in shuffled.meta["control"]
    # the same rows, in another order
    key = lambda a: a[np.lexsort(a.T[::-1])]  # noqa: E731
    np.testing.assert_array_equal(key(shuffled.features), key(ref.features))
    assert not np.array_equal(shuffled.features, ref.features)
    np.testing.assert_array_equal(shuffled.states.root_pos[np.argsort(np.random.default_rng(3).permutation(
        ref.num_frames))], ref.states.root_pos)  # fmt: skip


def test_the_bonus_is_the_mean_of_the_logged_style_reward_across_a_resumption(tmp_path, capsys):
    from torch.utils.tensorboard import SummaryWriter

    first, resumed = tmp_path / "run", tmp_path / "run_resumed"
    for folder, points in ((first, [(16, 0.001), (32, 0.002), (48, 9.0)]), (resumed, [(48, 0.003), (64, 0.006)])):
        writer = SummaryWriter(str(folder))
        for step, value in points:
            writer.add_scalar(STYLE_PER_STEP, value, step)
        writer.close()
    # the resumed run replaces the first one's curve from its first timestep on (the 9.0 is gone)
    assert mean_style_reward([first, resumed]) == pytest.approx(0.003)
    assert curves_main([str(first), str(resumed), "--mean-style-reward"]) == 0
    assert float(capsys.readouterr().out.strip()) == pytest.approx(0.003)
    empty = tmp_path / "no_style"
    SummaryWriter(str(empty)).close()
    with pytest.raises(SystemExit) as stop:
        curves_main([str(empty), "--mean-style-reward"])
    assert stop.value.code == 2
