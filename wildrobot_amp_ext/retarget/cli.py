"""``wildrobot-retarget``: motion capture or another robot's motion -> GMR-layout pickles for any robot of the project.

    wildrobot-retarget --robot wildrobot --input g1_clips/ --source-robot unitree_g1_29dof --output out/
    wildrobot-retarget --robot unitree_g1_29dof --input take.bvh --output out/ [--bvh-map map.yaml]
    wildrobot-retarget --robot unitree_g1_29dof --input amass/ --body-model ~/models/smplx --output out/

Every input is read and checked first (one-line error, exit 2, nothing written); clips are then solved in parallel
processes (``--workers``), progress with clips, frames/s and ETA on stderr. Clips that pass the quality gates are
written as ``<output>/<clip>.pkl``; ``<output>/retarget_report.json`` holds every clip's metrics, verdict and what the
robot cannot carry, and lists the failed clips (not written).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import pickle
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

from wildrobot_amp_ext.errors import InputError, cli_entry
from wildrobot_amp_ext.retarget.mapping import load_mapping
from wildrobot_amp_ext.retarget.pipeline import RetargetConfig, Retargeter, gmr_dict
from wildrobot_amp_ext.retarget.postprocess import PostConfig
from wildrobot_amp_ext.retarget.quality import carry_sentence
from wildrobot_amp_ext.retarget.solve import SolveConfig
from wildrobot_amp_ext.retarget.sources import SourceMotion, read_source, source_files
from wildrobot_amp_ext.robots import load_robot
from wildrobot_amp_ext.utils.atomic import atomic_open, save_json_atomic
from wildrobot_amp_ext.utils.cli import CliParser, add_config, opt
from wildrobot_amp_ext.validation import check_output_dir, safe_component

REPORT_NAME = "retarget_report.json"


@dataclass
class RetargetArgs:
    """``wildrobot-retarget``'s flags (IK and smoothing defaults from :class:`SolveConfig` / :class:`PostConfig`)."""

    robot: str = opt(required=True, help="target robot (name or robot.yaml path)")
    input: list[str] = opt(required=True, help="source files and/or folders (searched recursively)")
    output: str = opt(required=True, help="folder for <clip>.pkl and retarget_report.json")
    source_kind: Literal["auto", "robot", "bvh", "smplx"] = opt("auto", help="auto: from the file")
    source_robot: str | None = opt(None, help="robot whose GMR pickles are the source (robot-to-robot)")
    body_model: str | None = opt(None, help="folder with the SMPL-X / SMPL-H model files (never downloaded)")
    gender: Literal["neutral", "male", "female", "auto"] = opt("auto", help="SMPL body model")
    bvh_map: str | None = opt(None, help="YAML keypoint: BVH joint name (overrides the name detection)")
    bvh_unit: Literal["auto", "m", "cm", "mm", "inch"] = opt("auto", help="BVH length unit")
    bvh_up: Literal["auto", "y", "z"] = opt("auto", help="BVH up axis")
    bvh_euler: str | None = opt(None, help="Euler order for every BVH joint, e.g. ZXY (default: channels)")
    workers: int = opt(0, help="processes (0: one per core, at most one per clip)")
    max_iters: int = opt(SolveConfig.max_iters, help="IK iterations per frame at most")
    smooth_hz: float = opt(PostConfig.smooth_hz, help="smoothing cut-off (0: off)")
    no_foot_lock: bool = opt(False, help="do not lock stance feet")
    no_collision: bool = opt(False, help="no leg-leg / arm-trunk avoidance in the IK (still reported)")
    no_align: bool = opt(False, help="keep the source's world frame (no frame-0 alignment)")
    write_failed: bool = opt(False, help="also write clips that fail the quality gates")
    quiet: bool = opt(False, help="no progress lines")


def build_parser() -> argparse.ArgumentParser:
    p = CliParser(
        prog="wildrobot-retarget",
        description="Retarget AMASS SMPL-X/SMPL-H .npz, BVH or another robot's GMR pickle onto a robot of the project.",
    )
    add_config(p, RetargetArgs)
    return p


# ------------------------------------------------------------------------------------------------------------------
# worker processes: one Retargeter per process, built once
# ------------------------------------------------------------------------------------------------------------------
_WORKER: Retargeter | None = None


def _init_worker(robot: str, config: RetargetConfig) -> None:
    global _WORKER
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _WORKER = Retargeter(load_robot(robot), config)


def _run_one(source: SourceMotion) -> tuple[dict, dict]:
    assert _WORKER is not None
    result = _WORKER.run(source)
    return result.report, gmr_dict(result)


def _check_settings(args: argparse.Namespace) -> None:
    """The numeric flags in their ranges (before any input is read)."""
    if args.max_iters < 1 or args.max_iters > 100:
        raise InputError(None, "--max-iters", f"{args.max_iters} is outside 1..100", "give a few iterations, e.g. 6")
    if not 0 <= args.smooth_hz <= 100:
        raise InputError(None, "--smooth-hz", f"{args.smooth_hz} is outside 0..100 Hz", "e.g. 8 (0: off)")
    if args.workers < 0:
        raise InputError(None, "--workers", "negative", "give 0 (one per core) or a count")


