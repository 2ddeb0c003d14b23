"""Env benchmark: creation time with a cold / warm warp kernel cache, and env-steps/s for 4 and 16 envs (CPU).

Each measurement runs in its own process (Isaac Lab keeps one simulation per process, and warp loads its kernel
cache once). The cold run uses an empty temporary cache; the warm runs reuse it, so the ratio isolates kernel
compilation. Throughput: random actions in [-1, 1], after a few warm-up steps.

    python benchmarks/bench_env.py [--task WildRobot-AMP-Flat-v0] [--steps 200] [--envs 4 16] [--skip-cold]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


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
    args = parser.parse_args()

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
