"""play.py rebuilds the env from the checkpoint's run: the run's env.* overrides (dataset included) come first, the
user's win; a broken params/args.yaml is refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.evaluation.run_config import merge_overrides, read_run_env


def make_run(tmp_path: Path, args: object) -> Path:
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    (tmp_path / "run" / "params").mkdir()
    text = args if isinstance(args, str) else yaml.safe_dump(args)
    (tmp_path / "run" / "params" / "args.yaml").write_text(text)
    return tmp_path / "run" / "checkpoints" / "agent_10.pt"


def test_the_runs_env_overrides_are_read(tmp_path):
    dataset = tmp_path / "ref.npz"
    dataset.write_bytes(b"")
    overrides = [
        f"env.amp.dataset={dataset}",
        "env.amp.feature_spec.lin_vel_zero_threshold=0.2",
        "env.scene.num_envs=4096",  # play chooses its own env count
        "agent.agent.rollouts=24",  # the agent side is not the env's
    ]
    run = read_run_env(make_run(tmp_path, {"task": "WildRobot-AMP-Flat-v0", "overrides": overrides}))
    assert run.task == "WildRobot-AMP-Flat-v0" and run.source.name == "args.yaml"
    assert run.overrides == overrides[:2] and not run.notes


def test_a_dataset_that_is_gone_is_dropped_with_a_note(tmp_path):
    run = read_run_env(make_run(tmp_path, {"overrides": ["env.amp.dataset=/nowhere/ref.npz"]}))
    assert run.overrides == [] and "gone" in run.notes[0] and "--dataset" in run.notes[0]


def test_outside_a_run_nothing_is_read(tmp_path):
    assert read_run_env(tmp_path / "agent.pt").source is None


@pytest.mark.parametrize("text", ["[1, 2]", "overrides: 3", "overrides: [no_equals_sign]", "a: [unclosed"])
def test_a_broken_args_yaml_is_refused_in_one_line(tmp_path, text):
    with pytest.raises(InputError) as err:
        read_run_env(make_run(tmp_path, text))
    assert "args.yaml" in str(err.value) and "\n" not in str(err.value)


def test_the_users_overrides_win_once_per_key():
    merged = merge_overrides(["env.a=1", "env.b=2"], ["env.a=3", "env.c=4"])
    assert merged == ["env.b=2", "env.a=3", "env.c=4"]
