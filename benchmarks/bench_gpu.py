"""GPU benchmark (issue 26): G1-23 env-steps/s at 4096 envs with CUDA graphs on and off, the same under AMP
training (train_amp.py), peak GPU memory, and a short training run's held-out AUC and rewards; JSON out.

    python benchmarks/bench_gpu.py [--task G1-23dof-AMP-Flat-v0] [--num-envs 4096] [--steps 200] \\
        [--iterations 20] [--json bench_gpu.json]

Without a CUDA device it prints one line saying why and exits 0: nothing is measured. ``--device cpu`` runs the
same measurements on the CPU (a smoke test of this script at a few envs; its figures say nothing about a GPU).
Each measurement runs in its own process (Isaac Lab keeps one simulation per process); throughput is timed after
warm-up steps (the first steps capture the CUDA graph) between ``torch.cuda.synchronize()`` calls. Ratios
(graphs on / off, training / env alone) come from runs in the same invocation, on the same GPU. No measurement
starts once ``--budget-s`` (default 420 s, under the issue's 8 minutes) has passed; the JSON says which were skipped.
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

ROOT = Path(__file__).resolve().parents[1]
RESULT = "RESULT "


def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def peak_memory_gib(device: str) -> float | None:
    import torch

    return torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else None


def env_worker(args: argparse.Namespace) -> dict:
    """env-steps/s of the task alone (random actions), with the graphs setting ``args.graphs``."""
    import torch

    from wildrobot_amp_ext.isaaclab.launch import create_env, load_env_cfg

    overrides = [f"env.sim.physics.use_cuda_graph={'true' if args.graphs == 'on' else 'false'}"]
    cfg = load_env_cfg(args.task, num_envs=args.num_envs, device=args.device, overrides=overrides)
    started = time.perf_counter()
    env = create_env(cfg, task=args.task)
    created = time.perf_counter() - started
    try:
        u = env.unwrapped
        env.reset()
        gen = torch.Generator(device=u.device).manual_seed(0)
        shape = (args.num_envs, u.action_manager.total_action_dim)
        for _ in range(args.warmup):
            env.step(torch.rand(shape, generator=gen, device=u.device) * 2 - 1)
        sync(args.device)
        t0 = time.perf_counter()
        for _ in range(args.steps):
            env.step(torch.rand(shape, generator=gen, device=u.device) * 2 - 1)
        sync(args.device)
        elapsed = time.perf_counter() - t0
    finally:
        env.close()
    return {
        "graphs": cfg.sim.physics.use_cuda_graph,
        "num_envs": args.num_envs,
        "create_s": created,
        "steps": args.steps,
        "env_steps_per_s": args.steps * args.num_envs / elapsed,
        "peak_gpu_memory_gib": peak_memory_gib(args.device),
    }


def train_worker(args: argparse.Namespace) -> dict:
    """A short train_amp.py run (graphs as resolved for the device): env-steps/s with AMP updates included, memory,
    and the last update's held-out AUC and rewards."""
    sys.path.insert(0, str(ROOT))
    import train_amp

    with tempfile.TemporaryDirectory() as logs:
        argv = ["--task", args.task, "--num_envs", str(args.num_envs), "--device", args.device, "--headless"]
        argv += ["--max_iterations", str(args.iterations), "--log_root", logs, "--seed", "0"]
        started = time.perf_counter()
        code = train_amp.main(argv)
        wall = time.perf_counter() - started
        run = next((Path(logs) / args.task).iterdir())
        gate = json.loads((run / "micro_train_gate.json").read_text())
        lines = (run / "diagnostics.jsonl").read_text().splitlines() if (run / "diagnostics.jsonl").exists() else []
    records = [json.loads(line) for line in lines]
    last = records[-1] if records else {}
    return {
        "exit_code": code,
        "iterations": args.iterations,
        "wall_s": wall,
        "env_steps_per_s": gate.get("env_steps_per_second"),
        "peak_gpu_memory_gib": peak_memory_gib(args.device),
        "heldout_auc": gate.get("auc"),
        "logit_saturation": gate.get("logit_saturation"),
        "gate_verdict": gate.get("verdict"),
        "task_reward_per_step": last.get("task_reward_per_step"),
        "style_reward_per_step": last.get("style_reward_per_step"),
        "episode_length_mean": last.get("episode_length_mean"),
        "fall_rate": last.get("fall_rate"),
        "updates": len(records),
    }


