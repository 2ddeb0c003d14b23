"""AMP overhead vs plain PPO: env-steps/s of PPO, skrl's AMP and ours on the same env, in one process.

    .venv/bin/python benchmarks/bench_amp_overhead.py                       # toy env, several physics costs
    .venv/bin/python benchmarks/bench_amp_overhead.py --task WildRobot-AMP-Flat-v0 --num-envs 16 --dataset ref.npz

All three get the same policy / value networks, rollouts, epochs, minibatches and preprocessors from the agent
cfg. skrl's AMP adds the discriminator, the reference dataset and the replay buffer; ours adds on top the NaN
guard, input noise, feature mask, diagnostics and schedules (exactly what train_amp.py runs). Runs alternate
PPO / skrl AMP / ours to spread machine noise evenly; the best of ``--repeats`` is kept. The toy env costs almost
nothing per step, so ``--sim-cost-ms`` adds a fixed wait per vectorised step to stand in for physics: 0 ms is the
worst case (pure learner cost); a real simulator sits to the right.
Goal (issue 5): AMP overhead <= 10 % of PPO's throughput on the real training setup.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("WILDROBOT_NO_PROGRESS", "1")

from skrl.agents.torch.amp import AMP, AMP_CFG  # noqa: E402
from skrl.agents.torch.ppo import PPO, PPO_CFG  # noqa: E402
from skrl.memories.torch import RandomMemory  # noqa: E402
from skrl.trainers.torch import SequentialTrainerCfg  # noqa: E402

from wildrobot_amp_ext.agents.config import AmpAgentCfg, skrl_amp_kwargs  # noqa: E402
from wildrobot_amp_ext.agents.models import build_models  # noqa: E402
from wildrobot_amp_ext.agents.runner import build_amp_runner, wrap  # noqa: E402
from wildrobot_amp_ext.agents.trainer import ResumableSequentialTrainer  # noqa: E402

PPO_SHARED_KEYS = {
    "rollouts", "learning_epochs", "mini_batches", "discount_factor", "gae_lambda", "grad_norm_clip", "ratio_clip",
    "value_clip", "entropy_loss_scale", "value_loss_scale", "time_limit_bootstrap", "mixed_precision",
    "observation_preprocessor", "observation_preprocessor_kwargs", "value_preprocessor", "value_preprocessor_kwargs",
}  # fmt: skip


class TimedEnv:
    """Counts the seconds spent inside the wrapped env's step (to split env from learner time)."""

    def __init__(self, env):
        self._env = env
        self.step_seconds = 0.0

    def __getattr__(self, name):
        return getattr(self._env, name)

    def step(self, actions):
        start = time.perf_counter()
        out = self._env.step(actions)
        self.step_seconds += time.perf_counter() - start
        return out


def bench_cfg(args) -> AmpAgentCfg:
    cfg = AmpAgentCfg()
    cfg.agent.experiment.write_interval, cfg.agent.experiment.checkpoint_interval = 0, 0
    cfg.motion_dataset.memory_size = 50_000
    cfg.reply_buffer.memory_size = 200_000
    return cfg


def ppo_agent(env, cfg: AmpAgentCfg):
    kwargs = skrl_amp_kwargs(cfg.agent)
    experiment = kwargs.pop("experiment")
    ppo_kwargs = {k: v for k, v in kwargs.items() if k in PPO_SHARED_KEYS}
    ppo_kwargs["learning_rate"] = kwargs["learning_rate"]
    ppo_kwargs["observation_preprocessor_kwargs"] = {"size": env.observation_space, "device": env.device}
    ppo_kwargs["value_preprocessor_kwargs"] = {"size": 1, "device": env.device}
    models = build_models(
        cfg.models,
        observation_space=env.observation_space,
        action_space=env.action_space,
        amp_observation_space=env.amp_observation_space,
        state_space=env.state_space,
        device=env.device,
    )
    models.pop("discriminator")
    memory = RandomMemory(memory_size=ppo_kwargs["rollouts"], num_envs=env.num_envs, device=env.device)
    agent = PPO(
        models=models,
        memory=memory,
        observation_space=env.observation_space,
        state_space=env.state_space,
        action_space=env.action_space,
        device=env.device,
        cfg=PPO_CFG(**ppo_kwargs, experiment=experiment),
    )
    return agent


def skrl_amp_agent(env, cfg: AmpAgentCfg):
    """skrl's own AMP with the same models, memories and cfg (no diagnostics, schedules, guard, noise, mask)."""
    kwargs = skrl_amp_kwargs(cfg.agent)
    experiment = kwargs.pop("experiment")
    for key, size in (
        ("observation_preprocessor_kwargs", env.observation_space),
        ("state_preprocessor_kwargs", env.state_space),
        ("value_preprocessor_kwargs", 1),
        ("amp_observation_preprocessor_kwargs", env.amp_observation_space),
    ):
        kwargs[key] = {"size": size, "device": env.device}
    models = build_models(
        cfg.models,
        observation_space=env.observation_space,
        action_space=env.action_space,
        amp_observation_space=env.amp_observation_space,
        state_space=env.state_space,
        device=env.device,
    )
    rollouts = kwargs["rollouts"]
    return AMP(
        models=models,
        memory=RandomMemory(memory_size=rollouts, num_envs=env.num_envs, device=env.device),
        observation_space=env.observation_space,
        state_space=env.state_space,
        action_space=env.action_space,
        device=env.device,
        cfg=AMP_CFG(**kwargs, experiment=experiment),
        amp_observation_space=env.amp_observation_space,
        motion_dataset=RandomMemory(memory_size=cfg.motion_dataset.memory_size, device=env.device),
        reply_buffer=RandomMemory(memory_size=cfg.reply_buffer.memory_size, device=env.device),
        collect_reference_motions=env.unwrapped.collect_reference_motions,
    )


