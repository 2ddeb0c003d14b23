"""The one place that loads an agent checkpoint into networks (export, play, evaluation and sim2sim all use it).

:func:`policy_from_checkpoint` rebuilds skrl's Gaussian policy and its observation normaliser from a checkpoint read
by :func:`wildrobot_amp_ext.deploy.checkpoint.read_checkpoint`, without an env (the architecture comes from the run's
``params/agent.yaml``). :func:`load_agent` adds the discriminator for play / evaluation.

What play / evaluation need from an AMP checkpoint is small: the policy's mean action on normalised observations,
and the discriminator's logit on normalised, feature-masked AMP observations (as
:meth:`wildrobot_amp_ext.agents.amp.WildRobotAMP._discriminate` computes it, at the checkpoint's feature stage).
Building the full runner would allocate the replay buffers and need the reference dataset; this does not.

:func:`check_compatible` refuses a checkpoint trained for another robot or with other observation / action / AMP
widths, with one line naming both sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium
import numpy as np
import torch
from skrl.resources.preprocessors.torch import RunningStandardScaler

from wildrobot_amp_ext.agents.config import extras_from_dict
from wildrobot_amp_ext.agents.models import DeterministicMLP, GaussianPolicy, activation_list
from wildrobot_amp_ext.agents.reference import normalise_layout
from wildrobot_amp_ext.agents.runner import env_feature_layout
from wildrobot_amp_ext.agents.schedules import FeatureStageSchedule
from wildrobot_amp_ext.deploy.checkpoint import CheckpointInfo, linear_layers, read_checkpoint
from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.utils.typed_cfg import coerce_number


def scaler_kwargs(preprocessor_kwargs: dict | None) -> dict:
    """The RunningStandardScaler options a run set (its size and device come from the checkpoint)."""
    kwargs = preprocessor_kwargs or {}
    return {k: coerce_number(v) for k, v in kwargs.items() if k in ("epsilon", "clip_threshold")}


def policy_from_checkpoint(info: CheckpointInfo, activation: str = "elu"):
    """Rebuild (policy, observation preprocessor) from a checkpoint without an env.

    The architecture comes from the run's ``params/agent.yaml`` (``models.policy``); without it, the widths are read
    from the weights and ``activation`` is assumed."""
    obs_space = gymnasium.spaces.Box(-np.inf, np.inf, (info.obs_dim,), np.float32)
    act_space = gymnasium.spaces.Box(-np.inf, np.inf, (info.action_dim,), np.float32)
    kwargs: dict[str, Any] = {}
    if info.agent_cfg is not None:
        spec = info.agent_cfg.models.policy
        layers, acts, source = list(spec.layers), activation_list(spec), spec.input
        for key in ("clip_actions", "clip_log_std", "min_log_std", "max_log_std", "initial_log_std"):
            kwargs[key] = getattr(spec, key)
    else:
        layers, acts, source = info.layers, [activation] * len(info.layers), "OBSERVATIONS"
    if layers != info.layers:
        raise InputError(
            info.path,
            "models.policy.layers",
            f"params/agent.yaml says layers {layers}, the weights have {info.layers}",
            "pass the checkpoint of this run",
        )
    policy = GaussianPolicy(
        observation_space=obs_space,
        action_space=act_space,
        device="cpu",
        layers=layers,
        activations=acts,
        input=source,
        **kwargs,
    )
    policy.load_state_dict(info.modules["policy"])
    policy.eval()
    preprocessor = None
    state = info.modules.get("observation_preprocessor")
    if isinstance(state, dict) and "running_mean" in state:
        options = scaler_kwargs(info.agent_cfg.agent.observation_preprocessor_kwargs if info.agent_cfg else None)
        preprocessor = RunningStandardScaler(size=info.obs_dim, device="cpu", **options)
        preprocessor.load_state_dict(state)
        preprocessor.eval()
    return policy, preprocessor


@dataclass
class LoadedAgent:
    info: CheckpointInfo
    policy: Any  # skrl GaussianMixin model
    obs_preprocessor: Any | None  # RunningStandardScaler or None
    discriminator: Any | None = None  # skrl DeterministicMixin model
    amp_preprocessor: Any | None = None
    feature_mask: torch.Tensor | None = None
    device: str = "cpu"

    @torch.no_grad()
    def act(self, obs: torch.Tensor) -> torch.Tensor:
        """Deterministic (mean) actions for raw policy observations."""
        x = self.obs_preprocessor(obs) if self.obs_preprocessor is not None else obs
        _, outputs = self.policy.act({"observations": x}, role="policy")
        return outputs["mean_actions"]

    @torch.no_grad()
    def disc_logit(self, amp_obs: torch.Tensor) -> torch.Tensor | None:
        """(N,) discriminator logits of raw AMP observations (None without a discriminator)."""
        if self.discriminator is None:
            return None
        z = self.amp_preprocessor(amp_obs) if self.amp_preprocessor is not None else amp_obs
        if self.feature_mask is not None:
            z = z * self.feature_mask
        logits, _ = self.discriminator.act({"observations": z}, role="discriminator")
        return logits.reshape(-1)


def load_agent(checkpoint, device: str = "cpu", amp_layout: dict | None = None, activation: str = "elu") -> LoadedAgent:
    """Policy (+ discriminator when the run's params/agent.yaml describes it) from an agent checkpoint.

    ``amp_layout`` (term -> AMP observation columns, e.g. ``agents.runner.env_feature_layout(env)``) lets the
    discriminator see the same feature mask as at the checkpoint's training stage; without it no mask is applied."""
    info = checkpoint if isinstance(checkpoint, CheckpointInfo) else read_checkpoint(checkpoint)
    policy, scaler = policy_from_checkpoint(info, activation)
    agent = LoadedAgent(info, policy.to(device), scaler.to(device) if scaler is not None else None, device=device)
    disc_state = info.modules.get("discriminator")
    if isinstance(disc_state, dict) and info.agent_cfg is not None:
        agent.discriminator, agent.amp_preprocessor, agent.feature_mask = _discriminator(info, amp_layout, device)
    return agent


def load_for_env(info: CheckpointInfo, env, *, task: str, robot: str, allow_other_task: bool = False) -> LoadedAgent:
    """The agent of ``info`` for a live env: refused unless its widths (policy observation, action, AMP observation)
    are the env's, loaded on the env's device with the discriminator masked as at the checkpoint's feature stage."""
    unwrapped = env.unwrapped
    check_compatible(
        info,
        task=task,
        robot=robot,
        obs_dim=int(unwrapped.observation_manager.group_obs_dim["policy"][0]),
        action_dim=int(unwrapped.action_manager.total_action_dim),
        amp_obs_dim=getattr(unwrapped, "amp_obs_dim", None),
        allow_other_task=allow_other_task,
    )
    return load_agent(info, device=str(unwrapped.device), amp_layout=env_feature_layout(unwrapped))


def _discriminator(info: CheckpointInfo, layout: dict | None, device: str):
    state = info.modules["discriminator"]
    amp_dim = int(linear_layers(state)[0][1].shape[1])
    spec = info.agent_cfg.models.discriminator
    layers, acts = list(spec.layers), activation_list(spec)
    space = gymnasium.spaces.Box(-np.inf, np.inf, (amp_dim,), np.float32)
    disc = DeterministicMLP(
        observation_space=space, device=device, layers=layers, activations=acts, role="discriminator"
    )
    disc.load_state_dict(state)
    disc.eval()
    pre = None
    pre_state = info.modules.get("amp_observation_preprocessor")
    if isinstance(pre_state, dict) and "running_mean" in pre_state:
        kwargs = scaler_kwargs(info.agent_cfg.agent.amp_observation_preprocessor_kwargs)
        pre = RunningStandardScaler(size=amp_dim, device=device, **kwargs)
        pre.load_state_dict(pre_state)
        pre.eval()
    mask = None
    extra = info.modules.get("wildrobot_amp") or {}
    if layout and extra.get("extras") and extra.get("feature_stages"):
        extras = extras_from_dict(extra["extras"], info.path)
        stages = FeatureStageSchedule(extras.feature_stages, normalise_layout(layout, amp_dim), amp_dim, device)
        stages.load_state_dict(extra["feature_stages"])
        mask = stages.mask
    return disc, pre, mask


def base_task(task: str | None) -> str | None:
    """``WildRobot-AMP-Flat-Play-v0`` -> ``WildRobot-AMP-Flat-v0`` (a Play variant plays its training task)."""
    return task.replace("-Play-v", "-v") if task else task


def check_compatible(
    info: CheckpointInfo,
    *,
    task: str,
    robot: str,
    obs_dim: int | None = None,
    action_dim: int | None = None,
    amp_obs_dim: int | None = None,
    allow_other_task: bool = False,
) -> list[str]:
    """Refuse (InputError) a checkpoint of another robot, another task (its ``-Play`` variant is the same task) or
    other widths; returns warnings (another task when ``allow_other_task``)."""
    where = str(info.path)
    if info.robot and info.robot != robot:
        raise InputError(
            where,
            "robot",
            f"checkpoint was trained for robot '{info.robot}' (task {info.task}), {task} uses '{robot}'",
            f"play it with a {info.robot} task",
        )
    checks = (
        ("obs_dim", info.obs_dim, obs_dim, "policy observation"),
        ("action_dim", info.action_dim, action_dim, "action"),
        ("amp_obs_dim", info.amp_obs_dim, amp_obs_dim, "AMP observation"),
    )
    for field, theirs, ours, what in checks:
        if theirs is not None and ours is not None and int(theirs) != int(ours):
            raise InputError(
                where,
                field,
                f"checkpoint {what} width {theirs} != {task}'s {ours} (trained on {info.task or 'another task'})",
                "play it with the task it was trained on",
            )
    warnings = []
    if info.task and base_task(info.task) != base_task(task):
        if not allow_other_task:
            raise InputError(
                where,
                "task",
                f"checkpoint was trained on {info.task}, not {task}",
                f"play it with --task {info.task} (or its -Play variant), or pass --allow_other_task",
            )
        warnings.append(f"checkpoint was trained on {info.task}, playing on {task}")
    return warnings
