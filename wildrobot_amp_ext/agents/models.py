"""Policy (Gaussian), value and discriminator MLPs for skrl 2.x, built from the agent config's ``models``.

The networks are explicit modules: one ``nn.Sequential`` per model whose **last module is an ``nn.Linear``**
(skrl's AMP reads the discriminator's last module weight for its logit regulariser), and no lazy layers, so
parameter counts and ONNX export are known before the first step.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import gymnasium
import torch
import torch.nn as nn
from skrl.models.torch import DeterministicMixin, GaussianMixin, Model
from skrl.utils.spaces.torch import compute_space_size

from wildrobot_amp_ext.errors import InputError

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
    "softplus": nn.Softplus,
    "sigmoid": nn.Sigmoid,
}
INPUTS = {"OBSERVATIONS": "observations", "STATES": "states"}


def mlp(in_dim: int, layers: list[int], activations: list[str], out_dim: int) -> nn.Sequential:
    """Linear/activation stack ending in a bare ``nn.Linear`` (no output activation)."""
    modules: list[nn.Module] = []
    prev = in_dim
    for width, act in zip(layers, activations):
        modules += [nn.Linear(prev, width), ACTIVATIONS[act]()]
        prev = width
    modules.append(nn.Linear(prev, out_dim))
    return nn.Sequential(*modules)


class GaussianPolicy(GaussianMixin, Model):
    def __init__(
        self,
        *,
        observation_space: gymnasium.Space,
        action_space: gymnasium.Space,
        state_space: gymnasium.Space | None = None,
        device: str | torch.device | None = None,
        layers: list[int],
        activations: list[str],
        input: str = "OBSERVATIONS",
        initial_log_std: float = 0.0,
        fixed_log_std: bool = False,
        clip_actions: bool = False,
        clip_log_std: bool = True,
        min_log_std: float = -20.0,
        max_log_std: float = 2.0,
        reduction: str = "sum",
    ) -> None:
        Model.__init__(
            self, observation_space=observation_space, state_space=state_space, action_space=action_space, device=device
        )
        GaussianMixin.__init__(
            self,
            clip_actions=clip_actions,
            clip_log_std=clip_log_std,
            min_log_std=min_log_std,
            max_log_std=max_log_std,
            reduction=reduction,
            role="policy",
        )
        self.input_key = INPUTS[input]
        in_dim = self.num_observations if self.input_key == "observations" else self.num_states
        self.net = mlp(in_dim, layers, activations, self.num_actions)
        self.log_std_parameter = nn.Parameter(
            torch.full((self.num_actions,), float(initial_log_std)), requires_grad=not fixed_log_std
        )
        self.to(self.device)

    def compute(self, inputs: dict[str, Any], role: str = "") -> tuple[torch.Tensor, dict[str, Any]]:
        return self.net(inputs[self.input_key]), {"log_std": self.log_std_parameter}


class DeterministicMLP(DeterministicMixin, Model):
    """Value function or discriminator: one scalar per input row."""

    def __init__(
        self,
        *,
        observation_space: gymnasium.Space,
        action_space: gymnasium.Space | None = None,
        state_space: gymnasium.Space | None = None,
        device: str | torch.device | None = None,
        layers: list[int],
        activations: list[str],
        input: str = "OBSERVATIONS",
        clip_actions: bool = False,
        role: str = "value",
    ) -> None:
        Model.__init__(
            self, observation_space=observation_space, state_space=state_space, action_space=action_space, device=device
        )
        DeterministicMixin.__init__(self, clip_actions=clip_actions, role=role)
        self.input_key = INPUTS[input]
        in_dim = self.num_observations if self.input_key == "observations" else self.num_states
        self.net = mlp(in_dim, layers, activations, 1)
        self.to(self.device)

    def compute(self, inputs: dict[str, Any], role: str = "") -> tuple[torch.Tensor, dict[str, Any]]:
        return self.net(inputs[self.input_key]), {}


# ------------------------------------------------------------------------------------------------------------------
# config -> models
# ------------------------------------------------------------------------------------------------------------------
def activation_list(mlp_cfg: Any) -> list[str]:
    """One activation name per hidden layer (the config may give one name for all)."""
    acts = mlp_cfg.activations
    return [acts] * len(mlp_cfg.layers) if isinstance(acts, str) else list(acts)


def build_models(
    models_cfg: Any,
    *,
    observation_space: gymnasium.Space,
    action_space: gymnasium.Space,
    amp_observation_space: gymnasium.Space,
    state_space: gymnasium.Space | None = None,
    device: str | torch.device | None = None,
    file: str | Path | None = None,
) -> dict[str, Model]:
    """policy / value / discriminator from a :class:`~wildrobot_amp_ext.agents.config.ModelsCfg` (the
    discriminator reads the AMP observation space)."""
    models: dict[str, Model] = {}
    for role in ("policy", "value", "discriminator"):
        spec = dataclasses.asdict(getattr(models_cfg, role))
        spec["activations"] = activation_list(getattr(models_cfg, role))
        if spec["input"] == "STATES" and state_space is None:
            raise InputError(
                file,
                f"models.{role}.input",
                "STATES requested but the env has no 'critic' observation group",
                "OBSERVATIONS",
            )
        common = dict(state_space=state_space, device=device, action_space=action_space)
        if role == "policy":
            models[role] = GaussianPolicy(observation_space=observation_space, **common, **spec)
        elif role == "value":
            models[role] = DeterministicMLP(observation_space=observation_space, role=role, **common, **spec)
        else:
            models[role] = DeterministicMLP(observation_space=amp_observation_space, role=role, **common, **spec)
    last = list(models["discriminator"].modules())[-1]
    assert isinstance(last, nn.Linear), "skrl's AMP logit regulariser reads the discriminator's last module weight"
    return models


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def space_dim(space: gymnasium.Space) -> int:
    return int(compute_space_size(space, occupied_size=True))
