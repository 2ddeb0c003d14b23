"""Env benchmark: creation time with a cold / warm warp kernel cache, and env-steps/s for 4 and 16 envs (CPU).

Each measurement runs in its own process (Isaac Lab keeps one simulation per process, and warp loads its kernel
cache once). The cold run uses an empty temporary cache; the warm runs reuse it, so the ratio isolates kernel
compilation. Throughput: random actions in [-1, 1], after a few warm-up steps.

    python benchmarks/bench_env.py [--task WildRobot-AMP-Flat-v0] [--steps 200] [--envs 4 16] [--skip-cold]

Physics backends (issue 21), ``--json PATH``: env-steps/s of ``mujoco-warp`` and ``mujoco-cpu`` at 16, 256 and 1024
envs for WildRobot and the G1-23 (full env step: physics, managers, AMP features; random actions), each next to a
bare ``mj_step`` loop of the same robot's MuJoCo model on one core measured in the same worker right after it, and

    ratio = env_steps_per_s * decimation / (mj_steps_per_s_per_core * cores)

with decimation = 4 (the env's 5 ms physics steps per env step, whatever substeps a backend takes). The JSON is
``{"cores": n, "results": [{"robot", "backend", "num_envs", "env_steps_per_s", "decimation", "substeps",
"mj_steps_per_s_per_core", "ratio"}, ...]}`` (extra keys: ``torch_threads``, ``rss_mb``, ``seconds``).

    python benchmarks/bench_env.py --json bench_env.json [--cpu-threads N] [--robots wildrobot unitree_g1_23dof]
        [--backends mujoco-warp mujoco-cpu] [--envs 16 256 1024] [--seconds 10] [--torch-threads N]

``--cpu-threads N`` pins each worker to N cores (default: every core) and gives mujoco-cpu N physics threads;
``--torch-threads`` sets torch's intra-op threads (default: torch's own choice); ``OMP_WAIT_POLICY`` is passed
through from the environment.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def worker(task: str, num_envs: int, steps: int, warmup: int) -> dict:
    t0 = time.perf_counter()
    import torch

    from wildrobot_amp_ext.isaaclab.launch import make_env

    t_import = time.perf_counter()
    env = make_env(task, num_envs=num_envs)
    t_created = time.perf_counter()
    env.reset()
    u = env.unwrapped
    gen = torch.Generator().manual_seed(0)

    def act():
        return (torch.rand(num_envs, u.action_manager.total_action_dim, generator=gen) * 2 - 1).to(u.device)

    t_first = time.perf_counter()
    env.step(act())
    first_step = time.perf_counter() - t_first
    for _ in range(warmup):
        env.step(act())
    t_run = time.perf_counter()
    for _ in range(steps):
        env.step(act())
    run = time.perf_counter() - t_run
    env.close()
    return {
        "num_envs": num_envs,
        "import_s": t_import - t0,
        "create_s": t_created - t_import,
        "first_step_s": first_step,
        "steps_per_s": steps / run,
        "env_steps_per_s": steps * num_envs / run,
    }


ROBOT_TASKS = {"wildrobot": "WildRobot-AMP-Flat-v0", "unitree_g1_23dof": "G1-23dof-AMP-Flat-v0"}
DECIMATION = 4  # the env's physics steps per env step (the ratio's definition, whatever substeps a backend takes)


def bare_mj_steps_per_core(robot_name: str, seconds: float) -> float:
    """mj_step/s of the robot's MuJoCo model (floor, PD actuators holding the default pose) on one core."""
    import mujoco
    import numpy as np

    from wildrobot_amp_ext.robots import load_robot
    from wildrobot_amp_ext.robots.mjcf import actuator_ids, build_model, joint_qpos_adr

    robot = load_robot(robot_name)
    model = build_model(robot)
    data = mujoco.MjData(model)
    default = np.asarray(robot.default_joint_pos)
    data.qpos[joint_qpos_adr(model, robot)] = default
    data.ctrl[actuator_ids(model, robot)] = default
    mujoco.mj_forward(model, data)
    for _ in range(200):  # settle on the floor
        mujoco.mj_step(model, data)
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        mujoco.mj_step(model, data, 100)
        steps += 100
    return steps / (time.perf_counter() - t0)


