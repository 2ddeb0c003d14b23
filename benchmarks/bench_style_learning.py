"""Does the default AMP recipe learn style? AMP against a control with style weight 0, same env, seed and budget.

    .venv/bin/python benchmarks/bench_style_learning.py                      # WildRobot-AMP-Flat-v0, 256 envs, 15 min
    .venv/bin/python benchmarks/bench_style_learning.py --minutes 3 --num-envs 64 --json style.json

Both runs use the task's agent config; the control only sets ``agent.style_reward_scale=0`` (its discriminator still
trains, so it costs the same per update and its D(policy) is measured the same way). Budget: the AMP run trains
for ``--minutes`` of wall clock, stopping on an update boundary; the control then trains for exactly the same number
of timesteps (same env-steps and the same number of updates), so a machine whose load changes between the two runs
cannot favour either. Both runs start from the same seed.

After training each policy acts deterministically (mean action) for ``--eval-steps`` steps on freshly reset envs:
    nearest-reference distance   mean RMS distance (reference-normalised units, every AMP column) from the policy's
                                 AMP observations to the nearest reference observation of the task's dataset
    D(policy)                    mean sigmoid(discriminator logit) of those observations, each run's own discriminator
    episode length, fall rate    finished episodes (fall = terminated, not timed out)
    velocity tracking error      mean |v_xy (heading frame) - command_xy| over steps of envs alive for >= 1 s
The last line is ``ratio = AMP / control nearest-reference distance``. Goal: ratio <= 0.7 with a tracking error no
worse than 1.2x the control's.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("WILDROBOT_NO_PROGRESS", "1")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--task", default="WildRobot-AMP-Flat-v0")
    p.add_argument("--num-envs", type=int, default=256)
    p.add_argument("--minutes", type=float, default=15.0, help="wall-clock training budget of the AMP run")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dataset", default=None, help="reference .npz (default: the task's, the built-in demo gait)")
    p.add_argument("--eval-steps", type=int, default=300, help="deterministic evaluation steps per run")
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", default=None, help="write the figures here")
    p.add_argument("overrides", nargs="*", help="extra agent.<path>=<value> overrides for both runs")
    return p.parse_args(argv)


def agent_cfg(task: str, seed: int, overrides: list[str]):
    from wildrobot_amp_ext.isaaclab.launch import load_agent_cfg

    cfg = load_agent_cfg(task, overrides)
    cfg.seed = seed
    cfg.agent.experiment.write_interval, cfg.agent.experiment.checkpoint_interval = 0, 0
    return cfg


def train(env, cfg, *, timesteps: int, seconds: float | None, name: str) -> tuple:
    """Train one run; with ``seconds`` stop at the first update boundary past it. Returns (runner, timesteps)."""
    from wildrobot_amp_ext.agents.runner import build_amp_runner

    runner = build_amp_runner(env, cfg, timesteps=timesteps)
    num_envs = env.unwrapped.num_envs
    rollouts = runner.agent.cfg.rollouts
    started = time.perf_counter()
    last_print = [started]

    def stop_when(timestep: int) -> bool:
        now = time.perf_counter()
        boundary = (timestep + 1) % rollouts == 0
        if boundary and now - last_print[0] > 30:
            last_print[0] = now
            rate = (timestep + 1) * num_envs / (now - started)
            left = (
                f"{max(0.0, seconds - (now - started)) / 60:.1f} min left"
                if seconds
                else f"{timesteps - timestep - 1} timesteps left"
            )
            print(f"[{name}] timestep {timestep + 1}  {rate:.0f} env-steps/s  {left}", flush=True)
        return bool(seconds) and boundary and now - started >= seconds

    runner.trainer.stop_when = stop_when
    runner.train()
    done = runner.trainer.timesteps_done
    print(
        f"[{name}] trained {done} timesteps = {done * num_envs} env-steps, {done // rollouts} updates "
        f"in {time.perf_counter() - started:.0f} s"
    )
    return runner, done


@torch.no_grad()
def evaluate(runner, steps: int, settle_s: float = 1.0) -> dict:
    from wildrobot_amp_ext.agents.diagnostics import nearest_reference_distance, reference_scale
    from wildrobot_amp_ext.features.compute import heading_yaw, rotate_into_heading

    agent, env = runner.agent, runner.env
    unwrapped = env.unwrapped
    agent.enable_training_mode(False)
    sampler = unwrapped.reference_sampler
    reference = sampler.obs[torch.as_tensor(sampler.table.valid, device=sampler.obs.device)[sampler._order]]
    scale = reference_scale(reference)
    settle = int(round(settle_s / unwrapped.step_dt))
    robot = unwrapped.scene["robot"]
    obs, _ = env.reset()
    alive = torch.zeros(env.num_envs, dtype=torch.long, device=env.device)
    amp_rows, errors, d_policy = [], [], []
    finished = fell = length_sum = 0
    for _ in range(steps):
        _, outputs = agent.act(obs, env.state(), timestep=0, timesteps=1)
        command = unwrapped.command_manager.get_command("base_velocity")[:, :2].clone()
        obs, _, terminated, truncated, infos = env.step(outputs["mean_actions"])
        terminated, truncated = terminated.reshape(-1), truncated.reshape(-1)
        done = terminated | truncated
        alive += 1
        quat = robot.data.root_link_quat_w.torch[:, [3, 0, 1, 2]]  # xyzw -> wxyz
        v_heading = rotate_into_heading(robot.data.root_link_lin_vel_w.torch, heading_yaw(quat))[:, :2]
        settled = (alive > settle) & ~done
        errors.append((v_heading - command).norm(dim=-1)[settled])
        amp = infos["amp_obs"]
        amp_rows.append(amp)
        z = agent._amp_observation_preprocessor(amp)
        d_policy.append(torch.sigmoid(agent._discriminate(z)).reshape(-1))
        finished += int(done.sum())
        fell += int(terminated.sum())
        length_sum += int(alive[done].sum())
        alive[done] = 0
    amp_all = torch.cat(amp_rows)
    err = torch.cat(errors)
    return {
        "nearest_reference_distance": float(nearest_reference_distance(amp_all, reference, scale).mean()),
        "d_policy": float(torch.cat(d_policy).mean()),
        "episode_length_s": (length_sum / finished * unwrapped.step_dt) if finished else steps * unwrapped.step_dt,
        "episodes_finished": finished,
        "fall_rate": fell / finished if finished else 0.0,
        "velocity_tracking_error": float(err.mean()) if err.numel() else float("nan"),
    }


def report(name: str, timesteps: int, num_envs: int, m: dict) -> str:
    return (
        f"{name:8s} timesteps {timesteps:6d} ({timesteps * num_envs} env-steps)  "
        f"nearest-ref {m['nearest_reference_distance']:.3f}  "
        f"D(policy) {m['d_policy']:.3f}  episode {m['episode_length_s']:.2f} s  fall rate {m['fall_rate']:.2f}  "
        f"tracking error {m['velocity_tracking_error']:.3f} m/s"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from wildrobot_amp_ext.isaaclab.launch import make_env
    from wildrobot_amp_ext.utils.atomic import save_json_atomic

    overrides = [f"env.seed={args.seed}"] + (
        [f"env.amp.dataset={Path(args.dataset).resolve()}"] if args.dataset else []
    )
    env = make_env(args.task, num_envs=args.num_envs, device=args.device, overrides=overrides)
    try:
        amp_cfg = agent_cfg(args.task, args.seed, args.overrides)
        control_cfg = agent_cfg(args.task, args.seed, args.overrides + ["agent.agent.style_reward_scale=0.0"])
        big = 10**9  # the AMP run ends on its wall-clock budget
        amp_runner, steps = train(env, amp_cfg, timesteps=big, seconds=60.0 * args.minutes, name="amp")
        amp = evaluate(amp_runner, args.eval_steps)
        amp["timesteps"], amp["history"] = steps, _history(amp_runner)
        control_runner, control_steps = train(env, control_cfg, timesteps=steps, seconds=None, name="control")
        control = evaluate(control_runner, args.eval_steps)
        control["timesteps"], control["history"] = control_steps, _history(control_runner)
    finally:
        env.close()
    ratio = amp["nearest_reference_distance"] / control["nearest_reference_distance"]
    tracking = amp["velocity_tracking_error"] / control["velocity_tracking_error"]
    print(report("amp", amp["timesteps"], args.num_envs, amp))
    print(report("control", control["timesteps"], args.num_envs, control))
    print(f"tracking error AMP / control = {tracking:.2f} (goal <= 1.2)")
    result = {"task": args.task, "num_envs": args.num_envs, "minutes": args.minutes, "seed": args.seed, "amp": amp,
              "control": control, "tracking_ratio": tracking, "ratio": ratio}  # fmt: skip
    if args.json:
        save_json_atomic(args.json, result)
    print(f"ratio = {ratio:.3f} (AMP / control nearest-reference distance; goal <= 0.7)")
    return 0


def _history(runner) -> list[dict]:
    keys = ("timestep", "auc", "auc_train", "acc_policy", "acc_reference", "logit_saturation", "style_weight_fraction",
            "task_reward_per_step", "style_reward_per_step", "episode_length_mean", "fall_rate")  # fmt: skip
    return [{k: r.get(k) for k in keys} for r in runner.agent.diagnostics_history]


if __name__ == "__main__":
    raise SystemExit(main())
