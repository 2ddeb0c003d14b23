"""Retargeting speed per core: wildrobot-retarget's default IK settings vs a GMR-style fixed 10 iterations per frame,
same process, same clips, same tasks and limits (so the ratio is the settings', not the machine's).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_retarget.py [--robot unitree_g1_29dof] [--seconds 8]

Source: the G1 dev clips (29-DoF G1 GMR pickles: a walk, a jog on an arc, a turn in place), each cut to ``--seconds``,
robot-to-robot onto ``--robot``. One process, one thread: frames per CPU-second of this process are frames/s per
core, and stay meaningful on a shared machine where wall-clock rates do not. Prints, per setting, frames per
CPU-second end to end (targets, IK, smoothing, ground, quality), the wall-clock IK and end-to-end frames/s, and
whether every clip passes the quality gates (a speed counts only at settings that pass).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from wildrobot_amp_ext.retarget import RetargetConfig, Retargeter, read_robot_source
from wildrobot_amp_ext.retarget.solve import SolveConfig
from wildrobot_amp_ext.robots import load_robot

CLIPS = ("walk_forward_loop_002__A024", "jog_arc_cw_loop_004__A045", "idle_turn_270_001__A048")
DEV = Path(__file__).resolve().parents[1].parent / "shared" / "motions" / "g1_dev"


def run(retargeter: Retargeter, sources) -> dict:
    t0, c0 = time.perf_counter(), time.process_time()
    reports = [retargeter.run(s).report for s in sources]
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    frames = sum(r["frames"] for r in reports)
    return {
        "cpu_fps": frames / cpu,
        "ik_fps": frames / sum(r["ik_seconds"] for r in reports),
        "total_fps": frames / wall,
        "iters": sum(r["ik_iterations_mean"] * r["frames"] for r in reports) / frames,
        "pass": all(r["verdict"] == "pass" for r in reports),
        "failed": [f"{r['clip']}: {r['failed']}" for r in reports if r["failed"]],
        "kp_err_cm": 100 * max(r["metrics"]["keypoint_error_m"] for r in reports),
        "drift_cm_s": 100 * max(r["metrics"]["stance_drift_m_s"] for r in reports),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--robot", default="unitree_g1_29dof")
    p.add_argument("--seconds", type=float, default=8.0, help="seconds of each clip")
    p.add_argument("--dev-dir", default=str(DEV if DEV.is_dir() else "/work/shared/motions/g1_dev"))
    args = p.parse_args()
    sources = []
    for name in CLIPS:
        src = read_robot_source(Path(args.dev_dir) / f"{name}.pkl", "unitree_g1_29dof")
        sources.append(src.slice(0, int(args.seconds * src.fps)))
    robot = load_robot(args.robot)
    settings = {
        "GMR-style: 10 iterations/frame": SolveConfig(max_iters=10, tolerance=0.0),
        "default: <= 6 iterations, stop at 1 mm/mrad": SolveConfig(),
    }
    results = {}
    for label, solve in settings.items():
        rt = Retargeter(robot, replace(RetargetConfig(), solve=solve))
        run(rt, sources[:1])  # warm-up: imports, first QP
        results[label] = run(rt, sources)
    frames = sum(s.num_frames for s in sources)
    print(f"robot {robot.name}, {len(sources)} clips, {frames} frames at 50 fps, 1 process")
    for label, r in results.items():
        print(
            f"  {label:45s} per CPU-second {r['cpu_fps']:6.0f} frames  (wall: IK {r['ik_fps']:6.0f} frames/s, "
            f"end-to-end {r['total_fps']:6.0f} frames/s)  "
            f"{r['iters']:.1f} iterations/frame  gates {'pass' if r['pass'] else 'FAIL ' + str(r['failed'])}  "
            f"worst keypoint error {r['kp_err_cm']:.2f} cm  worst stance drift {r['drift_cm_s']:.1f} cm/s"
        )
    base, ours = results.values()
    print(
        f"  ratio default / GMR-style: per CPU-second {ours['cpu_fps'] / base['cpu_fps']:.2f}x, wall IK "
        f"{ours['ik_fps'] / base['ik_fps']:.2f}x, wall end-to-end {ours['total_fps'] / base['total_fps']:.2f}x"
    )


if __name__ == "__main__":
    main()
