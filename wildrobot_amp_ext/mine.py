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
import hashlib
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from wildrobot_amp_ext.dataset.convert import add_feature_arguments, feature_spec_from_args
from wildrobot_amp_ext.errors import InputError, cli_entry
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
from wildrobot_amp_ext.motion.io import load_motions
from wildrobot_amp_ext.robots import RobotSpec, load_robot
from wildrobot_amp_ext.utils.cli import CliParser, add_config, opt
from wildrobot_amp_ext.validation import check_output_dir, check_outputs

if TYPE_CHECKING:
    from wildrobot_amp_ext.motion.clip import MotionClip

#: legacy flag names kept as aliases: alias -> (group, field)
#: a clip shorter than this is not a motion to mine (looping a 2-frame clip yields thousands of "standing" frames)
MIN_CLIP_SECONDS = 0.5
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


def _tracker_of(argv: Sequence[str] | None) -> str:
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


def unique_clips(clips: Sequence[MotionClip]) -> tuple[list[MotionClip], dict[str, str]]:
    """The clips with identical content (frame rate and every frame, whatever the file's name) kept once, first
    come first; and {name of a dropped copy: name of the clip kept}. A copy mined twice would count its seconds,
    coverage and falls twice."""
    kept: dict[str, MotionClip] = {}
    copies: dict[str, str] = {}
    for clip in clips:
        digest = hashlib.sha256(np.float64(clip.fps).tobytes())
        for array in (clip.root_pos, clip.root_quat, clip.joint_pos):
            digest.update(np.ascontiguousarray(array, np.float64).tobytes())
        key = digest.hexdigest()
        if key in kept:
            copies[clip.name] = kept[key].name
        else:
            kept[key] = clip
    return list(kept.values()), copies


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
    p = CliParser(
        prog="python -m wildrobot_amp_ext.mine",
        description=__doc__.splitlines()[0],
        epilog="\n".join(__doc__.splitlines()[2:]),
    )
    add_config(p, MineArgs)
    add_feature_arguments(p)
    _add_config_arguments(p, tracker)
    return p


def _check_run_flags(args: argparse.Namespace, output: Path) -> None:
    """The output name and the executor flags, before any work (``ray`` missing is its one-line error here)."""
    if output.suffix != ".npz":
        raise InputError(output, None, "the output must be a .npz file", "name it e.g. tier0.npz")
    if args.workers is not None and args.workers < 1:
        raise InputError(None, "--workers", f"must be >= 1, got {args.workers}", None)
    if args.ray_address is not None and args.executor != "ray":
        raise InputError(None, "--ray-address", "is only used with --executor ray", "add --executor ray")
    if args.executor == "ray":
        from wildrobot_amp_ext.miner.ray_executor import require_ray  # the miner loads after parsing

        require_ray()  # before any work: without the extra this is the one-line error naming it


def _output_dirs(args: argparse.Namespace, output: Path) -> tuple[Path, Path | None]:
    """The report folder and the cache folder (None with --no-cache), checked with the output before any work."""
    stem = output.with_suffix("")
    report_dir = Path(args.report_dir) if args.report_dir else Path(f"{stem}_report")
    cache_dir = None if args.no_cache else (Path(args.cache_dir) if args.cache_dir else Path(f"{stem}.cache"))
    check_outputs({"--output": output}, inputs=args.input)  # output problems before any work
    for flag, folder in (("--report-dir", report_dir), ("--cache-dir", cache_dir)):
        if folder is not None:
            check_output_dir(flag, folder, inputs=args.input)
    return report_dir, cache_dir


def _load_clips(args: argparse.Namespace, robot: RobotSpec) -> tuple[list[MotionClip], dict[str, str]]:
    """The input clips, copies of one content mined once; names distinct, every clip long enough to loop."""
    clips = load_motions(args.input, robot, source_robot=args.source_robot, show_progress=not args.no_progress)
    clips, copies = unique_clips(clips)
    if copies:
        print(
            f"{len(copies)} clip(s) with the content of another, mined once: "
            + ", ".join(f"{a} = {b}" for a, b in copies.items())
        )
    names = [c.name for c in clips]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(
            None, "--input", f"clip names {duplicates} appear more than once", "give each motion file a distinct name"
        )
    too_short = [c.name for c in clips if c.duration < MIN_CLIP_SECONDS]
    if too_short:
        raise InputError(
            None,
            "--input",
            f"clips {too_short[:4]} are shorter than {MIN_CLIP_SECONDS} s: looping them "
            "would mine frames of a motion that is not there",
            "drop them or pass longer clips",
        )
    return clips, copies


def run(argv: Sequence[str] | None = None) -> dict:
    args = build_parser(_tracker_of(argv)).parse_args(argv)
    # the miner (MuJoCo, torch) loads once the flags are parsed: --help and flag errors stay fast
    from wildrobot_amp_ext.miner.output import build_tier0_dataset, save_tier0_dataset
    from wildrobot_amp_ext.miner.pipeline import get_sim
    from wildrobot_amp_ext.miner.report import analysis_text, write_report
    from wildrobot_amp_ext.miner.runner import plan_jobs, run_jobs

    output = Path(args.output)
    _check_run_flags(args, output)
    report_dir, cache_dir = _output_dirs(args, output)
    cfg = config_from_args(args)
    spec = feature_spec_from_args(args)
    robot = load_robot(args.robot)
    clips, copies = _load_clips(args, robot)
    start = time.time()
    jobs, skipped = plan_jobs(clips, robot, cfg)
    results, cached = run_jobs(
        jobs,
        robot,
        cfg,
        workers=args.workers,
        cache_dir=cache_dir,
        show_progress=not args.no_progress,
        backend=args.executor,
        ray_address=args.ray_address,
    )
    ds, segments = build_tier0_dataset(
        clips, [j.clip_index for j in jobs], results, robot, spec, cfg, meta={"inputs": [str(i) for i in args.input]}
    )
    save_tier0_dataset(output, ds, segments, cfg)
    per_clip = [[r for j, r in zip(jobs, results) if j.clip_index == i] for i in range(len(clips))]
    extra = {
        "robot": robot.name,
        "feature_version": ds.feature_version,
        "output": str(output),
        "jobs": len(jobs),
        "jobs_from_cache": cached,
        "wall_s": time.time() - start,
        "duplicate_clips": copies,  # dropped copy -> the clip with the same content that was mined
        # the tracking PD's gains over the robot's (--kp-scale; "auto" resolves per robot and tracker)
        "pd_gain_scale": get_sim(robot, cfg).kp_scale,
    }
    report = write_report(report_dir, clips, per_clip, skipped, cfg, extra=extra, plots=not args.no_plots)
    print(analysis_text(report["summary"], cfg))
    print(f"tracking PD gains: x{extra['pd_gain_scale']:.2f} of {robot.name}'s (--kp-scale), its effort limits")
    print(
        f"dataset: {output} ({ds.num_frames} frames, {ds.num_clips} segments, features {ds.features.shape[1]}-d "
        f"{ds.feature_version})"
    )
    print(f"report:  {report_dir}/report.txt, report.json, windows.json, summary.png, clip_*.png")
    print(f"jobs: {len(jobs)} ({cached} from cache {cache_dir}), {time.time() - start:.1f} s")
    return report


@cli_entry
def main(argv: Sequence[str] | None = None) -> int:
    run(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