class StepSplit:
    """Wall time of one env step split into physics (MuJoCo stepping: MuJoCo-Warp's kernels, or the mujoco-cpu
    threads), the rest of the physics step (Newton's other kernels: control mapping, state conversion, FK; Isaac Lab's
    actuators), managers (everything else in ``env.step``), and the AMP feature term inside the managers."""

    def __init__(self) -> None:
        from newton.solvers import SolverMuJoCo

        from isaaclab.sim.simulation_context import SimulationContext

        from wildrobot_amp_ext.isaaclab.mujoco_cpu import SolverMujocoCpu
        from wildrobot_amp_ext.tasks.amp_locomotion.mdp.amp import amp_features

        self.t = {"sim": 0.0, "physics": 0.0, "amp": 0.0}
        self._wrap(SimulationContext, "step", "sim")
        self._wrap(SolverMuJoCo, "_mujoco_warp_step", "physics")
        self._wrap(SolverMujocoCpu, "_step_worlds", "physics")
        self._wrap(amp_features, "__call__", "amp")

    def _wrap(self, cls, name: str, key: str) -> None:
        fn = getattr(cls, name)
        t = self.t

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                t[key] += time.perf_counter() - t0

        setattr(cls, name, timed)

    def reset(self) -> None:
        for key in self.t:
            self.t[key] = 0.0

    def fractions(self, total: float) -> dict:
        t = self.t
        return {
            "physics": t["physics"] / total,
            "newton_other": (t["sim"] - t["physics"]) / total,
            "managers": (total - t["sim"]) / total,
            "amp_term": t["amp"] / total,
        }


def matrix_worker(robot: str, backend: str, num_envs: int, seconds: float, cores: int, torch_threads: int) -> dict:
    """One row of the physics-backend table (runs in its own process)."""
    import torch

    if torch_threads > 0:
        torch.set_num_threads(torch_threads)
    from wildrobot_amp_ext.isaaclab.launch import make_env

    overrides = [f"env.physics_backend={backend}", f"env.physics_threads={cores}", "env.seed=0"]
    env = make_env(ROBOT_TASKS[robot], num_envs=num_envs, device="cpu", overrides=overrides)
    u = env.unwrapped
    env.reset()
    gen = torch.Generator().manual_seed(0)
    dim = u.action_manager.total_action_dim
    split = StepSplit()
    for _ in range(3):
        env.step(torch.rand(num_envs, dim, generator=gen) * 2 - 1)
    split.reset()
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds or steps < 3:
        env.step(torch.rand(num_envs, dim, generator=gen) * 2 - 1)
        steps += 1
    elapsed = time.perf_counter() - t0
    rss_mb = int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    substeps = int(u.cfg.sim.physics.num_substeps)
    env.close()
    env_steps = steps * num_envs / elapsed
    bare = bare_mj_steps_per_core(robot, min(seconds, 5.0))
    return {
        "robot": robot,
        "backend": backend,
        "num_envs": num_envs,
        "env_steps_per_s": env_steps,
        "decimation": DECIMATION,
        "substeps": substeps,
        "mj_steps_per_s_per_core": bare,
        "ratio": env_steps * DECIMATION / (bare * cores),
        "torch_threads": torch.get_num_threads(),
        "rss_mb": rss_mb,
        "seconds": elapsed,
        "split": split.fractions(elapsed),
    }


