"""The miner's run once its flags are parsed (:mod:`.flags`): the output and executor checks and the input clips
before any work, then the per-clip tracking jobs (process pool or Ray, result cache), the Tier 0+ dataset and the
report. Loads MuJoCo and torch (the miner), so ``wildrobot-mine --help`` does not import this module."""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from wildrobot_amp_ext.dataset.convert import feature_spec_from_args
from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.mine.flags import config_from_args
from wildrobot_amp_ext.miner.output import build_tier0_dataset, save_tier0_dataset
from wildrobot_amp_ext.miner.pipeline import get_sim
from wildrobot_amp_ext.miner.ray_executor import require_ray
from wildrobot_amp_ext.miner.report import analysis_text, write_report
from wildrobot_amp_ext.miner.runner import plan_jobs, run_jobs
from wildrobot_amp_ext.motion.clip import MotionClip
from wildrobot_amp_ext.motion.io import load_motions
from wildrobot_amp_ext.robots import RobotSpec, load_robot
from wildrobot_amp_ext.validation import check_output_dir, check_outputs

#: a clip shorter than this is not a motion to mine (looping a 2-frame clip yields thousands of "standing" frames)
MIN_CLIP_SECONDS = 0.5


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


def _check_run_flags(args: argparse.Namespace, output: Path) -> None:
    """The output name and the executor flags, before any work (``ray`` missing is its one-line error here)."""
    if output.suffix != ".npz":
        raise InputError(output, None, "the output must be a .npz file", "name it e.g. tier0.npz")
    if args.workers is not None and args.workers < 1:
        raise InputError(None, "--workers", f"must be >= 1, got {args.workers}", None)
    if args.ray_address is not None and args.executor != "ray":
        raise InputError(None, "--ray-address", "is only used with --executor ray", "add --executor ray")
    if args.executor == "ray":
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


def mine_from_flags(args: argparse.Namespace) -> dict:
    """The miner's run from its parsed flags: checks before any work, the clips, the per-clip jobs (cached,
    resumable), the dataset, the report and its printout; returns the report."""
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
