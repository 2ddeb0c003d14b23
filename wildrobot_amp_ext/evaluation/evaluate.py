"""Evaluation: a fixed set of velocity commands over many envs, metrics as JSON and a PNG summary.

Each command (vx, vy, wz) drives ``envs_per_command`` envs for ``duration_s`` (commands pinned, no heading control,
no reference-state init, no pushes, no observation noise), the rollout is recorded and
:func:`wildrobot_amp_ext.evaluation.metrics.rollout_metrics` runs over all envs and per command.

Outputs (``out_dir``): ``metrics.json`` (``overall`` + ``per_command``), ``summary.png``, ``rollout.npz`` (plays in
the motion viewer). Entry points: ``play.py --eval`` (checkpoint) and :func:`evaluate` (any ``act`` function, e.g. a
zero-action policy).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.evaluation.env_loop import (
    RolloutRecorder,
    pin_commands_in_cfg,
    pin_velocity_commands,
    run_policy,
)
from wildrobot_amp_ext.evaluation.metrics import MetricsCfg, rollout_metrics
from wildrobot_amp_ext.evaluation.rollout import Rollout
from wildrobot_amp_ext.evaluation.style_metric import StyleMetricCfg, format_style, rollout_style
from wildrobot_amp_ext.utils.atomic import atomic_path, save_json_atomic

Command = tuple[float, float, float]


@dataclass
class EvalCfg:
    #: (vx, vy, wz) commands; None: :func:`default_commands` from the task's command ranges
    commands: list[Command] | None = None
    envs_per_command: int = 4
    duration_s: float = 10.0
    #: reference-state init off: every policy starts from the task's default reset distribution
    disable_rsi: bool = True
    save_rollout: bool = True
    metrics: MetricsCfg = field(default_factory=MetricsCfg)
    #: the style metric against the env's reference dataset (evaluation.style_metric); needs ``duration_s`` > 2 s
    style: StyleMetricCfg = field(default_factory=StyleMetricCfg)


def default_commands(env_cfg) -> list[Command]:
    """Standing, half and full forward speed, sideways, turning, and a forward turn: fractions of the task's ranges."""
    r = env_cfg.commands.base_velocity.ranges
    vx, vy, wz = max(r.lin_vel_x[1], 0.0), max(r.lin_vel_y[1], 0.0), max(r.ang_vel_z[1], 0.0)
    commands = [
        (0.0, 0.0, 0.0),
        (0.5 * vx, 0.0, 0.0),
        (vx, 0.0, 0.0),
        (0.0, vy, 0.0),
        (0.0, 0.0, 0.5 * wz),
        (0.5 * vx, 0.0, 0.5 * wz),
    ]
    unique: list[Command] = []
    for c in commands:
        c = tuple(round(float(v), 4) for v in c)
        if c not in unique:
            unique.append(c)  # type: ignore[arg-type]
    return unique


def parse_commands(text: str) -> list[Command]:
    """``"0.3,0,0;0,0,0.5"`` -> [(0.3, 0, 0), (0, 0, 0.5)]."""
    out: list[Command] = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        try:
            values = tuple(float(v) for v in part.split(","))
        except ValueError:
            values = ()
        if len(values) != 3 or not all(math.isfinite(v) for v in values):
            raise InputError(
                None, "--command(s)", f"'{part}' is not vx,vy,wz", "e.g. 0.3,0,0 (several: 0.3,0,0;0,0,0.5)"
            )
        out.append(values)  # type: ignore[arg-type]
    if not out:
        raise InputError(None, "--command(s)", "no command given", "e.g. 0.3,0,0")
    return out


def prepare_eval_cfg(env_cfg, cfg: EvalCfg) -> list[Command]:
    """Edit a task's env config for evaluation; returns the commands (one block of envs each)."""
    commands = cfg.commands or default_commands(env_cfg)
    env_cfg.scene.num_envs = len(commands) * cfg.envs_per_command
    pin_commands_in_cfg(env_cfg)
    if cfg.disable_rsi and getattr(env_cfg.events, "reference_state_init", None) is not None:
        env_cfg.events.reference_state_init = None
    if getattr(env_cfg.events, "push_robot", None) is not None:
        env_cfg.events.push_robot = None
    env_cfg.observations.policy.enable_corruption = False
    return commands


