"""Build the AMP agent, its memories, models and trainer from a runner-style cfg and a (wrapped) env.

Like skrl's ``Runner``, but with our agent class, our models, the reference sampler and a resumable trainer::

    run = build_amp_runner(env, cfg, dataset="data/ref.npz")
    if checkpoint: run.load(checkpoint)      # continues at the saved timestep
    run.train()
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skrl.agents.torch import ExperimentCfg
from skrl.agents.torch.amp import AMP_CFG
from skrl.envs.wrappers.torch import Wrapper
from skrl.envs.wrappers.torch.isaaclab_envs import IsaacLabWrapper
from skrl.memories.torch import RandomMemory
from skrl.trainers.torch import SequentialTrainerCfg
from skrl.utils import set_seed

from wildrobot_amp_ext.agents.amp import WildRobotAMP
from wildrobot_amp_ext.agents.config import (
    AmpExtrasCfg,
    check_cfg_sections,
    memory_kwargs,
    split_agent_section,
    trainer_kwargs,
)
from wildrobot_amp_ext.agents.models import build_models, space_dim
from wildrobot_amp_ext.agents.reference import ReferenceMotionSampler, layout_from_slices
from wildrobot_amp_ext.agents.trainer import ResumableSequentialTrainer
from wildrobot_amp_ext.errors import InputError


@dataclass
class AmpRunner:
    env: Wrapper
    agent: WildRobotAMP
    trainer: ResumableSequentialTrainer
    sampler: ReferenceMotionSampler | None
    cfg: dict
    extras: AmpExtrasCfg

    @property
    def experiment_dir(self) -> Path:
        return Path(self.agent.experiment_dir)

    def load(self, path: str | Path) -> dict:
        """Restore a checkpoint; training then resumes at its timestep."""
        extra = self.agent.load(path)
        self.trainer.start_timestep = self.agent.timestep
        return extra

    def train(self) -> None:
        self.trainer.train()


def wrap(env: Any) -> Wrapper:
    """skrl wrapper for an Isaac Lab env (or anything with the same surface, like the toy env)."""
    if isinstance(env, Wrapper):
        return env
    return IsaacLabWrapper(env)


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
    cfg: dict,
    *,
    cfg_file: str | Path | None = None,
    dataset: str | Path | None = None,
    experiment_directory: str | Path | None = None,
    experiment_name: str | None = None,
    timesteps: int | None = None,
) -> AmpRunner:
    cfg = copy.deepcopy(cfg)
    check_cfg_sections(cfg, cfg_file)
    env = wrap(env)
    set_seed(cfg.get("seed"))

    agent_kwargs, experiment, extras = split_agent_section(cfg["agent"], cfg_file)
    if dataset is not None:
        extras.reference.dataset = str(dataset)
    if experiment_directory is not None:
        experiment["directory"] = str(experiment_directory)
    if experiment_name is not None:
        experiment["experiment_name"] = experiment_name
    experiment_cfg = _experiment_cfg(experiment, cfg_file)
    amp_space = _amp_space(env)
    device = env.device
    sampler, collect = _reference_source(env, extras.reference, space_dim(amp_space), device)
    layout = env_feature_layout(env.unwrapped) or (sampler.layout if sampler else None)

    models = build_models(
        cfg["models"],
        observation_space=env.observation_space,
        state_space=env.state_space,
        action_space=env.action_space,
        amp_observation_space=amp_space,
        device=device,
        file=cfg_file,
    )
    rollouts = int(agent_kwargs.get("rollouts", AMP_CFG.rollouts))
    memory, motion_dataset, reply_buffer = _memories(cfg, env.num_envs, rollouts, device, cfg_file)
    for key, size in (
        ("observation_preprocessor_kwargs", env.observation_space),
        ("state_preprocessor_kwargs", env.state_space),
        ("value_preprocessor_kwargs", 1),
        ("amp_observation_preprocessor_kwargs", amp_space),
    ):
        agent_kwargs[key] = {**(agent_kwargs.get(key) or {}), "size": size, "device": device}
    try:
        agent_cfg = AMP_CFG(**agent_kwargs, experiment=experiment_cfg)
    except TypeError as err:
        raise InputError(cfg_file, "agent", str(err), None) from None

    agent = WildRobotAMP(
        models=models,
        memory=memory,
        observation_space=env.observation_space,
        state_space=env.state_space,
        action_space=env.action_space,
        device=device,
        cfg=agent_cfg,
        amp_observation_space=amp_space,
        motion_dataset=motion_dataset,
        reply_buffer=reply_buffer,
        collect_reference_motions=collect,
        extras=extras,
        feature_layout=layout,
        reference_sampler=sampler,
        reward_dt=env_step_dt(env.unwrapped),
    )
    tkw = trainer_kwargs(cfg, cfg_file)
    if timesteps is not None:
        tkw["timesteps"] = int(timesteps)
    trainer = ResumableSequentialTrainer(env=env, agents=agent, cfg=SequentialTrainerCfg(**tkw))
    cfg["trainer"]["timesteps"] = tkw.get("timesteps", SequentialTrainerCfg.timesteps)
    return AmpRunner(env=env, agent=agent, trainer=trainer, sampler=sampler, cfg=cfg, extras=extras)


def _experiment_cfg(experiment: dict, cfg_file: str | Path | None) -> ExperimentCfg:
    try:
        return ExperimentCfg(**experiment)
    except TypeError as err:
        raise InputError(
            cfg_file,
            "agent.experiment",
            str(err),
            f"valid keys: {', '.join(f.name for f in dataclasses.fields(ExperimentCfg))}",
        ) from None


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


def _reference_source(env: Any, ref_cfg, amp_dim: int, device) -> tuple[ReferenceMotionSampler | None, Any]:
    """(sampler, collect): the agent-level dataset if one is set, else the env's own sampler (the package's tasks
    sample env.amp.dataset with env.amp.sampler_temperature / min_motion_ids)."""
    if not ref_cfg.dataset:
        if hasattr(env.unwrapped, "collect_reference_motions"):
            return None, env.unwrapped.collect_reference_motions
        raise InputError(
            None,
            "agent.amp_extras.reference.dataset",
            "no reference data: no dataset and the env has no collect_reference_motions",
            "pass --dataset <file.npz>",
        )
    sampler = ReferenceMotionSampler.from_npz(
        ref_cfg.dataset,
        obs_dim=amp_dim,
        temperature=ref_cfg.temperature,
        min_motion_ids=ref_cfg.min_motion_ids,
        history=ref_cfg.history,
        require_full_history=ref_cfg.require_full_history,
        device=device,
        frame_rate=1.0 / env_step_dt(env.unwrapped),
    )
    env_version = getattr(env.unwrapped, "amp_feature_version", None)
    if env_version and sampler.table.feature_version and env_version != sampler.table.feature_version:
        raise InputError(
            ref_cfg.dataset,
            "feature_version",
            f"dataset {sampler.table.feature_version!r} != env {env_version!r}",
            "rebuild the dataset with the task's FeatureSpec",
        )
    return sampler, sampler.sample


def _memories(cfg: dict, num_envs: int, rollouts: int, device, cfg_file) -> tuple[RandomMemory, ...]:
    """Rollout memory, reference motion dataset and the replay buffer of past policy AMP observations."""
    memory = RandomMemory(
        num_envs=num_envs,
        device=device,
        **memory_kwargs(cfg, "memory", rollouts=rollouts, default_size=-1, file=cfg_file),
    )
    motion_dataset = RandomMemory(
        device=device, **memory_kwargs(cfg, "motion_dataset", rollouts=rollouts, default_size=200000, file=cfg_file)
    )
    reply_buffer = RandomMemory(
        device=device, **memory_kwargs(cfg, "reply_buffer", rollouts=rollouts, default_size=1000000, file=cfg_file)
    )
    return memory, motion_dataset, reply_buffer
