"""The shipped WildRobot policy (pretrained/wildrobot_walk/): its files are all there and agree with each other, and
its deploy bundle, run again in MuJoCo on a slice of the command grid, reproduces the shipped MuJoCo metrics.

Not a retraining: this checks that what the README reports is what the shipped files do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from wildrobot_amp_ext.deploy.bundle import load_bundle
from wildrobot_amp_ext.evaluation.bundle_grid import BundleGridCfg, grid_report, run_bundle_grid
from wildrobot_amp_ext.robots import load_robot

SHIPPED = Path(__file__).resolve().parents[1] / "pretrained" / "wildrobot_walk"
#: the grid commands replayed here (standing, a forward walk, a forward turn): the slice of the shipped grid
SLICE = [(0.0, 0.0, 0.0), (0.3, 0.0, 0.0), (0.3, 0.0, 0.5)]


def _shipped(name: str) -> dict:
    return json.loads((SHIPPED / name).read_text())


def test_the_shipped_folder_holds_every_file_the_readme_promises():
    names = {p.name for p in SHIPPED.iterdir()}
    expected = {"policy.onnx", "deploy.yaml", "metrics.json", "mujoco_grid.json", "robustness.json", "curves.png",
                "walk.mp4", "walk.png", "params", "checkpoints", "reference.npz"}  # fmt: skip
    assert expected <= names, sorted(expected - names)
    # a run folder's layout, so play.py / wildrobot-evaluate find the run's params next to the checkpoint
    assert len(list((SHIPPED / "checkpoints").glob("agent_*.pt"))) == 1
    assert {p.name for p in (SHIPPED / "params").iterdir()} >= {"env.yaml", "agent.yaml"}
    assert (SHIPPED / "walk.mp4").stat().st_size <= 3 * 1024 * 1024
    # the Isaac Lab evaluation and the MuJoCo grid were measured on the same commands
    isaac = [e["command"] for e in _shipped("metrics.json")["per_command"]]
    assert isaac == [e["command"] for e in _shipped("mujoco_grid.json")["per_command"]]
    assert all(list(c) in isaac for c in SLICE)
    deploy = yaml.safe_load((SHIPPED / "deploy.yaml").read_text())
    assert deploy["robot"] == "wildrobot" and deploy["commands"]["lin_vel_x"][1] >= 0.5


def test_the_shipped_bundle_reproduces_its_mujoco_metrics_on_a_grid_slice():
    bundle = load_bundle(SHIPPED)
    robot = load_robot(bundle["robot"])
    shipped = _shipped("mujoco_grid.json")
    cfg_shipped = shipped["eval_cfg"]
    cfg = BundleGridCfg(commands=SLICE, episodes_per_command=2, duration_s=cfg_shipped["duration_s"], seed=0)
    report = grid_report(run_bundle_grid(bundle, robot, cfg), cfg)
    by_command = {tuple(e["command"]): e for e in shipped["per_command"]}
    for entry in report["per_command"]:
        ref = by_command[tuple(entry["command"])]
        # fewer episodes than the shipped grid: the means agree within the policy's episode-to-episode spread
        assert entry["lin_vel_error_mean"] == pytest.approx(ref["lin_vel_error_mean"], abs=0.06), entry["command"]
        assert entry["ang_vel_error_mean"] == pytest.approx(ref["ang_vel_error_mean"], abs=0.12), entry["command"]
        assert entry["fall_rate"] <= ref["fall_rate"] + 0.5, entry["command"]
