"""Tier 0+ miner: physics-validated reference segments from retargeted motions.

    python -m wildrobot_amp_ext.mine --robot unitree_g1_23dof --input motions/ --output tier0.npz

Each clip is tracked in MuJoCo by the robot's own PD actuators (its effort limits; its gains, stiffened by
``--kp-scale`` where they lag: auto, x2 on the G1, x1 on WildRobot, printed and in report.json): by default the
closed-loop tracker (``--tracker mpc``: balance feedback from the simulated state every control step, and on top
of it a sampling MPC over the PD targets' offsets from the reference; ``--samples 0``: the feedback alone),
harness-free (``--orient-assist`` adds the capped, logged stabiliser harness); ``--tracker pd`` is the open-loop
tracker with its harness and loop-and-blend generation (30 s loops with blends, time warps). Rollouts start from the
reference every ``--multi-start-interval`` frames; qpos is set only at a rollout's start. The simulated motion is
cut into windows that must pass every Tier 0+ gate (load support, harness reliance, unloaded frames, attitude, slip,
tracking). Writes the dataset (converter schema + miner keys; features from the simulated states), a report folder
(diagnostic log per clip, distinct source coverage, the go/no-go decision, JSON, plots) and a result cache that
makes reruns resume. ``--executor ray`` runs the same per-clip jobs on a Ray cluster (local, or ``--ray-address``),
with the same cache.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
from collections.abc import Sequence
from typing import Any

from wildrobot_amp_ext.dataset.convert import add_feature_arguments
from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.miner.config import (
    EXECUTORS,
    FIELD_CHOICES,
    TRACKERS,
    BalanceConfig,
    GateConfig,
    GenerationConfig,
    MinerConfig,
    MpcConfig,
    TrackingConfig,
    WindowConfig,
)
from wildrobot_amp_ext.utils.cli import CliParser, add_config, opt

#: legacy flag names kept as aliases: alias -> (group, field)
SEED_ALIASES = {
    "--min-load-support": ("gates", "min_load_mean"),
    "--max-window-frames": ("generation", "rollout_frames"),
}
GROUPS = {
    "tracking": TrackingConfig,
    "mpc": MpcConfig,
    "balance": BalanceConfig,
    "generation": GenerationConfig,
    "gates": GateConfig,
    "windows": WindowConfig,
}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _parse_kp_scale(text: str) -> float | str:
    if text == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'auto', got {text!r}") from None


def _optional_float(text: str) -> float | None:
    if text.lower() in ("none", "model"):
        return None
    return float(text)


def tracker_of(argv: Sequence[str] | None) -> str:
    """The ``--tracker`` of a command line (its defaults decide every other flag's), the default one if absent."""
    pre = CliParser(add_help=False)
    pre.add_argument("--tracker", choices=TRACKERS, default=TrackingConfig.tracker)
    return pre.parse_known_args(argv)[0].tracker


def _add_config_arguments(parser: argparse.ArgumentParser, tracker: str = TrackingConfig.tracker) -> None:
    """One flag per config field (``--field_name``, also ``--field-name``; :func:`utils.cli.add_config`), defaults
    from the dataclasses with ``tracker``'s preset applied (:data:`miner.config.TRACKER_PRESETS`); booleans get
    --x / --no_x."""
    defaults = MinerConfig.for_tracker(tracker)
    fields: dict[str, dict[str, Any]] = {name: {"choices": choices} for name, choices in FIELD_CHOICES.items()}
    fields["kp_scale"] = {"type": _parse_kp_scale, "help": "number or 'auto' (default: %(default)s)"}
    for group_name, cls in GROUPS.items():
        group_defaults = getattr(defaults, group_name)
        optional = {  # a None default is the model's value: the flag takes a number, or none / model
            f.name: {"type": _optional_float, "help": "(default: the model's)", "metavar": f.name.upper()}
            for f in dataclasses.fields(cls)
            if getattr(group_defaults, f.name) is None
        }
        add_config(
            parser,
            cls,
            defaults=group_defaults,
            dest_prefix=f"{group_name}__",
            title=f"{group_name} ({cls.__name__}; see wildrobot_amp_ext/miner/config.py)",
            fields={**fields, **optional},
            negatable=True,
        )
    seed = parser.add_argument_group("legacy flag names (aliases)")
    seed.add_argument(
        "--harness-cap", type=float, default=None, help="set --orient_cap and --assist_cap together (fraction of m*g)"
    )
    for alias, (group_name, name) in SEED_ALIASES.items():
        seed.add_argument(
            alias,
            dest=f"alias__{group_name}__{name}",
            type=float,
            default=None,
            metavar=name.upper(),
            help=f"= --{name}",
        )


def config_from_args(args: argparse.Namespace) -> MinerConfig:
    values: dict[str, dict[str, Any]] = {g: {} for g in GROUPS}
    for key, value in vars(args).items():
        if "__" in key and not key.startswith("alias__"):
            group, name = key.split("__", 1)
            values[group][name] = tuple(value) if isinstance(value, list) else value
    for key, value in vars(args).items():
        if key.startswith("alias__") and value is not None:
            _, group, name = key.split("__")
            values[group][name] = type(getattr(GROUPS[group](), name))(value)
    if args.harness_cap is not None:
        values["tracking"]["orient_cap"] = values["tracking"]["assist_cap"] = args.harness_cap
    cfg = MinerConfig(**{g: GROUPS[g](**v) for g, v in values.items()})
    validate_config(cfg)
    return cfg


def validate_config(cfg: MinerConfig) -> None:
    t, gen, w, mp = cfg.tracking, cfg.generation, cfg.windows, cfg.mpc
    checks = [
        (t.control_hz > 0 and t.substeps >= 1, "--control-hz/--substeps", "must be positive"),
        (
            t.kp_scale == "auto" or (isinstance(t.kp_scale, float) and t.kp_scale > 0),
            "--kp-scale",
            "must be > 0 or 'auto'",
        ),
        (min(t.orient_cap, t.assist_cap) >= 0, "--harness-cap", "caps must be >= 0"),
        (0 < t.upright_angle_deg <= 180, "--upright-angle-deg", "must be in (0, 180]"),
        (t.floor_friction is None or t.floor_friction > 0, "--floor-friction", "must be > 0"),
        (all(x > 0 for x in gen.time_warps) and gen.time_warps, "--time-warps", "need positive speed factors"),
        (0 <= gen.blend_min_s <= gen.blend_max_s, "--blend-min-s", "need 0 <= blend-min-s <= blend-max-s"),
        (
            gen.multi_start_interval >= 1 and gen.rollout_frames >= 1 and gen.warmup_frames >= 0,
            "--multi-start-interval",
            "intervals and lengths must be positive",
        ),
        (
            1 <= w.min_segment <= w.window and w.stride >= 1,
            "--min-segment",
            "need 1 <= min-segment <= window and stride >= 1",
        ),
        (
            gen.rollout_frames - gen.warmup_frames >= w.min_segment,
            "--rollout-frames",
            "a rollout must fit the warm-up plus one min-segment window",
        ),
        (w.dedupe != "centre" or w.centre_frames >= 1, "--centre-frames", "must be >= 1"),
        (
            mp.samples == 0 or mp.samples >= 2,
            "--samples",
            "0 (balance feedback only) or >= 2 (the previous plan and the bare reference)",
        ),
        (
            min(mp.horizon_frames, mp.replan_frames, mp.plan_substeps, mp.knots, mp.solver_iterations) >= 1,
            "--horizon-frames",
            "horizon, replan interval, plan substeps, knots and solver iterations must be >= 1",
        ),
        (
            mp.replan_frames <= mp.horizon_frames,
            "--replan-frames",
            "must be <= --horizon-frames (a plan must cover it)",
        ),
        (mp.temperature > 0 and mp.noise_rad >= 0, "--temperature", "need temperature > 0 and noise-rad >= 0"),
    ]
    for ok, field, problem in checks:
        if not ok:
            raise InputError(None, field, problem, "see python -m wildrobot_amp_ext.mine --help")
    for f in dataclasses.fields(GateConfig):
        value = getattr(cfg.gates, f.name)
        if isinstance(value, float) and math.isnan(value):
            raise InputError(None, _flag(f.name), "is NaN", "give a number (inf disables a max gate)")


@dataclasses.dataclass
class MineArgs:
    """The miner's run flags (the FeatureSpec ones: :class:`dataset.convert.FeatureArgs`; the tracking, MPC,
    balance, generation, gate and window settings: :class:`miner.config.MinerConfig`'s dataclasses)."""

    robot: str = opt(required=True, help="robot (RobotSpec name or robot.yaml path)")
    input: list[str] = opt(required=True, help="GMR .pkl / motion .npz files and/or folders")
    output: str = opt(required=True, help="Tier 0+ dataset .npz to write")
    source_robot: str | None = opt(
        None, help="robot whose joint order name-less GMR pickles use (default: inferred from the pickle's width)"
    )
    report_dir: str | None = opt(None, help="report folder (default: <output>_report)")
    cache_dir: str | None = opt(None, help="per-job result cache (default: <output>.cache)")
    no_cache: bool = opt(False, help="neither read nor write the result cache")
    workers: int | None = opt(
        os.cpu_count(), help="parallel processes, or CPUs of the local Ray cluster (default: every core, %(default)s)"
    )
    executor: str = opt(
        "process",
        choices=EXECUTORS,
        help="where the per-clip jobs run: a local process pool, or Ray (optional extra: pip install -e '.[ray]'); "
        "same jobs, cache and resume (default: %(default)s)",
    )
    ray_address: str | None = opt(
        None,
        help="Ray cluster to join with --executor ray (e.g. 'auto' or ray://head:10001; default: start a local one "
        "with --workers CPUs)",
    )
    no_plots: bool = opt(False, help="skip the PNG plots")
    no_progress: bool = opt(False, help="no progress bar")


def build_parser(tracker: str = TrackingConfig.tracker) -> argparse.ArgumentParser:
    p = CliParser(  # this module's docstring is the command's help
        prog="python -m wildrobot_amp_ext.mine",
        description=__doc__.splitlines()[0],
        epilog="\n".join(__doc__.splitlines()[2:]),
    )
    add_config(p, MineArgs)
    add_feature_arguments(p)
    _add_config_arguments(p, tracker)
    return p
