"""``wildrobot-sim2sim``: an exported policy in MuJoCo through the deploy bundle only, and its robustness sweep.

``wildrobot-sim2sim --checkpoint CKPT --sweep`` exports the checkpoint (deploy bundle), then runs the bundle's
robot-side program (:mod:`wildrobot_amp_ext.deploy.runner`) in MuJoCo once per condition, each over the same command
schedule, changing one thing at a time from the nominal robot:

==============  ==============================================================================================
factor          values (nominal first)
==============  ==============================================================================================
friction        1.0, 0.6, 0.3 (every geom: MuJoCo takes the larger of two touching geoms')
mass            +0 %, -10 %, +20 % (every body's mass and inertia)
latency         0, 10, 20 ms between the policy's output and the actuators (whole physics steps)
encoder bias    0, +-0.03 rad (a fixed random offset per joint on the positions the policy reads)
IMU noise       0, 0.1 (uniform +-0.1 rad/s on the gyro, +-0.1 x 0.25 rad tilt on the orientation)
pushes          0, 0.5 m/s scaled by sqrt(root height / 0.78 m) (a root velocity change every 2-4 s)
==============  ==============================================================================================

plus one row with every factor at its harsher value ("combined"). Command schedule (scaled to the bundle's
command ranges): stand 2 s, walk at half the top forward speed 3 s, the same while turning at half the top yaw
rate 2 s, the top forward speed 3 s.

Per condition (``robustness.json``, one row each): ``lin_vel_error`` (mean |v_xy - command| in the heading frame,
m/s), ``yaw_rate_error`` (mean |w_z - command|, rad/s), ``fell`` (root below the bundle's minimum height or tilted
beyond its limit), ``completion`` (fraction of the schedule run before a fall). A row passes when it did not fall
and its errors are within the thresholds (:class:`SweepThresholds`: 0.25 m/s and 0.5 rad/s by default, loose
because a CPU-trained policy tracks coarsely); the verdict is in the JSON, the exit status is 0 either way.

``wildrobot-sim2sim --bundle B --grid "0,0,0;0.3,0,0" --episodes 4`` instead scores the bundle on a command grid with
the Isaac Lab evaluation's own metrics and style metric (:mod:`wildrobot_amp_ext.evaluation.bundle_grid`):
``mujoco_grid.json`` in ``wildrobot-evaluate``'s layout and a ``rollout.npz`` the motion viewer plays.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from wildrobot_amp_ext.deploy.bundle import load_bundle
from wildrobot_amp_ext.deploy.runner import DeployedPolicy, MujocoRobot, quat_to_matrix
from wildrobot_amp_ext.errors import cli_entry
from wildrobot_amp_ext.utils.atomic import atomic_path, save_json_atomic
from wildrobot_amp_ext.utils.cli import CliParser, add_config, opt


@dataclass(frozen=True)
class Condition:
    name: str
    friction: float | None = None  # None: the model's own
    mass_scale: float = 1.0
    latency_ms: float = 0.0
    encoder_bias: float = 0.0
    imu_noise: float = 0.0
    push_velocity: float = 0.0


def conditions() -> list[Condition]:
    """Nominal, one factor at a time, then all harsher values together."""
    out = [Condition("nominal")]
    out += [Condition(f"friction {f}", friction=f) for f in (0.6, 0.3)]
    out += [Condition(f"mass {s - 1:+.0%}", mass_scale=s) for s in (0.9, 1.2)]
    out += [Condition(f"latency {ms:g} ms", latency_ms=ms) for ms in (10.0, 20.0)]
    out += [Condition("encoder bias 0.03 rad", encoder_bias=0.03), Condition("IMU noise 0.1", imu_noise=0.1)]
    out += [Condition("pushes 0.5 m/s (G1 size)", push_velocity=0.5)]
    out.append(Condition("combined", 0.3, 1.2, 20.0, 0.03, 0.1, 0.5))
    return out


@dataclass
class SweepThresholds:
    max_lin_vel_error: float = 0.25
    max_yaw_rate_error: float = 0.5


@dataclass
class SweepCfg:
    seed: int = 0
    thresholds: SweepThresholds = field(default_factory=SweepThresholds)
    #: (seconds, fraction of the top vx, of the top wz)
    schedule: tuple[tuple[float, float, float], ...] = (
        (2.0, 0.0, 0.0),
        (3.0, 0.5, 0.0),
        (2.0, 0.5, 0.5),
        (3.0, 1.0, 0.0),
    )


def command_schedule(bundle, cfg: SweepCfg) -> np.ndarray:
    """(steps, 3) commands, one per policy step."""
    ranges = bundle["commands"]
    vx, wz = max(ranges.get("lin_vel_x", [0.0, 0.0])), max(ranges.get("ang_vel_z", [0.0, 0.0]))
    rows = [
        [fx * vx, 0.0, fw * wz] for seconds, fx, fw in cfg.schedule for _ in range(round(seconds / bundle["step_dt"]))
    ]
    return np.asarray(rows, dtype=np.float64)


def _apply_condition(model, c: Condition) -> None:
    if c.friction is not None:
        model.geom_friction[:, 0] = c.friction
    if c.mass_scale != 1.0:
        model.body_mass[:] *= c.mass_scale
        model.body_inertia[:] *= c.mass_scale


def _noisy_quat(q: np.ndarray, angle: float, rng) -> np.ndarray:
    """``q`` (wxyz) turned by a small random rotation of up to ``angle`` rad about a random horizontal axis."""
    if angle <= 0:
        return q
    axis = np.array([*rng.normal(size=2), 0.0])
    axis /= np.linalg.norm(axis)
    half = 0.5 * rng.uniform(-angle, angle)
    d = np.array([math.cos(half), *(math.sin(half) * axis)])
    w1, x1, y1, z1 = d
    w2, x2, y2, z2 = q
    return np.array([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                     w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2])  # fmt: skip


def run_condition(bundle, world, c: Condition, cfg: SweepCfg) -> dict:
    """One rollout of the bundle's policy under condition ``c`` over the command schedule."""
    import mujoco

    model, data = world()
    _apply_condition(model, c)
    mujoco.mj_forward(model, data)
    rng = np.random.default_rng(cfg.seed)
    policy, robot = DeployedPolicy(bundle), MujocoRobot(model, data, bundle)
    sim_dt, decimation = float(bundle["sim_dt"]), int(bundle["decimation"])
    delay = int(round(c.latency_ms / 1000.0 / sim_dt))
    bias = rng.uniform(-c.encoder_bias, c.encoder_bias, bundle.num_joints)
    push_scale = c.push_velocity * math.sqrt(max(float(data.qpos[2]), 0.05) / 0.78)
    next_push = rng.uniform(2.0, 4.0)
    ends = bundle.deploy.get("terminations") or {}
    low, tilt = ends.get("min_root_height"), ends.get("max_tilt_rad")
    commands = command_schedule(bundle, cfg)
    # targets in flight to the actuators, one per physics step: the actuators get the one `delay` steps old
    in_flight = deque([policy.offset.copy()] * delay)
    lin_err, yaw_err, fell, steps = [], [], False, 0
    for k, command in enumerate(commands):
        r = robot.readings()
        r["q"] = r["q"] + bias
        r["imu_gyro"] = r["imu_gyro"] + rng.uniform(-c.imu_noise, c.imu_noise, 3)
        r["imu_quat"] = _noisy_quat(r["imu_quat"], 0.25 * c.imu_noise, rng)
        target = policy.targets(policy.act(r, command))
        for _ in range(decimation):
            in_flight.append(target)
            robot.command(in_flight.popleft())
            robot.step()
        if push_scale > 0 and (k + 1) * bundle["step_dt"] >= next_push:
            data.qvel[0:2] += rng.uniform(-push_scale, push_scale, 2)
            next_push += rng.uniform(2.0, 4.0)
        mujoco.mj_forward(model, data)
        steps = k + 1
        rot = quat_to_matrix(data.qpos[3:7])
        yaw = math.atan2(rot[1, 0], rot[0, 0])
        c_, s_ = math.cos(yaw), math.sin(yaw)
        v_heading = np.array([c_ * data.qvel[0] + s_ * data.qvel[1], -s_ * data.qvel[0] + c_ * data.qvel[1]])
        lin_err.append(float(np.linalg.norm(v_heading - command[:2])))
        yaw_err.append(abs(float((rot @ data.qvel[3:6])[2]) - command[2]))
        if (low is not None and data.qpos[2] < low) or (
            tilt is not None and math.acos(np.clip(rot[2, 2], -1, 1)) > tilt
        ):
            fell = True
            break
    t = cfg.thresholds
    row = {
        **asdict(c),
        "lin_vel_error": float(np.mean(lin_err)),
        "yaw_rate_error": float(np.mean(yaw_err)),
        "fell": fell,
        "completion": steps / len(commands),
    }
    row["pass"] = (
        (not fell) and row["lin_vel_error"] <= t.max_lin_vel_error and row["yaw_rate_error"] <= t.max_yaw_rate_error
    )
    return row


