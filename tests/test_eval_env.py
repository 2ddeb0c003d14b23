"""Evaluation and play.py on the real Isaac Lab task (kit-less, Newton, CPU): a zero-action policy stands still."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
TASK = "WildRobot-AMP-Flat-Play-v0"
os.environ.setdefault("WILDROBOT_NO_PROGRESS", "1")
os.environ.setdefault("WARP_CACHE_PATH", str(Path.home() / ".cache" / "wildrobot_amp_ext" / "warp"))

needs_isaaclab = pytest.mark.skipif(importlib.util.find_spec("isaaclab") is None, reason="Isaac Lab is not installed")


@pytest.mark.slow
@pytest.mark.isaaclab
@needs_isaaclab
def test_zero_action_eval_on_the_real_env(tmp_path):
    from wildrobot_amp_ext.evaluation.evaluate import EvalCfg, evaluate, prepare_eval_cfg, write_outputs
    from wildrobot_amp_ext.isaaclab.launch import create_env, load_env_cfg

    cfg = load_env_cfg(TASK, device="cpu")
    eval_cfg = EvalCfg(commands=[(0.0, 0.0, 0.0), (0.3, 0.0, 0.0)], envs_per_command=2, duration_s=1.5)
    commands = prepare_eval_cfg(cfg, eval_cfg)
    assert cfg.scene.num_envs == 4 and cfg.events.reference_state_init is None
    env = create_env(cfg, task=TASK)
    try:
        action_dim = env.unwrapped.action_manager.total_action_dim
        zero = lambda obs: torch.zeros(obs.shape[0], action_dim)  # noqa: E731
        rollout, report = evaluate(env, zero, eval_cfg, commands, task=TASK)
    finally:
        env.close()

    steps = int(np.ceil(1.5 / 0.02))
    assert rollout.num_steps == steps and rollout.num_envs == 4
    # the pinned commands were in force for every step, per block of envs
    np.testing.assert_allclose(rollout.command[:, :2], 0.0)
    np.testing.assert_allclose(rollout.command[:, 2:], np.broadcast_to([0.3, 0.0, 0.0], (steps, 2, 3)), atol=1e-7)
    standing, forward = report["per_command"]
    # zero actions hold the default pose: nobody falls, nobody moves, both feet stay down
    assert report["overall"]["falls"] == 0 and report["overall"]["fall_rate"] == 0.0
    assert standing["lin_vel_error_mean"] < 0.05
    assert forward["lin_vel_error_mean"] == pytest.approx(0.3, abs=0.05)  # commanded 0.3 m/s, achieved ~0
    assert report["overall"]["double_stance_fraction"] > 0.95
    assert report["overall"]["slip_speed_mean"] < 0.05
    assert (rollout.root_pos[-1, :, 2] > 0.2).all()  # still standing at the end
    # the style metric ran against the env's reference (the demo gait): frames 1 s after the reset were scored
    assert report["style"]["policy_transitions_scored"] > 0 and report["style"]["reference_to_policy"] > 0

    paths = write_outputs(report, rollout, tmp_path / "eval")
    assert {p.name for p in (tmp_path / "eval").iterdir()} == {"metrics.json", "summary.png", "rollout.npz"}
    assert paths["summary"].stat().st_size > 10_000

    # the recorded rollout plays in the motion viewer
    from wildrobot_amp_ext.robots import load_robot
    from wildrobot_amp_ext.viewing.gl import configure_gl
    from wildrobot_amp_ext.viewing.sources import load_motion_set
    from wildrobot_amp_ext.viewing.viewer import MotionViewer, ViewerCfg

    try:
        configure_gl()
    except RuntimeError as err:  # the env half above has passed; say why the viewer half did not run
        pytest.skip(f"the viewer half needs headless OpenGL: {err}")
    robot = load_robot("wildrobot")
    motion = load_motion_set(paths["rollout"], robot)
    assert len(motion.clips) == 4
    with MotionViewer(robot, [motion], ViewerCfg(width=320, height=240, overlay=False)) as viewer:
        assert viewer.render(0, 0.5).std() > 10


def _fake_run(tmp_path: Path, robot: str) -> Path:
    """A run folder whose checkpoint says it was trained for ``robot``."""
    run = tmp_path / "run"
    (run / "params").mkdir(parents=True)
    (run / "checkpoints").mkdir()
    (run / "params" / "env.yaml").write_text(f"robot_name: {robot}\n")
    (run / "params" / "args.yaml").write_text("task: WildRobot-AMP-Flat-v0\n")
    policy = {
        "net.0.weight": torch.zeros(8, 40),
        "net.0.bias": torch.zeros(8),
        "net.2.weight": torch.zeros(9, 8),
        "net.2.bias": torch.zeros(9),
        "log_std_parameter": torch.zeros(9),
    }
    torch.save({"policy": policy}, run / "checkpoints" / "agent_1.pt")
    return run / "checkpoints" / "agent_1.pt"


@pytest.mark.isaaclab
@needs_isaaclab
def test_play_refuses_a_checkpoint_of_another_robot(tmp_path):
    checkpoint = _fake_run(tmp_path, "wildrobot")
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "play.py"),
            "--task",
            "G1-29dof-AMP-Flat-Play-v0",
            "--checkpoint",
            str(checkpoint),
            "--headless",
            "--video",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "trained for robot 'wildrobot'" in errors[0] and "unitree_g1_29dof" in errors[0]
    assert not (checkpoint.parent.parent / "play").exists()


@pytest.mark.slow
@pytest.mark.isaaclab
@needs_isaaclab
def test_play_headless_video_and_record(tmp_path):
    out = tmp_path / "play"
    done = subprocess.run(
        [sys.executable, str(ROOT / "play.py"), "--task", TASK, "--zero_policy", "--headless", "--num_envs", "2",
         "--command", "0.2,0,0", "--video", "--video_length", "15", "--record", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    from wildrobot_amp_ext.evaluation.rollout import Rollout

    rollout = Rollout.load(out / "rollout.npz")
    assert rollout.num_steps == 15 and rollout.num_envs == 2 and rollout.robot == "wildrobot"
    np.testing.assert_allclose(rollout.command, np.broadcast_to([0.2, 0.0, 0.0], (15, 2, 3)), atol=1e-7)
    if (out / "play.mp4").exists():  # no GL backend: the video step is skipped with a message
        import imageio.v2 as imageio

        frames = [f for f in imageio.get_reader(out / "play.mp4")]
        assert len(frames) >= 5 and frames[-1].std() > 10
