"""Running the miner over many clips: jobs (clip x variant) in parallel processes (or on Ray: ``executor="ray"``,
:mod:`miner.ray_executor`), a progress bar, and a result cache keyed by the clip's content and the configuration, so
a killed run resumes without redoing finished jobs, whichever executor ran them."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import zipfile
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import mujoco
import numpy as np

from wildrobot_amp_ext.miner.config import EXECUTORS, MinerConfig
from wildrobot_amp_ext.miner.generation import Variant, mirror_clip, variants
from wildrobot_amp_ext.miner.lifeline import die_with_parent
from wildrobot_amp_ext.miner.pipeline import VariantResult, mine_variant
from wildrobot_amp_ext.miner.ray_executor import cluster_cpus, ray_session, run_on_ray
from wildrobot_amp_ext.motion.clip import MotionClip
from wildrobot_amp_ext.robots import RobotSpec
from wildrobot_amp_ext.robots.spec import ROBOTS_DIR
from wildrobot_amp_ext.utils.progress import progress

#: a mirrored clip closer than this (m / rad) to the original is the original: its variants are skipped
MIRROR_SAME_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Job:
    clip_index: int
    clip: MotionClip
    variant: Variant
    key: str  # cache key

    @property
    def cost(self) -> float:
        return self.clip.duration / self.variant.time_warp


def clip_digest(clip: MotionClip) -> str:
    h = hashlib.sha256()
    h.update(repr((clip.name, float(clip.fps), tuple(clip.joint_names))).encode())
    for arr in (clip.root_pos, clip.root_quat, clip.joint_pos):
        h.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


def robot_digest(robot: RobotSpec) -> str:
    h = hashlib.sha256()
    h.update(Path(robot.yaml_path).read_bytes())
    h.update(Path(robot.mjcf_path).read_bytes())
    h.update(mujoco.__version__.encode())
    return h.hexdigest()[:16]


def is_mirror_symmetric(clip: MotionClip, robot: RobotSpec) -> bool:
    m = mirror_clip(clip, robot)
    dq = np.minimum(np.abs(m.root_quat - clip.root_quat).max(), np.abs(m.root_quat + clip.root_quat).max())
    return (
        max(np.abs(m.root_pos - clip.root_pos).max(), dq, np.abs(m.joint_pos - clip.joint_pos).max())
        < MIRROR_SAME_TOLERANCE
    )


def plan_jobs(
    clips: Sequence[MotionClip], robot: RobotSpec, cfg: MinerConfig
) -> tuple[list[Job], dict[str, list[str]]]:
    """Jobs for every clip x variant; mirrored variants of left/right-symmetric clips are skipped (duplicates)."""
    base = cfg.digest(robot_digest(robot))
    jobs: list[Job] = []
    skipped: dict[str, list[str]] = {}
    for i, clip in enumerate(clips):
        symmetric = is_mirror_symmetric(clip, robot)
        digest = clip_digest(clip)
        for v in variants(cfg.generation, robot):
            if v.mirror and symmetric:
                skipped.setdefault(clip.name, []).append(f"{v.tag} (clip is left/right symmetric)")
                continue
            key = hashlib.sha256(f"{base}|{digest}|{v.tag}".encode()).hexdigest()[:24]
            jobs.append(Job(i, clip, v, key))
    return jobs, skipped


def _work(job: Job, robot: str, cfg: MinerConfig, cache_path: str | None) -> VariantResult | str:
    result = mine_variant(job.clip, robot, job.variant, cfg)
    if cache_path is None:
        return result
    result.save(cache_path)
    return cache_path


def _cache_file(cache_dir: Path | None, job: Job) -> Path | None:
    if cache_dir is None:
        return None
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in job.clip.name)[:60]
    return cache_dir / f"{safe}.{job.variant.tag}.{job.key}.npz"


def run_jobs(
    jobs: Sequence[Job],
    robot: RobotSpec,
    cfg: MinerConfig,
    *,
    workers: int | None = None,
    cache_dir: str | Path | None = None,
    show_progress: bool = True,
    executor: ProcessPoolExecutor | None = None,
    backend: str = "process",
    ray_address: str | None = None,
) -> tuple[list[VariantResult], int]:
    """Results in job order and how many came from the cache. ``workers`` <= 1 runs in this process; an
    ``executor`` (e.g. an already started pool) replaces the pool this function would create. ``backend="ray"``
    runs the jobs as Ray tasks instead (a local cluster of ``workers`` CPUs, or the one at ``ray_address``)."""
    cache = Path(cache_dir) if cache_dir is not None else None
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
    results, todo = _load_cached(jobs, cache)
    cached = len(results)
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo))) if todo else 1
    if backend not in EXECUTORS:
        raise ValueError(f"backend must be one of {EXECUTORS}, got {backend!r}")
    # Ray, when it runs the jobs, is started here (nothing to start when every job is cached) and stopped at the end
    with ExitStack() as session:
        ray = None
        if backend == "ray" and todo:
            ray = session.enter_context(ray_session(workers, ray_address))
        bar = session.enter_context(
            progress(
                total=len(jobs),
                desc=f"mining (ray, {cluster_cpus(ray)} cpu)" if ray is not None else f"mining ({workers} proc)",
                unit="job",
                initial=cached,
                disable=None if show_progress else True,
            )
        )
        seconds = sum(r.accepted_frames for r in results.values()) * cfg.tracking.control_dt

        def done(i: int, value: VariantResult | str) -> None:
            nonlocal seconds
            results[i] = VariantResult.load(value) if isinstance(value, str) else value
            seconds += results[i].accepted_frames * cfg.tracking.control_dt
            bar.set_postfix_str(f"Tier 0+ {seconds:.1f} s")
            bar.update(1)

        # longest first: the pool's tail is then short jobs
        order = sorted(todo, key=lambda i: -jobs[i].cost)
        if ray is not None:

            def saved(i: int, result: VariantResult) -> None:
                path = _cache_file(cache, jobs[i])
                if path is not None:
                    result.save(path)  # the driver writes the cache: a remote worker cannot see its folder
                done(i, result)

            run_on_ray(ray, order, list(jobs), _robot_ref(robot), cfg, saved)
        elif workers == 1 and executor is None:
            for i in order:
                path = _cache_file(cache, jobs[i])
                done(i, _work(jobs[i], _robot_ref(robot), cfg, str(path) if path else None))
        else:
            _run_in_processes(jobs, order, _robot_ref(robot), cfg, cache, workers, executor, done)
    return [results[i] for i in range(len(jobs))], cached


def _load_cached(jobs: Sequence[Job], cache: Path | None) -> tuple[dict[int, VariantResult], list[int]]:
    """The results already in the cache (by job index) and the indices of the jobs still to run."""
    results: dict[int, VariantResult] = {}
    todo: list[int] = []
    for i, job in enumerate(jobs):
        path = _cache_file(cache, job)
        if path is not None and path.is_file():
            try:
                results[i] = VariantResult.load(path)
                continue
            except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, zlib.error):
                path.unlink(missing_ok=True)  # truncated, corrupt or from another version: redo it
        todo.append(i)
    return results, todo


def _run_in_processes(
    jobs: Sequence[Job],
    order: Sequence[int],
    robot_ref: str,
    cfg: MinerConfig,
    cache: Path | None,
    workers: int,
    executor: ProcessPoolExecutor | None,
    done: Callable[[int, VariantResult | str], None],
) -> None:
    """Run the jobs in ``order`` on ``executor`` or a pool of ``workers`` fresh processes (shut down at the end),
    handing each result to ``done`` as it finishes."""
    pool = executor or ProcessPoolExecutor(
        max_workers=workers, mp_context=worker_context(), initializer=die_with_parent
    )
    try:
        pending = {}
        for i in order:
            path = _cache_file(cache, jobs[i])
            pending[pool.submit(_work, jobs[i], robot_ref, cfg, str(path) if path else None)] = i
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                done(pending.pop(fut), fut.result())
    finally:
        if executor is None:
            pool.shutdown(cancel_futures=True)


def worker_context() -> multiprocessing.context.BaseContext:
    """Fresh worker processes (no inherited torch/OpenMP state). On Linux a fork server imports the miner once and
    forks every worker from it, so N workers do not pay N package imports."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["wildrobot_amp_ext.miner.pipeline", "wildrobot_amp_ext.miner.lifeline"])
        return ctx
    return multiprocessing.get_context("spawn")


def _robot_ref(robot: RobotSpec) -> str:
    """What a worker loads the robot from: its registry name, or the absolute path of its robot.yaml."""
    return robot.name if _is_registry(robot) else str(Path(robot.yaml_path).resolve())


def _is_registry(robot: RobotSpec) -> bool:
    return Path(robot.yaml_path).resolve() == (ROBOTS_DIR / robot.name / "robot.yaml").resolve()
