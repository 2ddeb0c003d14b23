"""``wildrobot-sim2sim``'s run once its flags are parsed (:mod:`.robustness`): the deploy bundle it drives (a
checkpoint exported first, or a bundle folder) and the MuJoCo robot standing for the real one, the ``--grid`` score,
and the MuJoCo world each robustness condition starts from. Loads torch, ONNX and MuJoCo, so the command's
``--help`` does not import this module."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from wildrobot_amp_ext.deploy.bundle import load_bundle
from wildrobot_amp_ext.deploy.checkpoint import read_checkpoint, run_dir_of
from wildrobot_amp_ext.deploy.export import export_checkpoint
from wildrobot_amp_ext.deploy.sim2sim import mujoco_world
from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.evaluation.bundle_grid import BundleGridCfg, grid_report, run_bundle_grid
from wildrobot_amp_ext.evaluation.evaluate import parse_commands
from wildrobot_amp_ext.robots import RobotSpec, load_robot
from wildrobot_amp_ext.utils.atomic import save_json_atomic


def bundle_and_robot(args: argparse.Namespace, bundle=None):
    """(bundle, robot, output folder): ``--checkpoint`` exported into ``<out>/exported`` (default ``<run>/sim2sim``),
    or ``--bundle`` (``bundle``: that folder already read); the robot is ``--robot`` or the bundle's."""
    if args.checkpoint:
        info = read_checkpoint(args.checkpoint)
        out = Path(args.out) if args.out else run_dir_of(info.path) / "sim2sim"
        export_checkpoint(info, out / "exported", require_deploy=True)
        folder = out / "exported"
    else:
        folder = Path(args.bundle)
        out = Path(args.out) if args.out else folder
    if bundle is None:
        bundle = load_bundle(folder)  # the runner reads only the bundle
    robot = load_robot(args.robot or bundle["robot"])  # the MuJoCo model standing for the real robot
    return bundle, robot, out


def world_factory(robot: RobotSpec, bundle) -> Callable:
    """A fresh MuJoCo (model, data) of ``robot`` at the bundle's physics step, one per condition."""

    def world():
        return mujoco_world(robot, bundle["sim_dt"])

    return world


def run_grid(args: argparse.Namespace, bundle, robot: RobotSpec, out: Path) -> int:
    """``--grid``: the bundle in MuJoCo on a command grid, scored like ``wildrobot-evaluate``."""
    if args.episodes < 1 or args.duration <= 0:
        raise InputError(None, "--episodes / --duration", "must be >= 1 / > 0", "e.g. --episodes 4 --duration 10")
    cfg = BundleGridCfg(parse_commands(args.grid), args.episodes, args.duration, args.seed)
    rollout = run_bundle_grid(bundle, robot, cfg)
    report = grid_report(rollout, cfg, args.reference, robot)
    save_json_atomic(out / "mujoco_grid.json", report)
    rollout.save(out / "rollout.npz")
    for entry in [{"command": "all", **report["overall"]}, *report["per_command"]]:
        print(f"[sim2sim grid] {str(entry['command']):>20}  |v err| {entry['lin_vel_error_mean']:.3f}  "
              f"|w err| {entry['ang_vel_error_mean']:.3f}  falls {entry['falls']}/{entry['episodes']}")  # fmt: skip
    if "style" in report:
        s = report["style"]
        print(f"[sim2sim grid] style: policy->reference {s['policy_to_reference']:.3f}, "
              f"reference->policy {s['reference_to_policy']:.3f}")  # fmt: skip
    print(f"[sim2sim grid] -> {out / 'mujoco_grid.json'}, {out / 'rollout.npz'}")
    return 0
