"""Build the AMP agent, its memories, models and trainer from an :class:`AmpAgentCfg` and a (wrapped) env.

Like skrl's ``Runner``, but with our agent class, our models and a resumable trainer::

    run = build_amp_runner(env, cfg)
    if checkpoint: run.load(checkpoint)      # continues at the saved timestep
    run.train()
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skrl.agents.torch.amp import AMP_CFG
from skrl.envs.wrappers.torch import Wrapper
from skrl.envs.wrappers.torch.isaaclab_envs import IsaacLabWrapper
from skrl.memories.torch import RandomMemory
from skrl.trainers.torch import SequentialTrainerCfg
from skrl.utils import set_seed

from wildrobot_amp_ext.agents.amp import WildRobotAMP
from wildrobot_amp_ext.agents.config import AmpAgentCfg, AmpExtrasCfg, MemoryCfg, skrl_amp_kwargs
from wildrobot_amp_ext.agents.models import build_models
from wildrobot_amp_ext.agents.reference import layout_from_slices
from wildrobot_amp_ext.agents.trainer import ResumableSequentialTrainer
from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.utils.typed_cfg import to_dict


@dataclass
class AmpRunner:
    env: Wrapper
    agent: WildRobotAMP
    trainer: ResumableSequentialTrainer
    cfg: AmpAgentCfg

    @property
    def extras(self) -> AmpExtrasCfg:
        return self.cfg.amp

    @property
    def experiment_dir(self) -> Path:
        return Path(self.agent.experiment_dir)

    def load(self, path: str | Path) -> dict:
        """Restore a checkpoint; training then resumes at its timestep. With the RNG state restored, the env's
        first reset must not reseed (skrl's wrapper would call ``env.reset(seed=...)``, and Isaac Lab's reseeding
        of torch, numpy and random would overwrite the state just restored)."""
        extra = self.agent.load(path)
        self.trainer.start_timestep = self.agent.timestep
        if self.agent.rng_restored:
            _set_first_reset_seed(self.env, None)
        return extra

    def train(self) -> None:
        self.trainer.train()


def wrap(env: Any) -> Wrapper:
    """skrl wrapper for an Isaac Lab env (or anything with the same surface, like the toy env)."""
    if isinstance(env, Wrapper):
        return env
    return IsaacLabWrapper(env)


def seed_and_wrap(env: Any, seed: int | None) -> tuple[Wrapper, int]:
    """Seed, then wrap: skrl's Isaac Lab wrapper keeps ``config.torch.key`` at construction and its first
    ``reset()`` calls ``env.reset(seed=key)``, on which Isaac Lab reseeds torch, numpy, random and warp. Wrapped
    before seeding, every run (and every rank) reset with the default key 0. skrl's ``set_seed`` adds the rank in
    multi-GPU runs, so rank r resets, samples and explores from ``seed + r``. Returns (wrapped env, seed used)."""
    used = set_seed(seed)
    env = wrap(env)
    _set_first_reset_seed(env, used)  # an env wrapped by the caller before this seed existed
    return env, used


def _set_first_reset_seed(env: Wrapper, seed: int | None) -> None:
    """The seed skrl's wrapper passes to the env's first reset (skrl 2.1.1 keeps it in ``_seed`` until then)."""
    if getattr(env, "_reset_once", False) and hasattr(env, "_seed"):
        env._seed = seed


def env_feature_layout(env: Any) -> dict | None:
    """Term -> AMP observation columns, from ``env.amp_feature_layout`` or the env's FeatureSpec and robot."""
    layout = getattr(env, "amp_feature_layout", None)
    if layout:
        return layout
    spec, robot = getattr(env, "amp_feature_spec", None), getattr(env, "robot", None)
    if spec is None or robot is None or not hasattr(spec, "layout"):
        return None
    return layout_from_slices(spec.layout(robot), spec.frame_dim(robot), spec.history)


