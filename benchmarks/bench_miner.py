"""Tier 0+ miner throughput: seconds of motion tracked per core-second by the closed-loop tracker on the G1 (goal
>= 0.25) and its cost ratio to the open-loop one; physics steps/s of the open-loop rollout next to a bare ``mj_step``
loop on the same model (goal >= 0.7x); the speed-up of 2 worker processes (goal >= 1.8x), with the default tracker
on the last ``--robot`` (the G1); a SUMMARY block at the end repeats the goal figures next to the load average.

    .venv/bin/python benchmarks/bench_miner.py [--robot wildrobot unitree_g1_23dof] [--seconds 20] [--jobs 4]

The rollout tracks a standing sway (no falls, so every run simulates the same number of steps); each figure is the
best of ``--repeats`` interleaved runs timed in process CPU time, which filters out other processes on a shared
machine (the parallel figures are wall-clock). The parallel
speed-up is measured on a started pool (workers already imported the package and built their model: steady-state
mining throughput) and cold through ``run_jobs`` (worker start-up included, as one command-line run pays it once).
On a shared machine the wall-clock speed-up is bounded by the free cores: the CPU seconds of the workers and the
achieved parallelism are printed next to it.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import mujoco
import numpy as np

from wildrobot_amp_ext.miner.config import GenerationConfig, MinerConfig
from wildrobot_amp_ext.miner.generation import Variant, build_track
from wildrobot_amp_ext.miner.pipeline import get_sim, mine_track
from wildrobot_amp_ext.miner.probes import standing_sway
from wildrobot_amp_ext.miner.runner import plan_jobs, run_jobs, worker_context
from wildrobot_amp_ext.robots import load_robot


def bare_steps_per_s(model: mujoco.MjModel, qpos: np.ndarray, ctrl: np.ndarray, steps: int) -> float:
    data = mujoco.MjData(model)
    data.qpos[:] = qpos
    data.ctrl[:] = ctrl
    mujoco.mj_forward(model, data)
    t = time.process_time()
    for _ in range(steps):
        mujoco.mj_step(model, data)
    return steps / (time.process_time() - t)


def bench_single(robot_name: str, seconds: float, repeats: int) -> None:
    robot = load_robot(robot_name)
    cfg = MinerConfig.for_tracker("pd")
    cfg = dataclasses.replace(
        cfg,
        generation=GenerationConfig(
            loop_seconds=seconds, time_warps=(1.0,), mirror=False, multi_start_interval=10**9, rollout_frames=10**9
        ),
    )
    sim = get_sim(robot, cfg)
    track = build_track(
        standing_sway(robot, 4.0), robot, Variant(), cfg.generation, cfg.tracking.control_hz, sim.standing_height
    )
    frames = track.num_frames
    steps = frames * cfg.tracking.substeps
    sim.set_state(track, 0)
    qpos, ctrl = sim.data.qpos.copy(), track.joint_pos[0]
    bare, rollout, pipeline = [], [], []
    for _ in range(repeats):
        bare.append(bare_steps_per_s(sim.model, qpos, ctrl, steps))
        t = time.process_time()
        rec = sim.rollout(track, 0, frames)
        rollout.append(rec.num_frames * cfg.tracking.substeps / (time.process_time() - t))
        assert not rec.fell
        t = time.process_time()
        res = mine_track(sim, track, cfg, "bench")
        pipeline.append(res.simulated_frames * cfg.tracking.substeps / (time.process_time() - t))
    b, r, p = max(bare), max(rollout), max(pipeline)
    print(
        f"[{robot_name}] {steps} physics steps ({frames} control frames x {cfg.tracking.substeps}), best of {repeats}"
    )
    print(f"  bare mj_step loop          {b:10.0f} steps/s")
    print(f"  miner rollout (+ signals)  {r:10.0f} steps/s   ratio {r / b:.2f}x  (goal >= 0.70x)")
    print(
        f"  miner job (+ windows, FK)  {p:10.0f} steps/s   ratio {p / b:.2f}x   accepted "
        f"{res.accepted_frames / 50:.1f} s"
    )


DEV_CLIP = (
    Path(__file__).resolve().parents[1] / ".." / "shared" / "motions" / "g1_dev" / "walk_forward_loop_002__A024.pkl"
)


def bench_trackers(robot_name: str, seconds: float) -> dict[str, float]:
    """Motion seconds per process-CPU second of each tracker on one walking clip (a real G1 walk when the dev clips
    are there, else a standing sway), and the closed-loop tracker's cost over the open-loop one."""
    robot = load_robot(robot_name)
    if DEV_CLIP.is_file() and robot_name.startswith("unitree_g1"):
        from wildrobot_amp_ext.motion.io import load_motions

        clip = load_motions([DEV_CLIP], robot, source_robot="unitree_g1_29dof", show_progress=False)[0]
    else:
        clip = standing_sway(robot, seconds)
    n = min(clip.num_frames, int(round(seconds * clip.fps)))
    clip = dataclasses.replace(
        clip, root_pos=clip.root_pos[:n], root_quat=clip.root_quat[:n], joint_pos=clip.joint_pos[:n]
    )
    rate = {}
    for tracker in ("pd", "mpc"):
        cfg = MinerConfig.for_tracker(tracker)
        cfg = dataclasses.replace(
            cfg, generation=GenerationConfig(loop_seconds=0.0, time_warps=(1.0,), mirror=False, rollout_frames=n)
        )
        sim = get_sim(robot, cfg)
        track = build_track(clip, robot, Variant(), cfg.generation, cfg.tracking.control_hz, sim.standing_height)
        t = time.process_time()
        res = mine_track(sim, track, cfg, clip.name)
        cpu = time.process_time() - t
        rate[tracker] = res.simulated_frames * cfg.tracking.control_dt / cpu
        print(
            f"[{robot_name}] {tracker:3s} tracker on {clip.name} ({n / clip.fps:.1f} s): {rate[tracker]:8.3f} "
            "motion-s per "
            f"core-s ({res.simulated_frames * cfg.tracking.control_dt:.1f} s simulated in {res.rollouts} rollouts, "
            f"{res.falls} falls, {res.accepted_frames * cfg.tracking.control_dt:.1f} s accepted)"
        )
    print(f"  closed-loop tracker: {rate['mpc']:.3f} motion-s per core-s (goal >= 0.25), "
          f"{rate['pd'] / rate['mpc']:.0f}x the open-loop tracker's cost")  # fmt: skip
    return rate