def run_sweep(bundle, world, cfg: SweepCfg | None = None, only: list[Condition] | None = None) -> dict:
    cfg = cfg or SweepCfg()
    rows = [run_condition(bundle, world, c, cfg) for c in (only or conditions())]
    return {
        "robot": bundle["robot"],
        "thresholds": asdict(cfg.thresholds),
        "schedule": [list(s) for s in cfg.schedule],
        "seconds": len(command_schedule(bundle, cfg)) * bundle["step_dt"],
        "rows": rows,
        "passed": sum(r["pass"] for r in rows),
        "verdict": "robust" if all(r["pass"] for r in rows) else "not robust",
    }


def format_table(report: dict) -> str:
    lines = [f"{'condition':28s} {'lin err':>8} {'yaw err':>8} {'fell':>5} {'done':>6} {'pass':>5}"]
    for r in report["rows"]:
        lines.append(f"{r['name']:28s} {r['lin_vel_error']:8.3f} {r['yaw_rate_error']:8.3f} {str(r['fell']):>5} "
                     f"{r['completion']:6.0%} {str(r['pass']):>5}")  # fmt: skip
    lines.append(f"verdict: {report['verdict']} ({report['passed']}/{len(report['rows'])} conditions pass)")
    return "\n".join(lines)


def plot(report: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["rows"]
    names = [r["name"] for r in rows]
    fig, ax = plt.subplots(figsize=(10, 4))
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [r["lin_vel_error"] for r in rows], 0.4, label="lin vel error (m/s)")
    ax.bar(x + 0.2, [r["yaw_rate_error"] for r in rows], 0.4, label="yaw rate error (rad/s)")
    for i, r in enumerate(rows):
        if r["fell"]:
            ax.annotate(f"fell at {r['completion']:.0%}", (i, 0), rotation=90, ha="center", va="bottom", color="red")
    ax.axhline(report["thresholds"]["max_lin_vel_error"], ls="--", lw=0.8, color="C0")
    ax.set_xticks(x, names, rotation=35, ha="right", fontsize=8)
    ax.set_title(f"{report['robot']} sim2sim robustness (MuJoCo): {report['verdict']}")
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return path


