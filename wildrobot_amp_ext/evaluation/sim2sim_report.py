"""sim2sim compared: an exported policy's MuJoCo rollout (``deploy.sim2sim``) measured with the Isaac Lab
evaluation's own metrics and set beside that evaluation's figures at the same command (``play.py --sim2sim mujoco``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from wildrobot_amp_ext.deploy.bundle import DEPLOY_FILE, load_bundle
from wildrobot_amp_ext.deploy.sim2sim import Sim2SimCfg, mujoco_world, run_bundle_in_mujoco
from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.evaluation.metrics import MetricsCfg, as_tensor, episode_stats, velocity_tracking
from wildrobot_amp_ext.robots import load_robot
from wildrobot_amp_ext.utils.atomic import save_json_atomic


def rollout_metrics(rollout: dict[str, np.ndarray], control_dt: float) -> dict:
    """The Isaac Lab evaluation's fall and velocity-tracking metrics (``evaluation.metrics``) on a MuJoCo rollout
    (``deploy.sim2sim.run_bundle_in_mujoco``'s per-step arrays)."""
    col = {k: as_tensor(v).unsqueeze(1) for k, v in rollout.items() if k != "terminated"}  # (T, 1, ...)
    terminated = as_tensor(rollout["terminated"], None).bool().unsqueeze(1)
    truncated = torch.zeros_like(terminated)
    return {
        **episode_stats(terminated, truncated, control_dt),
        **velocity_tracking(
            col["root_quat"],
            col["root_lin_vel"],
            col["root_ang_vel"],
            col["command"],
            terminated,
            truncated,
            control_dt,
            MetricsCfg(),
        ),  # fmt: skip
        "steps": int(len(rollout["terminated"])),
        "seconds": float(len(rollout["terminated"]) * control_dt),
    }


def isaac_eval_at_command(path: Path, command) -> tuple[dict, str]:
    """The Isaac Lab eval's metrics at ``command`` (its per-command entry), or ({}, why there is none): comparing a
    one-command MuJoCo rollout with the eval's all-commands aggregate would compare different things."""
    if not path.is_file():
        return {}, f"no Isaac Lab eval in {path.parent}: {_eval_hint(command)}"
    for entry in json.loads(path.read_text()).get("per_command", []):
        if len(entry.get("command", ())) == 3 and all(abs(a - b) < 1e-6 for a, b in zip(entry["command"], command)):
            return entry, ""
    return {}, f"{path} has no rollout at command {_fmt_command(command)}: {_eval_hint(command)}"


def _eval_hint(command) -> str:
    return f'run wildrobot-evaluate (same --task, --checkpoint) with --eval_commands "{_fmt_command(command)}" first'


def _fmt_command(command) -> str:
    return ",".join(f"{float(c):g}" for c in command)


def compare_in_mujoco(result, command, duration_s: float, out_dir: Path) -> int:
    """Run an export's deploy bundle in MuJoCo at ``command`` (default 0.3, 0, 0) for ``duration_s``, write
    ``<out_dir>/sim2sim/metrics.json`` and print its metrics beside the Isaac Lab eval's at the same command."""
    meta = json.loads(Path(result.metadata).read_text())
    folder = Path(result.onnx).parent
    if not meta.get("deploy") or not (folder / DEPLOY_FILE).is_file():
        raise InputError(result.metadata, "deploy", "the export has no sim2sim contract (no deploy.yaml)",
                         "export the checkpoint of a robot task's run")  # fmt: skip
    robot = load_robot(meta.get("robot") or "wildrobot")
    bundle = load_bundle(folder, robot)  # the runner itself reads only the bundle; this also checks it fits robot
    cfg = Sim2SimCfg(command=command or (0.3, 0.0, 0.0), duration_s=duration_s)
    rollout = run_bundle_in_mujoco(bundle, *mujoco_world(robot, bundle["sim_dt"]), cfg)
    metrics = rollout_metrics(rollout, bundle["step_dt"])
    path = out_dir / "sim2sim" / "metrics.json"
    save_json_atomic(path, {"engine": "mujoco", "command": list(cfg.command), "deploy": bundle.deploy, **metrics})
    isaac = out_dir / "eval" / "metrics.json"
    other, where = isaac_eval_at_command(isaac, cfg.command)
    print(
        f"[sim2sim] command {cfg.command}, {metrics['seconds']:.1f} s"
        + (f"; Isaac Lab eval at the same command: {isaac}" if other else "")
    )
    if where:
        print(f"[sim2sim] no Isaac Lab column: {where}")
    print(f"  {'metric':36s} {'MuJoCo':>12}" + (f" {'Isaac Lab':>12}" if other else ""))

    def cell(value) -> str:
        return f"{value:12.4f}" if isinstance(value, float) else f"{value!s:>12}"

    for key in (
        "falls",
        "episode_length_s_mean_lower_bound",
        "lin_vel_error_mean",
        "ang_vel_error_mean",
        "lin_vel_x_mean",
    ):
        print(f"  {key:36s} {cell(metrics.get(key))}" + (f" {cell(other.get(key))}" if other else ""))
    print(f"[sim2sim] -> {path}")
    return 0