def _warm(_: int) -> int:
    import wildrobot_amp_ext.miner.pipeline  # noqa: F401  (import cost paid before timing)

    time.sleep(0.2)  # keep this worker busy so the next warm-up call lands on the other one
    return os.getpid()


def _timed_job(job, robot_name: str, cfg: MinerConfig) -> tuple[float, int]:
    """Mine one job in a worker; return its CPU seconds and simulated frames."""
    from wildrobot_amp_ext.miner.pipeline import mine_variant

    t = time.process_time()
    res = mine_variant(job.clip, robot_name, job.variant, cfg)
    return time.process_time() - t, res.simulated_frames


def bench_parallel(robot_name: str, num_jobs: int, seconds: float) -> float:
    robot = load_robot(robot_name)
    base = MinerConfig(generation=GenerationConfig(loop_seconds=seconds, time_warps=(1.0,), mirror=False))  # mpc
    clips = [dataclasses.replace(standing_sway(robot, 2.0 + 0.1 * i), name=f"sway{i}") for i in range(num_jobs)]
    jobs, _ = plan_jobs(clips, robot, base)
    ctx = worker_context()
    wall, cpu = {}, {}
    for workers in (1, 2):
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            list(pool.map(_warm, range(2 * workers)))
            # one job per worker first: each builds its MuJoCo model outside the timed part
            list(pool.map(_timed_job, jobs[:workers], [robot_name] * workers, [base] * workers))
            t = time.perf_counter()
            out = list(pool.map(_timed_job, jobs, [robot_name] * len(jobs), [base] * len(jobs)))
            wall[workers] = time.perf_counter() - t
            cpu[workers] = sum(c for c, _ in out)
    t = time.perf_counter()
    run_jobs(jobs, robot, base, workers=2, cache_dir=None, show_progress=False)
    cold = time.perf_counter() - t
    frames = sum(f for _, f in out)
    print(
        f"[{robot_name}] {len(jobs)} jobs, {frames * base.tracking.control_dt:.0f} s simulated; cpu_count "
        f"{os.cpu_count()}, load average {os.getloadavg()[0]:.2f}"
    )
    print(f"  1 process   {wall[1]:6.2f} s wall ({cpu[1]:.2f} s CPU in the worker)")
    print(
        f"  2 processes {wall[2]:6.2f} s wall ({cpu[2]:.2f} s CPU in the workers)   speed-up "
        f"{wall[1] / wall[2]:.2f}x (goal >= 1.8x)"
    )
    print(
        f"  achieved parallelism (CPU s / wall s) {cpu[2] / wall[2]:.2f} of 2 workers; CPU per job 2 proc / 1 "
        f"proc {cpu[2] / cpu[1]:.2f}"
    )
    print(
        f"  run_jobs with 2 fresh workers (fork-server start, model build, results back) {cold:.2f} s -> "
        f"{wall[1] / cold:.2f}x"
    )
    return wall[1] / wall[2]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--robot", nargs="+", default=["wildrobot", "unitree_g1_23dof"])
    p.add_argument("--seconds", type=float, default=20.0, help="simulated seconds of the single-process runs")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--jobs", type=int, default=4, help="jobs of the parallel run")
    p.add_argument("--job-seconds", type=float, default=2.0, help="looped reference seconds per parallel job")
    p.add_argument("--tracker-seconds", type=float, default=4.0, help="clip seconds of the tracker comparison")
    p.add_argument("--skip-parallel", action="store_true")
    p.add_argument("--skip-steps", action="store_true", help="skip the physics steps/s comparison to bare mj_step")
    args = p.parse_args()
    if not args.skip_steps:
        for name in args.robot:
            bench_single(name, args.seconds, args.repeats)
    # the goal figures are the last robot's (the G1 by default) with the default (closed-loop) tracker
    rate = bench_trackers(args.robot[-1], args.tracker_seconds)
    speedup = None if args.skip_parallel else bench_parallel(args.robot[-1], args.jobs, args.job_seconds)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"SUMMARY [{args.robot[-1]}, default tracker]")
    print(f"  motion-s per core-s: mpc {rate['mpc']:.3f} (goal >= 0.25), pd {rate['pd']:.3f}; "
          f"cost ratio mpc/pd {rate['pd'] / rate['mpc']:.1f}x")  # fmt: skip
    if speedup is not None:
        print(f"  2 processes vs 1: {speedup:.2f}x (goal >= 1.8x) on {os.cpu_count()} cores, load average "
              f"{load} (1/5/15 min; other processes on the machine depress the speed-up)")  # fmt: skip


if __name__ == "__main__":
    main()