# ----------------------------------------------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class Sim2simArgs:
    """``wildrobot-sim2sim``'s flags."""

    checkpoint: str | None = opt(
        None, exclusive="policy", required=True, help="agent_<timestep>.pt (exported first, into <out>/exported)"
    )
    bundle: str | None = opt(None, exclusive="policy", help="a folder with deploy.yaml + policy.onnx")
    robot: str | None = opt(None, help="the MuJoCo model to drive (default: the bundle's robot)")
    sweep: bool = opt(False, help="run every condition; write robustness.json + .png")
    grid: str | None = opt(
        None,
        help='"vx,vy,wz;..." commands: score the bundle on this grid with the Isaac Lab evaluation\'s metrics '
        "(mujoco_grid.json + rollout.npz; evaluation/bundle_grid.py) instead of the sweep",
    )
    episodes: int = opt(4, help="--grid: episodes (envs) per command")
    duration: float = opt(10.0, help="--grid: seconds per episode")
    reference: str | None = opt(None, help="--grid: reference dataset .npz for the style metric")
    out: str | None = opt(None, help="output folder (default: <run>/sim2sim or the bundle folder)")
    seed: int = 0


def build_parser():
    p = CliParser(description="Run an exported policy in MuJoCo from its deploy bundle; --sweep: robustness report")
    add_config(p, Sim2simArgs)
    return p


def run_cli(argv=None) -> int:
    args = build_parser().parse_args(argv)
    # a --bundle is read (and a bad one refused) before the exporter's torch loads: seconds, not tens of seconds
    bundle = load_bundle(args.bundle) if args.bundle else None  # --bundle and --checkpoint exclude each other
    from wildrobot_amp_ext.evaluation import sim2sim_run  # why here: torch, ONNX, MuJoCo; --help stays fast

    bundle, robot, out = sim2sim_run.bundle_and_robot(args, bundle)
    if args.grid is not None:
        return sim2sim_run.run_grid(args, bundle, robot, out)
    cfg = SweepCfg(seed=args.seed)
    world = sim2sim_run.world_factory(robot, bundle)
    report = run_sweep(bundle, world, cfg, None if args.sweep else [Condition("nominal")])
    name = "robustness" if args.sweep else "nominal"
    save_json_atomic(out / f"{name}.json", report)
    png = plot(report, out / f"{name}.png")
    print(format_table(report))
    print(f"[sim2sim] -> {out / f'{name}.json'}, {png}")
    return 0


def main(argv=None) -> int:
    return cli_entry(run_cli)(argv)


if __name__ == "__main__":
    raise SystemExit(main())