def env_step_dt(env: Any) -> float:
    """Seconds per env step, the unit of Isaac Lab's per-step rewards (``ManagerBasedRLEnv.step_dt``)."""
    step_dt = getattr(env, "step_dt", None)
    if step_dt is None or not step_dt > 0:
        raise InputError(
            None, "env.step_dt", "the env does not say its step duration", "give the env a step_dt (seconds per step)"
        )
    return float(step_dt)


def build_amp_runner(
    env: Any,
    cfg: AmpAgentCfg,
    *,
    cfg_file: str | Path | None = None,
    experiment_directory: str | Path | None = None,
    experiment_name: str | None = None,
    timesteps: int | None = None,
) -> AmpRunner:
    """Agent, memories, models and trainer for ``env`` (which samples its own reference motions)."""
    cfg = copy.deepcopy(cfg).validate(cfg_file)
    if experiment_directory is not None:
        cfg.agent.experiment.directory = str(experiment_directory)
    if experiment_name is not None:
        cfg.agent.experiment.experiment_name = experiment_name
    if timesteps is not None:
        cfg.trainer.timesteps = int(timesteps)
    env, _ = seed_and_wrap(env, cfg.seed)
    amp_space = _amp_space(env)
    device = env.device
    models = build_models(
        cfg.models,
        observation_space=env.observation_space,
        state_space=env.state_space,
        action_space=env.action_space,
        amp_observation_space=amp_space,
        device=device,
        file=cfg_file,
    )
    agent_kwargs = skrl_amp_kwargs(cfg.agent)
    for key, size in (
        ("observation_preprocessor_kwargs", env.observation_space),
        ("state_preprocessor_kwargs", env.state_space),
        ("value_preprocessor_kwargs", 1),
        ("amp_observation_preprocessor_kwargs", amp_space),
    ):
        agent_kwargs[key] = {**agent_kwargs[key], "size": size, "device": device}
    rollouts = cfg.agent.rollouts
    memory = RandomMemory(memory_size=_size(cfg.memory, rollouts), num_envs=env.num_envs, device=device)
    agent = WildRobotAMP(
        models=models,
        memory=memory,
        observation_space=env.observation_space,
        state_space=env.state_space,
        action_space=env.action_space,
        device=device,
        cfg=AMP_CFG(**agent_kwargs),
        amp_observation_space=amp_space,
        motion_dataset=RandomMemory(memory_size=_size(cfg.motion_dataset, rollouts), device=device),
        reply_buffer=RandomMemory(memory_size=_size(cfg.reply_buffer, rollouts), device=device),
        collect_reference_motions=_reference_source(env),
        extras=cfg.amp,
        feature_layout=env_feature_layout(env.unwrapped),
        reward_dt=env_step_dt(env.unwrapped),
    )
    trainer_cfg = SequentialTrainerCfg(**to_dict(cfg.trainer), headless=True, close_environment_at_exit=False)
    trainer = ResumableSequentialTrainer(env=env, agents=agent, cfg=trainer_cfg)
    return AmpRunner(env=env, agent=agent, trainer=trainer, cfg=cfg)


def _size(memory: MemoryCfg, rollouts: int) -> int:
    return rollouts if memory.memory_size < 0 else memory.memory_size


def _amp_space(env: Any):
    try:
        return env.amp_observation_space
    except AttributeError:
        raise InputError(
            None,
            "env.amp_observation_space",
            "the env has no AMP observation space",
            "use an AMP task (e.g. WildRobot-AMP-Flat-v0)",
        ) from None


def _reference_source(env: Any):
    """The env samples the reference motions (``env.amp.dataset`` with its sampler settings, or its demo gait)."""
    collect = getattr(env.unwrapped, "collect_reference_motions", None)
    if collect is None:
        raise InputError(
            None, "env.collect_reference_motions", "the env samples no reference motions", "use an AMP task"
        )
    return collect