def run_matrix(args: argparse.Namespace) -> None:
    cores_available = sorted(os.sched_getaffinity(0))
    cores = args.cpu_threads or len(cores_available)
    if not 0 < cores <= len(cores_available):
        raise SystemExit(f"--cpu-threads {cores}: this process may use {len(cores_available)} cores")
    env = dict(os.environ)
    env.setdefault("WARP_CACHE_PATH", str(Path("~/.cache/wildrobot_amp_ext/warp").expanduser()))
    results = []
    print(f"{'robot':<18}{'backend':<13}{'envs':>6}{'env-steps/s':>13}{'mj_step/s/core':>16}{'ratio':>8}{'RSS MB':>8}")
    for robot in args.robots:
        for num_envs in args.envs:
            for backend in args.backends:
                cmd = [sys.executable, __file__, "--matrix-worker", robot, backend, str(num_envs)]
                cmd += ["--seconds", str(args.seconds), "--cores", str(cores)]
                cmd += ["--torch-threads", str(args.torch_threads)]
                # pinned to `cores` cores, so that the ratio's denominator is what the worker could use
                pin = ["taskset", "-c", ",".join(map(str, cores_available[:cores]))]
                out = subprocess.run(pin + cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
                row = next(
                    (json.loads(x[7:]) for x in reversed(out.stdout.splitlines()) if x.startswith("RESULT ")), None
                )
                if row is None:
                    raise RuntimeError(f"worker failed (rc {out.returncode}):\n{out.stderr[-3000:]}")
                results.append(row)
                print(
                    f"{robot:<18}{backend:<13}{num_envs:>6}{row['env_steps_per_s']:>13.1f}"
                    f"{row['mj_steps_per_s_per_core']:>16.0f}{row['ratio']:>8.3f}{row['rss_mb']:>8.0f}",
                    flush=True,
                )
    print("split of the env step (fractions): physics / Newton's other kernels + actuators / managers (AMP term)")
    for r in results:
        f = r["split"]
        print(
            f"  {r['robot']:<18}{r['backend']:<13}{r['num_envs']:>6}  {f['physics']:.2f} / {f['newton_other']:.2f} / "
            f"{f['managers']:.2f} ({f['amp_term']:.2f})"
        )
    report = {"cores": cores, "results": results}
    Path(args.json).write_text(json.dumps(report, indent=1))
    for robot in args.robots:
        for num_envs in args.envs:
            pair = {r["backend"]: r for r in results if r["robot"] == robot and r["num_envs"] == num_envs}
            if len(pair) == 2:
                speedup = pair["mujoco-cpu"]["env_steps_per_s"] / pair["mujoco-warp"]["env_steps_per_s"]
                print(f"{robot} {num_envs} envs: mujoco-cpu / mujoco-warp env-steps/s x{speedup:.1f}")
    print(f"wrote {args.json}")


def run_worker(args: argparse.Namespace, num_envs: int, warp_cache: str) -> dict:
    env = dict(os.environ, WARP_CACHE_PATH=warp_cache)
    cmd = [sys.executable, __file__, "--worker", "--task", args.task, "--num-envs", str(num_envs)]
    cmd += ["--steps", str(args.steps), "--warmup", str(args.warmup)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
    for line in reversed(out.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"worker failed (rc {out.returncode}):\n{out.stderr[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="WildRobot-AMP-Flat-v0")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--envs", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--skip-cold", action="store_true", help="reuse the default warp cache for every run")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--num-envs", type=int, default=4, help=argparse.SUPPRESS)
    parser.add_argument("--json", default=None, help="physics-backend table: write it to this JSON file")
    parser.add_argument("--robots", nargs="+", default=list(ROBOT_TASKS), choices=list(ROBOT_TASKS))
    parser.add_argument("--backends", nargs="+", default=["mujoco-warp", "mujoco-cpu"])
    parser.add_argument("--seconds", type=float, default=10.0, help="timed env stepping per row (after warm-up)")
    parser.add_argument("--cpu-threads", type=int, default=0, help="cores per worker (default: all)")
    parser.add_argument("--torch-threads", type=int, default=0, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--matrix-worker", nargs=3, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--cores", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.matrix_worker:
        robot, backend, num_envs = args.matrix_worker
        row = matrix_worker(robot, backend, int(num_envs), args.seconds, args.cores, args.torch_threads)
        print("RESULT " + json.dumps(row), flush=True)
        return
    if args.json:
        if args.envs == [4, 16]:  # the creation benchmark's default: the table's sizes instead
            args.envs = [16, 256, 1024]
        run_matrix(args)
        return

    if args.worker:
        print("RESULT " + json.dumps(worker(args.task, args.num_envs, args.steps, args.warmup)), flush=True)
        return

    from wildrobot_amp_ext.isaaclab.asset import cache_root

    rows = []
    with tempfile.TemporaryDirectory(prefix="warp-cold-") as cold_cache:
        cache = os.environ.get("WARP_CACHE_PATH") or str(cache_root() / "warp")
        if not args.skip_cold:
            cache = cold_cache
            cold = run_worker(args, args.envs[0], cache)
            rows.append(("cold cache", cold))
        for n in args.envs:
            rows.append(("warm cache", run_worker(args, n, cache)))

    print(f"\n{args.task}, CPU, {args.steps} random-action steps (decimation 4, 2 substeps)")
    print(f"{'run':<11}{'envs':>5}{'import s':>10}{'create s':>10}{'1st step s':>12}{'steps/s':>9}{'env-steps/s':>13}")
    for label, r in rows:
        print(
            f"{label:<11}{r['num_envs']:>5}{r['import_s']:>10.1f}{r['create_s']:>10.1f}{r['first_step_s']:>12.2f}"
            f"{r['steps_per_s']:>9.1f}{r['env_steps_per_s']:>13.1f}"
        )
    warm = [r for label, r in rows if label == "warm cache"]
    if not args.skip_cold:
        cold = rows[0][1]
        print(
            f"cold/warm creation: {cold['create_s'] / warm[0]['create_s']:.1f}x, "
            f"first step: {cold['first_step_s'] / warm[0]['first_step_s']:.1f}x"
        )
    base = warm[0]
    for r in warm[1:]:
        print(
            f"{r['num_envs']} vs {base['num_envs']} envs: "
            f"env-steps/s x{r['env_steps_per_s'] / base['env_steps_per_s']:.2f}, "
            f"steps/s x{r['steps_per_s'] / base['steps_per_s']:.2f}"
        )


if __name__ == "__main__":
    main()
