"""Does the default AMP recipe learn style? AMP against controls that differ from it in one thing each, several seeds.

    .venv/bin/python benchmarks/bench_style_learning.py                          # WildRobot, 3 seeds, 30 updates
    .venv/bin/python benchmarks/bench_style_learning.py --updates 10 --seeds 0 --num-envs 32 --json style.json

Arms, each trained for the same number of PPO updates (same timesteps) from the same seed, fresh env per arm:
    amp               the task's agent config
    control_bonus     task rewards plus a constant per-step bonus equal to the AMP run's mean style reward over the
                      same timesteps (``agent.amp.constant_style_reward``): the same survival incentive, no style
                      information (its discriminator still trains, so an update costs the same)
    control_shuffled  AMP on a time-shuffled reference (dataset.controls): a style reward is present, the motion is not
    standing          not trained: zero actions from the default pose, the floor any learned policy must beat

Evaluation (evaluation.evaluate + .style_metric), the same for every arm: one env built for evaluation (reference-state
init, pushes and observation noise off, commands pinned), a fresh reset per arm, deterministic actions, each command
of the grid on ``--envs-per-command`` envs for ``--eval-seconds``. The grid is the reference clips' mean velocities
(what the reference can show) that lie inside the task's command ranges. Reported per arm and seed: both style
distances (policy -> reference command-matched, reference -> policy per clip; first second and last second before a
fall excluded), forward-velocity and yaw-rate tracking errors, fall rate, updates.

"Beats": every AMP seed better than every control seed on both distances (printed as a verdict per control).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("WILDROBOT_NO_PROGRESS", "1")

ARMS = ("amp", "control_bonus", "control_shuffled", "standing")
TRAINED = ("amp", "control_bonus", "control_shuffled")


def add_physics_args(parser) -> None:
    from wildrobot_amp_ext.isaaclab.physics_select import add_physics_args as add

    add(parser)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--task", default="WildRobot-AMP-Flat-v0")
    p.add_argument("--num-envs", type=int, default=64)
    p.add_argument("--updates", type=int, default=30, help="PPO updates per trained arm (same timesteps for all)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    p.add_argument("--dataset", default=None, help="reference .npz (default: the task's, the built-in demo gait)")
    p.add_argument("--eval-seconds", type=float, default=6.0)
    p.add_argument("--envs-per-command", type=int, default=4)
    p.add_argument("--device", default="cpu")
    add_physics_args(p)
    p.add_argument("--json", default=None, help="write {'arms': {arm: [per-seed dict, ...]}, ...} here")
    p.add_argument("overrides", nargs="*", help="extra agent.<path>=<value> overrides for every trained arm")
    return p.parse_args(argv)


def physics(args) -> list[str]:
    from wildrobot_amp_ext.isaaclab.physics_select import physics_overrides

    return physics_overrides(args)


def agent_cfg(task: str, seed: int, overrides: list[str]):
    from wildrobot_amp_ext.isaaclab.launch import load_agent_cfg

    cfg = load_agent_cfg(task, overrides)
    cfg.seed = seed
    cfg.agent.experiment.write_interval, cfg.agent.experiment.checkpoint_interval = 0, 0
    return cfg


def train_arm(args, seed: int, dataset: str | None, overrides: list[str], name: str) -> tuple:
    """Train one arm in a fresh env; returns (act function, mean style reward per step, updates, seconds)."""
    from wildrobot_amp_ext.agents.runner import build_amp_runner
    from wildrobot_amp_ext.isaaclab.launch import make_env

    env_overrides = [f"env.seed={seed}"] + ([f"env.amp.dataset={dataset}"] if dataset else []) + physics(args)
    env = make_env(args.task, num_envs=args.num_envs, device=args.device, overrides=env_overrides)
    started = time.perf_counter()
    try:
        cfg = agent_cfg(args.task, seed, args.overrides + overrides)
        runner = build_amp_runner(env, cfg, timesteps=args.updates * cfg.agent.rollouts)
        runner.train()
        agent = runner.agent
        style = [r["style_reward_per_step"] for r in agent.diagnostics_history]
        updates = agent.update_count
    finally:
        env.close()
    seconds = time.perf_counter() - started
    print(f"[{name} seed {seed}] {updates} updates in {seconds:.0f} s, style reward per step {np.mean(style):.4f}")
    agent.enable_training_mode(False)
    preprocess = agent._observation_preprocessor

    @torch.no_grad()
    def act(obs: torch.Tensor) -> torch.Tensor:
        return agent.policy.act({"observations": preprocess(obs)}, role="policy")[1]["mean_actions"]

    return act, float(np.mean(style)), updates, seconds


def eval_commands(env_cfg, reference_path: str) -> list[tuple[float, float, float]]:
    """The reference clips' mean velocities inside the task's command ranges (rounded to 0.05)."""
    from wildrobot_amp_ext.evaluation.style_metric import StyleReference

    ref = StyleReference.from_dataset(reference_path)
    r = env_cfg.commands.base_velocity.ranges
    lo = np.array([r.lin_vel_x[0], r.lin_vel_y[0], r.ang_vel_z[0]])
    hi = np.array([r.lin_vel_x[1], r.lin_vel_y[1], r.ang_vel_z[1]])
    out: list[tuple[float, float, float]] = []
    for k in np.unique(ref.clip):
        v = np.round(ref.velocity[ref.clip == k].mean(axis=0) / 0.05) * 0.05 + 0.0
        if np.all(v >= lo - 1e-6) and np.all(v <= hi + 1e-6) and tuple(v) not in out:
            out.append(tuple(float(x) for x in v))
    return out


def reference_path(env_cfg) -> str:
    """The dataset file the env would read (the env's own resolution)."""
    return env_cfg.amp.resolve_reference(env_cfg.robot_spec())[1]


def summary(report: dict, updates: int) -> dict:
    o, s = report["overall"], report["style"]
    return {
        "policy_to_reference": s["policy_to_reference"],
        "reference_to_policy": s["reference_to_policy"],
        "velocity_error": o.get("lin_vel_error_mean"),
        "yaw_rate_error": o.get("ang_vel_error_mean"),
        "fall_rate": o["fall_rate"],
        "updates": updates,
        "policy_transitions_scored": s["policy_transitions_scored"],
        "policy_transitions_unmatched": s["policy_transitions_unmatched"],
        "reference_to_policy_per_clip": {
            k: v["reference_to_policy"] for k, v in s["reference_to_policy_per_clip"].items()
        },
        "policy_to_reference_by_term": s["policy_to_reference_by_term"],
    }


def beats(amp: list[dict], control: list[dict]) -> bool | None:
    """Every AMP seed better than every control seed on both distances."""
    keys = ("policy_to_reference", "reference_to_policy")
    values = [[r[k] for r in rows] for rows in (amp, control) for k in keys]
    if not amp or not control or any(v is None for vs in values for v in vs):
        return None
    return all(max(r[k] for r in amp) < min(r[k] for r in control) for k in keys)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from wildrobot_amp_ext.dataset.controls import write_time_shuffled
    from wildrobot_amp_ext.evaluation.evaluate import EvalCfg, evaluate, prepare_eval_cfg
    from wildrobot_amp_ext.isaaclab.launch import create_env, load_env_cfg
    from wildrobot_amp_ext.utils.atomic import save_json_atomic

    play_task = args.task.replace("-v0", "-Play-v0") if "-Play-" not in args.task else args.task
    dataset_override = [f"env.amp.dataset={Path(args.dataset).resolve()}"] if args.dataset else []
    probe = load_env_cfg(play_task, device=args.device, overrides=dataset_override)
    reference = reference_path(probe)
    commands = eval_commands(probe, reference)
    print(f"reference {reference}\neval commands {commands}")
    workdir = Path(tempfile.mkdtemp(prefix="bench_style_"))
    shuffled = str(write_time_shuffled(reference, workdir / "time_shuffled.npz"))

    rows: dict[str, list[dict]] = {arm: [] for arm in args.arms}
    for seed in args.seeds:
        policies: dict[str, tuple] = {}
        if "amp" in args.arms or "control_bonus" in args.arms:
            policies["amp"] = train_arm(args, seed, reference, [], "amp")
        if "control_bonus" in args.arms:
            bonus = policies["amp"][1]
            policies["control_bonus"] = train_arm(
                args, seed, reference, [f"agent.amp.constant_style_reward={bonus}"], "control_bonus"
            )
        if "control_shuffled" in args.arms:
            policies["control_shuffled"] = train_arm(args, seed, shuffled, [], "control_shuffled")
        # one evaluation env for every arm of this seed: a fresh reset per arm, the true reference
        cfg = load_env_cfg(
            play_task, device=args.device, overrides=[f"env.seed={1000 + seed}", f"env.amp.dataset={reference}"]
        )
        eval_cfg = EvalCfg(commands=commands, envs_per_command=args.envs_per_command, duration_s=args.eval_seconds)
        prepare_eval_cfg(cfg, eval_cfg)
        env = create_env(cfg, task=play_task)
        try:
            action_dim = env.unwrapped.action_manager.total_action_dim
            if "standing" in args.arms:
                policies["standing"] = (zero_actions(action_dim), 0.0, 0, 0.0)
            for arm in args.arms:
                act, _, updates, _ = policies[arm]
                _, report = evaluate(env, act, eval_cfg, commands, task=play_task)
                rows[arm].append({"seed": seed, **summary(report, updates)})
                print(format_row(arm, rows[arm][-1]))
        finally:
            env.close()

    verdicts = {
        c: beats(rows.get("amp", []), rows.get(c, [])) for c in ("control_bonus", "control_shuffled", "standing")
    }
    print("\narm               seed  p->ref  ref->p  |v err|  |w err|  falls  updates")
    for arm in args.arms:
        for row in rows[arm]:
            print(format_row(arm, row))
        print(format_spread(arm, rows[arm]))
    for control, verdict in verdicts.items():
        if control in rows and "amp" in rows:
            print(f"AMP beats {control} (every AMP seed better on both distances): {verdict}")
    result = {"task": args.task, "num_envs": args.num_envs, "updates": args.updates, "seeds": args.seeds,
              "eval_commands": commands, "reference": reference, "arms": rows, "amp_beats": verdicts}  # fmt: skip
    if args.json:
        save_json_atomic(args.json, result)
    return 0


def zero_actions(action_dim: int):
    """The standing arm: zero actions hold the default pose (joint targets = default offsets)."""
    return lambda obs: torch.zeros(obs.shape[0], action_dim)


def _f(x, spec=".3f") -> str:
    return "  n/a" if x is None else format(x, spec)


def format_row(arm: str, r: dict) -> str:
    return (
        f"{arm:17s} {r['seed']:4d}  {_f(r['policy_to_reference'])}  {_f(r['reference_to_policy'])}  "
        f"{_f(r['velocity_error'])}    {_f(r['yaw_rate_error'])}    {_f(r['fall_rate'], '.2f')}   {r['updates']:5d}"
    )


def format_spread(arm: str, rows: list[dict]) -> str:
    parts = []
    for k in ("policy_to_reference", "reference_to_policy", "velocity_error", "fall_rate"):
        v = [r[k] for r in rows if r[k] is not None]
        parts.append(f"{k} {np.mean(v):.3f} +- {np.std(v):.3f}" if v else f"{k} n/a")
    return f"{arm:17s} mean  " + ", ".join(parts)


if __name__ == "__main__":
    raise SystemExit(main())