def evaluate(
    env,
    act: Callable[[torch.Tensor], torch.Tensor],
    cfg: EvalCfg,
    commands: Sequence[Command],
    *,
    disc: Callable[[torch.Tensor], torch.Tensor | None] | None = None,
    task: str = "",
    meta: dict | None = None,
) -> tuple[Rollout, dict]:
    """Run the commands (envs in blocks of ``envs_per_command``) and compute the metrics."""
    unwrapped = env.unwrapped
    k = cfg.envs_per_command
    if unwrapped.num_envs != len(commands) * k:
        raise ValueError(f"env has {unwrapped.num_envs} envs, evaluation needs {len(commands)} commands x {k}")
    command_of_env = np.repeat(np.arange(len(commands)), k)
    pin_velocity_commands(env, np.asarray(commands, dtype=np.float32)[command_of_env])
    steps = int(math.ceil(cfg.duration_s / float(unwrapped.step_dt)))
    recorder = RolloutRecorder(env, steps, record_disc=disc is not None)
    start = time.perf_counter()
    run_policy(env, act, steps, recorder, disc=disc, desc="eval")
    wall = time.perf_counter() - start
    rollout = recorder.rollout(
        task, meta={"commands": [list(c) for c in commands], "command_of_env": command_of_env.tolist(), **(meta or {})}
    )
    spec = getattr(unwrapped, "amp_feature_spec", None)  # the env's contact rule thresholds
    if spec is not None:
        cfg = replace(
            cfg, metrics=replace(cfg.metrics, contact_height=spec.contact_height, contact_speed=spec.contact_speed)
        )
    report = {
        "task": task,
        "robot": rollout.robot,
        **(meta or {}),
        "eval_cfg": asdict(cfg) | {"commands": [list(c) for c in commands]},
        "env_steps_per_second": steps * unwrapped.num_envs / wall,
        "overall": rollout_metrics(rollout, cfg.metrics),
        "per_command": [
            {"command": list(c), **rollout_metrics(rollout, cfg.metrics, np.flatnonzero(command_of_env == i))}
            for i, c in enumerate(commands)
        ],
    }
    dataset = getattr(getattr(unwrapped.cfg, "amp", None), "dataset", None)
    if spec is not None and dataset:
        report["style"] = {
            "reference": str(dataset),
            **rollout_style(rollout, dataset, spec, unwrapped.robot, cfg.style),
        }
    return rollout, report


def write_outputs(report: dict, rollout: Rollout | None, out_dir: str | Path) -> dict[str, Path]:
    out_dir = Path(out_dir)
    paths = {"metrics": out_dir / "metrics.json", "summary": out_dir / "summary.png"}
    save_json_atomic(paths["metrics"], report)
    plot_summary(report, paths["summary"])
    if rollout is not None:
        paths["rollout"] = rollout.save(out_dir / "rollout.npz")
    return paths


def _value(entry: dict, key: str) -> float:
    v = entry.get(key)
    return float("nan") if v is None else float(v)


#: the summary's paired-bar panels: (row, col), title, y limit, then (metric, label, colour) left and right of each
#: command's tick
_PAIRED_PANELS = (
    (
        (0, 1), "tracking error", None,
        ("lin_vel_error_mean", "|v_xy - cmd| (m/s)", "#0072b2"),
        ("ang_vel_error_mean", "|w_z - cmd| (rad/s)", "#d55e00"),
    ),
    (
        (0, 2), "falls", (0, 1.05),
        ("fall_rate", "fall rate (per episode)", "#cc79a7"),
        ("first_episode_fall_fraction", "envs fallen in 1st episode", "#e69f00"),
    ),
    (
        (1, 0), "foot slip while in contact", None,
        ("slip_speed_mean", "mean slip speed (m/s)", "#009e73"),
        ("slip_rate", "slip rate (> threshold)", "#56b4e9"),
    ),
    (
        (1, 2), "discriminator on policy AMP features", None,
        ("disc_prob_mean", "mean D(policy)", "#0072b2"),
        ("style_reward_mean", "mean style reward", "#e69f00"),
    ),
)  # fmt: skip
_BAR_WIDTH = 0.38