def time_run(kind: str, env, cfg: AmpAgentCfg, timesteps: int, warmup: int) -> dict:
    if kind in ("ppo", "skrl_amp"):
        agent = ppo_agent(env, cfg) if kind == "ppo" else skrl_amp_agent(env, cfg)
        trainer = ResumableSequentialTrainer(
            env=env,
            agents=agent,
            cfg=SequentialTrainerCfg(timesteps=warmup, close_environment_at_exit=False, disable_progressbar=True),
        )
    else:
        runner = build_amp_runner(env, cfg, timesteps=warmup)
        trainer = runner.trainer
        trainer.cfg.disable_progressbar = True
    trainer.train()  # warm-up: first updates, allocator, caches
    trainer.start_timestep, trainer.cfg.timesteps = warmup, warmup + timesteps
    timed = env._env  # the TimedEnv under the skrl wrapper
    timed.step_seconds = 0.0
    if env.device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    trainer.train()
    if env.device.type == "cuda":
        torch.cuda.synchronize()
    wall = time.perf_counter() - start
    return {"wall": wall, "env": timed.step_seconds, "steps_per_s": timesteps * env.num_envs / wall}


def make_env(args, sim_cost_ms: float):
    if args.task:
        from wildrobot_amp_ext.isaaclab.launch import make_env as make_task_env

        overrides = list(args.env_override)
        if args.dataset:
            overrides.append(f"env.amp.dataset={Path(args.dataset).resolve()}")
        return make_task_env(args.task, num_envs=args.num_envs, device=args.device, overrides=overrides)
    from wildrobot_amp_ext.agents.toy_env import ToyAmpEnv

    return ToyAmpEnv(num_envs=args.num_envs, device=args.device, sim_cost_ms=sim_cost_ms)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default=None, help="real task id (default: the toy env)")
    p.add_argument("--dataset", default=None, help="real task: reference .npz (env.amp.dataset)")
    p.add_argument(
        "--env-override",
        nargs="*",
        default=[],
        help="real task: Isaac Lab Hydra overrides, e.g. env.events.reference_state_init.params.fraction=0.0",
    )
    p.add_argument("--num-envs", type=int, default=64)
    p.add_argument("--device", default="cpu")
    p.add_argument("--timesteps", type=int, default=256, help="timed timesteps per run (multiple of rollouts)")
    p.add_argument("--warmup", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument(
        "--sim-cost-ms",
        type=float,
        nargs="+",
        default=[0.0, 20.0, 100.0],
        help="toy env only: wait per vectorised step",
    )
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = bench_cfg(args)
    costs = [None] if args.task else args.sim_cost_ms
    print(
        f"device {args.device}, {args.num_envs} envs, {args.timesteps} timed timesteps, best of {args.repeats}, "
        f"torch threads {torch.get_num_threads()}"
    )
    print(
        f"networks: policy/value {cfg.models.policy.layers}, discriminator {cfg.models.discriminator.layers}; "
        f"rollouts {cfg.agent.rollouts}, epochs {cfg.agent.learning_epochs}, minibatches {cfg.agent.mini_batches}"
    )
    print(
        "st/s: env-steps/s (best wall of the repeats). "
        "Machine noise hits env time too, so the overhead is also given from"
    )
    print(
        "learner time alone: ovh = (learner_AMP - learner_PPO) / (env_PPO + learner_PPO), "
        "learner = wall - time inside env.step"
    )
    print(
        f"{'env':>22} {'PPO st/s':>9} {'skrl-AMP st/s':>14} {'ours st/s':>10} {'skrl-AMP ovh':>13} {'ours ovh':>9}"
        f" {'ours - skrl':>12} {'learner s P/S/O':>17} {'env s':>6}"
    )
    kinds = ("ppo", "skrl_amp", "amp")
    for cost in costs:
        env = wrap(TimedEnv(make_env(args, cost or 0.0)))
        runs = {k: [] for k in kinds}
        for _ in range(args.repeats):
            for kind in kinds:
                runs[kind].append(time_run(kind, env, copy.deepcopy(cfg), args.timesteps, args.warmup))
        best_wall = {k: min(runs[k], key=lambda r: r["wall"]) for k in kinds}
        learner = {k: min(r["wall"] - r["env"] for r in runs[k]) for k in kinds}
        env_s = min(r["env"] for k in kinds for r in runs[k])
        base = env_s + learner["ppo"]
        ovh = {k: (learner[k] - learner["ppo"]) / base for k in kinds}
        label = args.task or f"toy +{cost:g} ms/step"
        print(
            f"{label:>22} {best_wall['ppo']['steps_per_s']:9.0f} {best_wall['skrl_amp']['steps_per_s']:14.0f}"
            f" {best_wall['amp']['steps_per_s']:10.0f}"
            f" {100 * ovh['skrl_amp']:12.1f}% {100 * ovh['amp']:8.1f}% {100 * (ovh['amp'] - ovh['skrl_amp']):11.1f}%"
            f" {learner['ppo']:5.2f}/{learner['skrl_amp']:5.2f}/{learner['amp']:5.2f} {env_s:6.2f}"
        )
        env.close()


if __name__ == "__main__":
    main()