def run_worker(args: argparse.Namespace, kind: str, extra: list[str], timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind, "--task", args.task, "--num-envs", str(args.num_envs)]
    cmd += ["--device", args.device, "--steps", str(args.steps), "--warmup", str(args.warmup)]
    cmd += ["--iterations", str(args.iterations), *extra]
    env = dict(os.environ, WILDROBOT_NO_PROGRESS="1")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT):
            return json.loads(line[len(RESULT) :])
    return {"error": f"exit {proc.returncode}: {(proc.stderr or proc.stdout).strip()[-600:]}"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--task", default="G1-23dof-AMP-Flat-v0")
    p.add_argument("--num-envs", type=int, default=4096)
    p.add_argument("--device", default="cuda:0", help="cuda:<n> (default cuda:0); cpu: a smoke test of this script")
    p.add_argument("--steps", type=int, default=200, help="timed env steps per throughput measurement")
    p.add_argument("--warmup", type=int, default=20, help="env steps before timing (graph capture, allocations)")
    p.add_argument("--iterations", type=int, default=20, help="PPO iterations of the training run")
    p.add_argument("--budget-s", type=float, default=420.0, help="start no measurement after this many seconds")
    p.add_argument("--json", default="bench_gpu.json", help="output file")
    p.add_argument("--worker", choices=("env", "train"), help=argparse.SUPPRESS)
    p.add_argument("--graphs", choices=("on", "off"), default="on", help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.worker:
        result = env_worker(args) if args.worker == "env" else train_worker(args)
        print(RESULT + json.dumps(result), flush=True)
        return 0
    if args.device.startswith("cuda"):
        from wildrobot_amp_ext.utils.gpu import cuda_unavailable_reason

        reason = cuda_unavailable_reason()
        if reason is not None:
            print(f"[bench_gpu] no CUDA device visible ({reason}): nothing measured; run it on a machine with a GPU")
            return 0
    started = time.perf_counter()
    plan = [
        ("graphs_on", "env", ["--graphs", "on"]),
        ("graphs_off", "env", ["--graphs", "off"]),
        ("training", "train", []),
    ]
    results: dict = {}
    for name, kind, extra in plan:
        left = args.budget_s - (time.perf_counter() - started)
        if left <= 0:
            results[name] = {"skipped": f"budget of {args.budget_s:.0f} s spent"}
            continue
        print(f"[bench_gpu] {name} ...", flush=True)
        results[name] = run_worker(args, kind, extra, timeout=max(left, 60.0) + 60.0)
        print(f"[bench_gpu] {name}: {json.dumps(results[name])}", flush=True)

    def rate(name: str) -> float | None:
        return results.get(name, {}).get("env_steps_per_s")

    on, off, train = rate("graphs_on"), rate("graphs_off"), rate("training")
    report = {
        "task": args.task,
        "num_envs": args.num_envs,
        "device": args.device,
        "gpu": _gpu_name(args.device),
        "results": results,
        "ratio_graphs_on_over_off": on / off if on and off else None,
        "ratio_training_over_env_alone": train / on if train and on else None,
        "total_s": time.perf_counter() - started,
    }
    Path(args.json).write_text(json.dumps(report, indent=2))
    print(
        f"[bench_gpu] env-steps/s: graphs on {on}, off {off}, training {train}; "
        f"on/off {report['ratio_graphs_on_over_off']}; -> {args.json}"
    )
    return 0


def _gpu_name(device: str) -> str | None:
    import torch

    return torch.cuda.get_device_name(torch.device(device)) if device.startswith("cuda") else None


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