def _read_sources(args: argparse.Namespace, output: Path) -> tuple[list[SourceMotion], list[str]]:
    """Every input read and checked, with its clip name (distinct, safe as a file name), before anything is written."""
    files = source_files(args.input, args.source_kind)
    check_output_dir("--output", output, inputs=files)
    for f in files:
        if f.resolve().is_relative_to(output.resolve()):
            raise InputError(f, "--output", "an input lies inside the output folder", "write the clips elsewhere")
    sources = [read_source(f, args) for f in files]
    names = [safe_component(s.file, "clip name", s.name) for s in sources]
    seen: dict[str, str] = {}
    for name, s in zip(names, sources):
        if name in seen:
            raise InputError(s.file, None, f"clip name '{name}' also comes from {seen[name]}", "rename one file")
        seen[name] = s.file
    return sources, names


def _retarget_config(args: argparse.Namespace) -> RetargetConfig:
    return RetargetConfig(
        solve=replace(SolveConfig(), max_iters=args.max_iters, collision=not args.no_collision),
        post=replace(PostConfig(), smooth_hz=args.smooth_hz),
        align_start=not args.no_align,
        lock_feet=not args.no_foot_lock,
    )


def _solve_clips(
    sources: list[SourceMotion], robot_yaml: str, config: RetargetConfig, workers: int, quiet: bool
) -> tuple[list[dict], dict[str, dict], float]:
    """Retarget every clip (in ``workers`` processes when > 1): reports in completion order, GMR dicts, seconds."""
    total_frames = sum(s.num_frames for s in sources)
    reports: list[dict] = []
    outputs: dict[str, dict] = {}
    t0 = time.perf_counter()
    done_frames = 0

    def collect(report: dict, data: dict) -> None:
        nonlocal done_frames
        reports.append(report)
        outputs[report["clip"]] = data
        done_frames += report["frames"]
        elapsed = time.perf_counter() - t0
        rate = done_frames / max(elapsed, 1e-9)
        eta = (total_frames - done_frames) / max(rate, 1e-9)
        if not quiet:
            print(
                f"[retarget] {len(reports)}/{len(sources)} clips  {report['clip']}: {report['verdict']}  "
                f"{rate:.0f} frames/s  ETA {eta:.0f} s",
                file=sys.stderr,
                flush=True,
            )

    if workers == 1:
        _init_worker(robot_yaml, config)
        for s in sources:
            collect(*_run_one(s))
    else:
        ctx = multiprocessing.get_context("spawn")  # MuJoCo / torch state is not fork-safe
        with ProcessPoolExecutor(workers, ctx, _init_worker, (robot_yaml, config)) as pool:
            # longest clips first: the last process to finish is not the one that drew the longest clip late
            futures = [pool.submit(_run_one, s) for s in sorted(sources, key=lambda s: -s.num_frames)]
            for fut in as_completed(futures):
                collect(*fut.result())
    return reports, outputs, time.perf_counter() - t0


def _write_clips(
    reports: list[dict], outputs: dict[str, dict], output: Path, write_failed: bool
) -> tuple[list[str], list[dict]]:
    """``<output>/<clip>.pkl`` for each clip that passed (each clip with ``write_failed``); written, failed lists."""
    output.mkdir(parents=True, exist_ok=True)
    written, failed = [], []
    for r in reports:
        r["cannot_carry"] = carry_sentence(r["carry"], r["metrics"]["stance_drift_m_s"])
        if r["verdict"] == "pass" or write_failed:
            path = output / f"{r['clip']}.pkl"
            with atomic_open(path, "wb") as f:
                pickle.dump(outputs[r["clip"]], f, protocol=4)
            r["written"] = str(path)
            written.append(r["clip"])
        if r["verdict"] != "pass":
            failed.append({"clip": r["clip"], "failed": r["failed"]})
    return written, failed


def run(argv: Sequence[str] | None = None) -> dict:
    args = build_parser().parse_args(argv)
    robot = load_robot(args.robot)
    load_mapping(robot)  # a broken mapping fails before any input is read
    _check_settings(args)
    output = Path(args.output)
    sources, names = _read_sources(args, output)
    config = _retarget_config(args)
    workers = args.workers or (os.cpu_count() or 1)
    workers = max(1, min(workers, len(sources)))
    total_frames = sum(s.num_frames for s in sources)
    reports, outputs, elapsed = _solve_clips(sources, str(robot.yaml_path), config, workers, args.quiet)

    order = {n: i for i, n in enumerate(names)}
    reports.sort(key=lambda r: order[r["clip"]])
    written, failed = _write_clips(reports, outputs, output, args.write_failed)
    summary = {
        "robot": robot.name,
        "clips": len(reports),
        "written": written,
        "failed": failed,
        "frames": total_frames,
        "seconds": elapsed,
        "workers": workers,
        "frames_per_s": total_frames / max(elapsed, 1e-9),
        "ik_frames_per_s_per_core": total_frames / max(sum(r["ik_seconds"] for r in reports), 1e-9),
        "settings": asdict(config),
        "reports": reports,
    }
    save_json_atomic(output / REPORT_NAME, summary)
    if not args.quiet:
        print(
            f"[retarget] {len(written)}/{len(reports)} clips written to {output} ({len(failed)} failed the gates), "
            f"{total_frames} frames in {elapsed:.1f} s on {workers} process(es), "
            f"{summary['ik_frames_per_s_per_core']:.0f} frames/s per core in the IK -> {output / REPORT_NAME}",
            file=sys.stderr,
        )
    return summary


@cli_entry
def main(argv: Sequence[str] | None = None) -> int:
    run(argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
