"""wildrobot-sim2sim --sweep: the bundle-only runner in MuJoCo over robustness conditions (evaluation/robustness.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_deploy import export_bundle  # tests/ is on sys.path (pytest's prepend import mode)

from wildrobot_amp_ext.deploy.bundle import load_bundle
from wildrobot_amp_ext.deploy.sim2sim import mujoco_world
from wildrobot_amp_ext.evaluation.robustness import Condition, SweepCfg, command_schedule, conditions, main, run_sweep


def test_a_policy_that_stands_still_has_the_commanded_speed_as_its_error(tmp_path):
    """A zero-output policy holds the default pose: no fall, and its velocity error is the commanded speed."""
    robot, *_ = export_bundle(tmp_path, gain=0.0)
    bundle = load_bundle(tmp_path)
    report = run_sweep(bundle, lambda: mujoco_world(robot, bundle["sim_dt"]), only=[Condition("nominal")])
    row = report["rows"][0]
    commands = command_schedule(bundle, SweepCfg())
    expected = float(np.mean(np.linalg.norm(commands[:, :2], axis=1)))
    assert not row["fell"] and row["completion"] == 1.0
    assert abs(row["lin_vel_error"] - expected) < 0.02, (row["lin_vel_error"], expected)
    assert not row["pass"] and report["verdict"] == "not robust"  # it does not walk


def test_sweep_cli_writes_one_row_per_condition_a_png_and_a_verdict(tmp_path, capsys):
    """A policy that reacts to what it reads (random weights): the conditions change its rollout."""
    export_bundle(tmp_path / "bundle", gain=1.0)
    assert main(["--bundle", str(tmp_path / "bundle"), "--sweep", "--out", str(tmp_path / "out")]) == 0
    report = json.loads((tmp_path / "out" / "robustness.json").read_text())
    assert (tmp_path / "out" / "robustness.png").stat().st_size > 1000
    assert [r["name"] for r in report["rows"]] == [c.name for c in conditions()]
    assert {"lin_vel_error", "yaw_rate_error", "fell", "completion", "pass"} <= set(report["rows"][0])
    assert report["verdict"] in ("robust", "not robust")
    # every factor acts on a policy that reads its inputs: the rows differ from the nominal one
    nominal = report["rows"][0]
    same = [
        r["name"]
        for r in report["rows"][1:]
        if (r["lin_vel_error"], r["completion"]) == (nominal["lin_vel_error"], nominal["completion"])
    ]
    assert not same, same
    assert "verdict:" in capsys.readouterr().out


def test_sweep_refuses_a_bundle_that_does_not_fit_the_robot(tmp_path, capsys):
    export_bundle(tmp_path / "bundle")
    with pytest.raises(SystemExit) as stop:
        main(["--bundle", str(tmp_path / "bundle"), "--robot", "unitree_g1_23dof", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "joint_names" in err and len(err.strip().splitlines()) == 1
