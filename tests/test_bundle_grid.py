"""The deploy bundle in MuJoCo on a command grid (evaluation/bundle_grid.py): same rollout schema, same metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_deploy import export_bundle  # tests/ is on sys.path (pytest's prepend import mode)

from wildrobot_amp_ext.deploy.bundle import load_bundle
from wildrobot_amp_ext.evaluation.bundle_grid import BundleGridCfg, grid_report, run_bundle_grid
from wildrobot_amp_ext.evaluation.robustness import main
from wildrobot_amp_ext.evaluation.rollout import Rollout

COMMANDS = [(0.0, 0.0, 0.0), (0.3, 0.0, 0.0), (0.0, 0.0, 0.5)]


@pytest.fixture(scope="module")
def standing(tmp_path_factory):
    """A zero-output policy: it holds the default pose, so its errors are the commands' magnitudes."""
    folder = tmp_path_factory.mktemp("bundle")
    robot, *_ = export_bundle(folder, gain=0.0)
    bundle = load_bundle(folder)
    cfg = BundleGridCfg(commands=COMMANDS, episodes_per_command=2, duration_s=2.0, seed=3)
    return robot, bundle, cfg, run_bundle_grid(bundle, robot, cfg)


def test_a_standing_policy_scores_the_commands_it_ignores_as_its_errors(standing):
    robot, bundle, cfg, rollout = standing
    report = grid_report(rollout, cfg)
    assert report["overall"]["falls"] == 0 and report["overall"]["episodes"] == len(COMMANDS) * 2
    per = {tuple(e["command"]): e for e in report["per_command"]}
    assert per[(0.0, 0.0, 0.0)]["lin_vel_error_mean"] < 0.02
    assert abs(per[(0.3, 0.0, 0.0)]["lin_vel_error_mean"] - 0.3) < 0.02
    assert abs(per[(0.0, 0.0, 0.5)]["ang_vel_error_mean"] - 0.5) < 0.02
    # both feet stay down: no single stance, no slip
    assert per[(0.3, 0.0, 0.0)]["single_stance_fraction"] == 0.0 and per[(0.3, 0.0, 0.0)]["slip_rate"] < 0.05


def test_the_rollout_has_the_isaac_lab_schema_and_round_trips(standing, tmp_path):
    robot, bundle, cfg, rollout = standing
    steps = int(round(cfg.duration_s / bundle["step_dt"]))
    assert rollout.root_pos.shape == (steps, 6, 3) and rollout.joint_pos.shape == (steps, 6, robot.num_joints)
    assert rollout.contact_pos.shape == (steps, 6, 4, 3) and rollout.fps == pytest.approx(50.0)
    # standing on the floor: the root stays at its height, the contact points on the ground
    assert np.all(np.abs(rollout.root_pos[-1, :, 2] - robot.init_root_height) < 0.05)
    assert np.all(rollout.contact_pos[-1, :, :, 2] < 0.03)
    # each episode starts from a different heading (the task's reset noise)
    assert np.unique(np.round(rollout.root_quat[0, :, 3], 3)).size == 6
    loaded = Rollout.load(rollout.save(tmp_path / "rollout.npz"))
    assert np.array_equal(loaded.joint_pos, rollout.joint_pos) and loaded.meta["simulator"] == "mujoco"


def test_a_fall_ends_the_episode_and_restarts_it_like_isaac_lab(tmp_path):
    """A bundle whose minimum root height is above the standing height: every step is a fall and a restart."""
    robot, *_ = export_bundle(tmp_path, gain=0.0)
    bundle = load_bundle(tmp_path)
    bundle.deploy["terminations"] = {"min_root_height": 10.0, "max_tilt_rad": None}
    cfg = BundleGridCfg(commands=[(0.0, 0.0, 0.0)], episodes_per_command=1, duration_s=0.2)
    rollout = run_bundle_grid(bundle, robot, cfg)
    assert rollout.terminated.all()
    report = grid_report(rollout, cfg)
    assert report["overall"]["falls"] == 10 and report["overall"]["fall_rate"] == pytest.approx(10 / 11, abs=0.1)


def test_sim2sim_grid_cli_writes_the_evaluation_layout_and_refuses_a_bad_grid(tmp_path, capsys):
    export_bundle(tmp_path / "bundle", gain=0.0)
    out = tmp_path / "out"
    argv = ["--bundle", str(tmp_path / "bundle"), "--grid", "0,0,0;0.2,0,0", "--episodes", "1", "--duration", "1"]
    assert main([*argv, "--out", str(out)]) == 0
    report = json.loads((out / "mujoco_grid.json").read_text())
    assert [e["command"] for e in report["per_command"]] == [[0.0, 0.0, 0.0], [0.2, 0.0, 0.0]]
    assert {"lin_vel_error_mean", "fall_rate", "slip_rate", "single_stance_fraction"} <= set(report["overall"])
    assert Rollout.load(out / "rollout.npz").num_envs == 2
    with pytest.raises(SystemExit) as stop:
        main(["--bundle", str(tmp_path / "bundle"), "--grid", "0,0", "--out", str(tmp_path / "bad")])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "--command" in err and not (tmp_path / "bad").exists()
