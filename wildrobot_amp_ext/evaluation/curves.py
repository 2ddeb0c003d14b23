"""Learning curves of a training run as one PNG (what TensorBoard shows, for a README or a report).

Reads the run's TensorBoard event files (``logs/skrl/<task>/<run>/events.out.tfevents.*``, written by the agent)
and plots the curves that say whether a locomotion policy learned: velocity-tracking errors, the two per-step
rewards PPO optimises, falls and episode length, the discriminator's held-out AUC and the feature stage. The x axis
is env-steps (trainer timesteps x ``num_envs`` from the run's ``params/args.yaml``). A run resumed from a checkpoint
writes a new run folder: pass the folders in order and the curves continue (a later folder wins from its first
timestep on).

    python -m wildrobot_amp_ext.evaluation.curves logs/skrl/<task>/<run> [<resumed run> ...] --out curves.png
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from wildrobot_amp_ext.errors import InputError, cli_entry
from wildrobot_amp_ext.utils.atomic import atomic_path
from wildrobot_amp_ext.utils.cli import CliParser, add_config, opt

STYLE_PER_STEP = "Reward / Style per step (scaled, what PPO sees)"
#: (panel title, [(TensorBoard tag, line label)])
PANELS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "velocity tracking error",
        [("Metrics/base_velocity/error_vel_xy", "xy (m/s)"), ("Metrics/base_velocity/error_vel_yaw", "yaw (rad/s)")],
    ),
    (
        "reward per step (what PPO sees)",
        [
            ("Reward / Task per step (scaled, what PPO sees)", "task"),
            (STYLE_PER_STEP, "style"),
        ],
    ),
    ("falls", [("Episode / Fall rate", "fraction of finished episodes")]),
    ("episode length", [("Episode / Finished length mean", "finished episodes (steps)")]),
    ("discriminator", [("Discriminator / AUC (held out)", "held-out AUC")]),
    ("feature stage", [("Features / Stage", "stage index")]),
]  # fmt: skip


def read_scalars(run_dir: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every scalar of the run's event files: tag -> (timesteps, values), sorted by timestep."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = Path(run_dir)
    if not any(run_dir.glob("events.out.tfevents.*")):
        raise InputError(
            run_dir, "events.out.tfevents.*", "no TensorBoard event file", "pass a train_amp.py run folder"
        )
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    out = {}
    for tag in acc.Tags()["scalars"]:
        events = acc.Scalars(tag)
        steps = np.array([e.step for e in events], dtype=np.int64)
        order = np.argsort(steps, kind="stable")
        out[tag] = (steps[order], np.array([e.value for e in events], dtype=np.float64)[order])
    return out


def chained_scalars(run_dirs: Sequence[str | Path]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The scalars of a run and its resumptions, in order: each later folder replaces the curves from its first
    timestep on."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for run_dir in run_dirs:
        for tag, (steps, values) in read_scalars(run_dir).items():
            if tag in out and steps.size:
                keep = out[tag][0] < steps[0]
                steps, values = np.concatenate([out[tag][0][keep], steps]), np.concatenate([out[tag][1][keep], values])
            out[tag] = (steps, values)
    return out


def mean_style_reward(run_dirs: Sequence[str | Path]) -> float:
    """The style reward PPO saw per step, averaged over the logged updates of the run (and its resumptions): the
    constant bonus of the control run that differs from it in the style reward's information only
    (``agent.amp.constant_style_reward``)."""
    scalars = chained_scalars(run_dirs)
    if STYLE_PER_STEP not in scalars or not scalars[STYLE_PER_STEP][1].size:
        raise InputError(run_dirs[0], STYLE_PER_STEP, "no style reward logged", "pass an AMP run's folder")
    return float(np.mean(scalars[STYLE_PER_STEP][1]))


def run_num_envs(run_dir: str | Path) -> int:
    """``num_envs`` of the run (params/args.yaml), 1 when the run did not record it."""
    path = Path(run_dir) / "params" / "args.yaml"
    if not path.is_file():
        return 1
    args = yaml.safe_load(path.read_text()) or {}
    return int(args.get("num_envs") or 1)


def plot_curves(run_dirs: Sequence[str | Path], out: str | Path, title: str | None = None) -> Path:
    """Write the learning-curve PNG of ``run_dirs`` (a run and its resumptions) to ``out`` (atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scalars, num_envs = chained_scalars(run_dirs), run_num_envs(run_dirs[0])
    fig, axes = plt.subplots(2, 3, figsize=(13, 6.5))
    for ax, (panel, lines) in zip(axes.flat, PANELS, strict=True):
        for tag, label in lines:
            if tag in scalars:
                steps, values = scalars[tag]
                ax.plot(steps * num_envs / 1e6, values, label=label)
        ax.set_title(panel, fontsize=10)
        ax.set_xlabel("env-steps (millions)")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    fig.suptitle(title or Path(run_dirs[0]).name)
    fig.tight_layout()
    out = Path(out)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=80, format="png")
    plt.close(fig)
    return out


@dataclass
class CurvesArgs:
    """``python -m wildrobot_amp_ext.evaluation.curves``'s flags."""

    run_dirs: list[str] = opt(
        positional=True, nargs="+", help="run folder (logs/skrl/<task>/<run>), then any resumed runs in order"
    )
    out: str | None = opt(None, help="PNG path (default: <last run>/curves.png)")
    title: str | None = None
    mean_style_reward: bool = opt(
        False, help="print the run's mean style reward per step (a bonus control's constant) and exit"
    )


def build_parser() -> CliParser:
    p = CliParser(description="Learning curves of a train_amp.py run as one PNG.")
    add_config(p, CurvesArgs)
    return p


@cli_entry
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.mean_style_reward:
        print(f"{mean_style_reward(args.run_dirs):.6g}")
        return 0
    path = plot_curves(args.run_dirs, args.out or Path(args.run_dirs[-1]) / "curves.png", args.title)
    print(f"[curves] -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
