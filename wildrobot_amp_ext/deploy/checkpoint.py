"""An agent checkpoint read offline (no env, no networks built): its weights and what its run folder says about it.

``read_checkpoint`` runs the one checkpoint check (``utils.checkpoint.validate_checkpoint``, which
``train_amp.py --checkpoint`` runs too), reads the policy's widths from its weights and the run's
``params/{args,env,agent}.yaml`` (task, robot, agent config). Building networks from it is
:mod:`wildrobot_amp_ext.deploy.policy`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wildrobot_amp_ext.agents.config import AmpAgentCfg
from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.utils.checkpoint import validate_checkpoint
from wildrobot_amp_ext.validation import check_link_loop

if TYPE_CHECKING:  # torch loads with the checkpoint (utils.checkpoint), not with the run-folder readers
    import torch


@dataclass
class CheckpointInfo:
    path: Path
    obs_dim: int
    action_dim: int
    amp_obs_dim: int | None
    layers: list[int]
    task: str | None  # from the run's params/args.yaml
    robot: str | None  # from the run's params/env.yaml (robot_name)
    agent_cfg: Any  # the run's params/agent.yaml (AmpAgentCfg), None without one
    env_cfg: dict | None
    modules: dict


def run_dir_of(checkpoint: Path) -> Path:
    """``<run>/checkpoints/agent_N.pt`` -> ``<run>``."""
    check_link_loop(checkpoint, "--checkpoint")  # resolve() would raise RuntimeError
    return checkpoint.resolve().parent.parent


def _read_yaml(path: Path) -> dict | None:
    import yaml

    if not path.is_file():
        return None
    try:
        # Isaac Lab's dump_yaml writes python tags for some values: read them as plain data
        loaded = yaml.load(path.read_text(), Loader=_LenientLoader)
    except yaml.YAMLError:
        return None
    return loaded if isinstance(loaded, dict) else None


def _lenient_loader():
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def unknown(loader, suffix, node):
        if isinstance(node, yaml.ScalarNode):
            return loader.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        return loader.construct_mapping(node)

    Loader.add_multi_constructor("tag:yaml.org,2002:python/", unknown)
    Loader.add_multi_constructor("!", unknown)
    return Loader


_LenientLoader = _lenient_loader()


def linear_layers(state: dict) -> list[tuple[str, torch.Tensor]]:
    """(name, weight) of the policy's 2-D weights in module order (nn.Sequential indices sort numerically)."""
    weights = [(k, v) for k, v in state.items() if k.endswith(".weight") and getattr(v, "ndim", 0) == 2]

    def order(item):
        parts = item[0].split(".")
        return [int(p) if p.isdigit() else p for p in parts]

    return sorted(weights, key=order)


def read_checkpoint(path: str | Path) -> CheckpointInfo:
    """Read an agent checkpoint and what its run folder says about it (task, robot, agent config)."""
    path = Path(path)
    modules = validate_checkpoint(path)  # the one checkpoint check (train_amp.py --checkpoint runs it too)
    linears = linear_layers(modules["policy"])
    if not linears:
        raise InputError(path, "policy", "the policy has no linear layers", "pass a skrl MLP policy checkpoint")
    obs_dim = int(linears[0][1].shape[1])
    action_dim = int(linears[-1][1].shape[0])
    extra = modules.get("wildrobot_amp") or {}
    run = run_dir_of(path)
    args = _read_yaml(run / "params" / "args.yaml") or {}
    env_cfg = _read_yaml(run / "params" / "env.yaml")
    return CheckpointInfo(
        path=path,
        obs_dim=obs_dim,
        action_dim=action_dim,
        amp_obs_dim=extra.get("amp_obs_dim"),
        layers=[int(w.shape[0]) for _, w in linears[:-1]],
        task=args.get("task"),
        robot=(env_cfg or {}).get("robot_name"),
        agent_cfg=_read_agent_cfg(run / "params" / "agent.yaml"),
        env_cfg=env_cfg,
        modules=modules,
    )


def _read_agent_cfg(path: Path):
    """The run's agent config (either layout, see agents.config.load_agent_yaml), None when the run has none."""
    data = _read_yaml(path)
    return None if data is None else AmpAgentCfg.from_dict(data, path)
