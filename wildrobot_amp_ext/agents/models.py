"""Policy (Gaussian), value and discriminator MLPs for skrl 2.x, built from the runner-style ``models`` section.

The YAML uses the keys of skrl's model instantiators (``class``, ``network: [{name, input, layers, activations}]``,
``output``, ``initial_log_std`` ...) so an Isaac Lab ``skrl_amp_cfg.yaml`` reads unchanged, but the networks are
explicit modules: one ``nn.Sequential`` per model whose **last module is an ``nn.Linear``** (skrl's AMP reads the
discriminator's last module weight for its logit regulariser), and no lazy layers, so parameter counts and ONNX
export are known before the first step.
"""

from __future__ import annotations

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
# YAML -> models
# ------------------------------------------------------------------------------------------------------------------
ROLE_CLASS = {"policy": "GaussianMixin", "value": "DeterministicMixin", "discriminator": "DeterministicMixin"}
ROLE_OUTPUT = {"policy": "ACTIONS", "value": "ONE", "discriminator": "ONE"}
GAUSSIAN_KEYS = {
    "clip_actions",
    "clip_log_std",
    "min_log_std",
    "max_log_std",
    "initial_log_std",
    "fixed_log_std",
    "reduction",
}
DETERMINISTIC_KEYS = {"clip_actions"}


def parse_network(role: str, spec: dict, file: str | Path | None) -> tuple[list[int], list[str], str]:
    """``network: [{name, input, layers, activations}]`` (one MLP) -> (layers, activations, input)."""
    where = f"models.{role}.network"
    network = spec.get("network")
    if not isinstance(network, list) or len(network) != 1 or not isinstance(network[0], dict):
        raise InputError(
            file,
            where,
            "must be a list with exactly one MLP entry",
            "network: [{name: net, input: OBSERVATIONS, layers: [512, 256], activations: elu}]",
        )
    net = network[0]
    unknown = sorted(set(net) - {"name", "input", "layers", "activations"})
    if unknown:
        raise InputError(
            file, f"{where}[0].{unknown[0]}", "unknown key", "valid keys: name, input, layers, activations"
        )
    layers = net.get("layers")
    if not isinstance(layers, list) or not layers or not all(isinstance(w, int) and w > 0 for w in layers):
        raise InputError(
            file, f"{where}[0].layers", f"must be a non-empty list of positive ints, got {layers!r}", "e.g. [512, 256]"
        )
    acts = net.get("activations", "elu")
    acts = [acts] * len(layers) if isinstance(acts, str) else list(acts)
    if len(acts) != len(layers) or any(a not in ACTIVATIONS for a in acts):
        raise InputError(
            file,
            f"{where}[0].activations",
            f"got {net.get('activations')!r}",
            f"one name or one per layer from {sorted(ACTIVATIONS)}",
        )
    source = str(net.get("input", "OBSERVATIONS"))
    if source not in INPUTS:
        raise InputError(file, f"{where}[0].input", f"unsupported input {source!r}", f"use one of {sorted(INPUTS)}")
    return list(layers), acts, source


def build_models(
    models_cfg: dict,
    *,
    observation_space: gymnasium.Space,
    action_space: gymnasium.Space,
    amp_observation_space: gymnasium.Space,
    state_space: gymnasium.Space | None = None,
    device: str | torch.device | None = None,
    file: str | Path | None = None,
) -> dict[str, Model]:
    """policy / value / discriminator from ``cfg["models"]`` (the discriminator reads the AMP observation space)."""
    models_cfg = dict(models_cfg)
    if not models_cfg.pop("separate", True):
        raise InputError(
            file, "models.separate", "shared policy/value models are not supported for AMP", "set separate: true"
        )
    missing = [r for r in ROLE_CLASS if r not in models_cfg]
    extra = [r for r in models_cfg if r not in ROLE_CLASS]
    if missing or extra:
        raise InputError(
            file, "models", f"needs exactly policy, value, discriminator (missing {missing}, unknown {extra})", None
        )
    models: dict[str, Model] = {}
    for role, expected in ROLE_CLASS.items():
        spec = dict(models_cfg[role])
        cls_name = str(spec.pop("class", expected))
        if cls_name != expected:
            raise InputError(file, f"models.{role}.class", f"is {cls_name!r}", f"use {expected}")
        output = str(spec.pop("output", ROLE_OUTPUT[role]))
        if output != ROLE_OUTPUT[role]:
            raise InputError(file, f"models.{role}.output", f"{output!r} is not supported", f"use {ROLE_OUTPUT[role]}")
        layers, acts, source = parse_network(role, spec, file)
        spec.pop("network")
        allowed = GAUSSIAN_KEYS if role == "policy" else DETERMINISTIC_KEYS
        unknown = sorted(set(spec) - allowed)
        if unknown:
            raise InputError(
                file,
                f"models.{role}.{unknown[0]}",
                "unknown key",
                f"valid keys: class, network, output, {', '.join(sorted(allowed))}",
            )
        if source == "STATES" and state_space is None:
            raise InputError(
                file,
                f"models.{role}.network[0].input",
                "STATES requested but the env has no 'critic' observation group",
                "use OBSERVATIONS",
            )
        if role == "discriminator" and source != "OBSERVATIONS":
            raise InputError(
                file,
                "models.discriminator.network[0].input",
                "the discriminator reads AMP observations",
                "use OBSERVATIONS",
            )
        common = dict(
            state_space=state_space,
            device=device,
            layers=layers,
            activations=acts,
            input=source,
            action_space=action_space,
        )
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