def _plot_velocity(ax, per: list[dict], x: np.ndarray) -> None:
    """Commanded vs achieved forward speed (bars) and turn rate (markers), heading frame."""
    w = _BAR_WIDTH
    ax.bar(x - w / 2, [e["command"][0] for e in per], w, label="commanded vx", color="#bbbbbb")
    ax.bar(x + w / 2, [_value(e, "lin_vel_x_mean") for e in per], w, label="achieved vx", color="#0072b2")
    ax.plot(x, [_value(e, "ang_vel_z_mean") for e in per], "o", color="#d55e00", label="achieved wz")
    ax.plot(x, [e["command"][2] for e in per], "x", color="#d55e00", label="commanded wz")
    ax.set_title("velocity (heading frame)")
    ax.legend(fontsize=8)


def _plot_paired(ax, per: list[dict], x: np.ndarray, title: str, ylim, left: tuple, right: tuple) -> None:
    """Two metrics per command, side by side."""
    w = _BAR_WIDTH
    for offset, (key, label, colour) in ((-w / 2, left), (w / 2, right)):
        ax.bar(x + offset, [_value(e, key) for e in per], w, label=label, color=colour)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_title(title)
    ax.legend(fontsize=8)


def _plot_contact_pattern(ax, per: list[dict], x: np.ndarray) -> None:
    """Stacked stance fractions (single, double, flight) and the step alternation per command."""
    bottom = np.zeros(len(per))
    for key, colour, name in (
        ("single_stance_fraction", "#0072b2", "single"),
        ("double_stance_fraction", "#999999", "double"),
        ("flight_fraction", "#f0e442", "flight"),
    ):
        vals = np.nan_to_num([_value(e, key) for e in per])
        ax.bar(x, vals, 0.6, bottom=bottom, color=colour, label=f"{name} stance" if name != "flight" else "flight")
        bottom += vals
    ax.plot(x, [_value(e, "step_alternation") for e in per], "kD", label="step alternation")
    ax.set_ylim(0, 1.05)
    ax.set_title("contact pattern")
    ax.legend(fontsize=8)


def _summary_title(report: dict) -> str:
    o = report["overall"]

    def fmt(key: str, spec: str = ".3f") -> str:
        v = o.get(key)
        return "n/a" if v is None else format(v, spec)

    return (
        f"{report.get('task', '')}  {report.get('checkpoint', '') and Path(str(report.get('checkpoint'))).name}   "
        f"envs {o['envs']} x {o['steps']} steps   |v err| {fmt('lin_vel_error_mean')} m/s   "
        f"|w err| {fmt('ang_vel_error_mean')} rad/s   fall rate {fmt('fall_rate')}   "
        f"slip {fmt('slip_speed_mean')} m/s   alternation {fmt('step_alternation', '.2f')}"
    )


def plot_summary(report: dict, path: str | Path) -> Path:
    """One PNG: per command, tracking (commanded vs achieved), errors, falls, slip, stance pattern, style score."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    per = report["per_command"]
    labels = ["({:g}, {:g}, {:g})".format(*e["command"]) for e in per]
    x = np.arange(len(per))
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    _plot_velocity(axes[0, 0], per, x)
    for cell, title, ylim, left, right in _PAIRED_PANELS:
        _plot_paired(axes[cell], per, x, title, ylim, left, right)
    _plot_contact_pattern(axes[1, 1], per, x)
    for ax in axes.flat:
        ax.set_xticks(x, labels, rotation=20, fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(_summary_title(report), fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
    return path


def format_report(report: dict) -> str:
    text = _format_commands(report)
    return text + ("\n" + format_style(report["style"]) if "style" in report else "")


def _format_commands(report: dict) -> str:
    lines = []
    for e in [{"command": "all", **report["overall"]}] + report["per_command"]:
        cmd = "all" if e["command"] == "all" else "({:+.2f}, {:+.2f}, {:+.2f})".format(*e["command"])

        def f(key: str, spec: str = ".3f", e: dict = e) -> str:  # e bound now: one entry per line
            v = e.get(key)
            return "  n/a" if v is None else format(v, spec)

        lines.append(
            f"[eval] {cmd:>22}  |v err| {f('lin_vel_error_mean')}  |w err| {f('ang_vel_error_mean')}  "
            f"fall {f('fall_rate')}  len {f('episode_length_s_mean_lower_bound', '.1f')}s  "
            f"slip {f('slip_speed_mean')}  single {f('single_stance_fraction', '.2f')}  "
            f"alt {f('step_alternation', '.2f')}  D {f('disc_prob_mean')}"
        )
    return "\n".join(lines)
