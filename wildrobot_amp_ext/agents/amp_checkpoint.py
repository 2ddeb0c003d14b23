"""Checkpoint I/O of :class:`~wildrobot_amp_ext.agents.amp.WildRobotAMP`: complete, atomic, resumable files.

A checkpoint is skrl's dict of module state dicts plus one extra key, ``CHECKPOINT_KEY``, holding what a resumed run
needs beyond the networks: counters, schedules, NaN-guard figures, scaler / LR scheduler state, RNG state and
(optionally) the discriminator's reference and replay buffers. Plain skrl checkpoints (no extra key) still load.

:class:`AmpCheckpointMixin` overrides skrl's ``save`` / ``write_checkpoint`` / ``load``; it sits before skrl's
``AMP`` in the agent's bases and reads the agent's attributes (``style_ramp``, ``feature_stages``, ``guard_stats``,
...), so the algorithm module does not carry the file format.
"""

from __future__ import annotations

import logging
import random
import re
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from skrl import config

from wildrobot_amp_ext.agents.ranks import offset_rng_for_rank
from wildrobot_amp_ext.utils.atomic import atomic_path
from wildrobot_amp_ext.utils.checkpoint import load_checkpoint

log = logging.getLogger(__name__)

CHECKPOINT_KEY = "wildrobot_amp"
CHECKPOINT_FORMAT = 1


class AmpCheckpointMixin:
    """skrl's checkpoint methods, extended with the agent's own state (see the module docstring)."""

    def checkpoint_state(self, modules: dict | None = None) -> dict:
        """Everything a resumed run needs: skrl's modules plus our counters, schedules, RNG and (optionally) buffers."""
        state = (
            modules
            if modules is not None
            else {name: self._get_internal_value(m) for name, m in self.checkpoint_modules.items()}
        )
        extra = {
            "format": CHECKPOINT_FORMAT,
            "timestep": self.timestep,
            "rollout": self._rollout,
            "update_count": self.update_count,
            "style_ramp": self.style_ramp.state_dict(),
            "feature_stages": self.feature_stages.state_dict(),
            "guard_stats": dict(self.guard_stats),
            "last_diagnostics": dict(self.last_diagnostics),
            "extras": asdict(self.extras),
            "amp_obs_dim": self.amp_obs_dim,
            "scaler": self.scaler.state_dict(),
            "lr_scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "rng": _rng_state(self.device),
        }
        if self.extras.checkpoint.save_buffers:
            extra["buffers"] = {
                "motion_dataset": _memory_state(self.motion_dataset),
                "reply_buffer": _memory_state(self.reply_buffer),
            }
        return {**state, CHECKPOINT_KEY: extra}

    def save(self, path: str | Path) -> None:
        path = Path(path)
        with atomic_path(path) as tmp:
            torch.save(self.checkpoint_state(), tmp)

    def write_checkpoint(self, *, timestep: int, timesteps: int) -> None:
        directory = Path(self.experiment_dir) / "checkpoints"
        self.save(directory / f"agent_{timestep}.pt")
        keep = self.extras.checkpoint.keep_last
        if keep:
            found = sorted(
                (int(m.group(1)), p)
                for p in directory.glob("agent_*.pt")
                if (m := re.fullmatch(r"agent_(\d+)\.pt", p.name))
            )
            for _, old in found[:-keep]:
                old.unlink(missing_ok=True)
        best = self.checkpoint_best_modules
        if best["modules"] and not best["saved"]:
            state = self.checkpoint_state(modules=dict(best["modules"]))
            state[CHECKPOINT_KEY].update({"best_timestep": best["timestep"], "best_reward": float(best["reward"])})
            state[CHECKPOINT_KEY].pop("buffers", None)
            with atomic_path(directory / "best_agent.pt") as tmp:
                torch.save(state, tmp)
            best["saved"] = True

    def load(self, path: str | Path) -> dict:
        """Load a checkpoint (ours or a plain skrl one); returns our extra state ({} for plain skrl files)."""
        modules = load_checkpoint(path, map_location=self.device)
        if not isinstance(modules, dict):
            raise ValueError(f"{path}: not an agent checkpoint (expected a dict of modules)")
        extra = modules.get(CHECKPOINT_KEY) or {}
        for name, data in modules.items():
            if name == CHECKPOINT_KEY:
                continue
            module = self.checkpoint_modules.get(name)
            if module is None:
                log.warning("checkpoint module %r has no counterpart in this agent; skipped", name)
                continue
            module.load_state_dict(data)
            if hasattr(module, "eval"):
                module.eval()
        if extra:
            self._load_extra(extra)
        return extra

    def _load_extra(self, extra: dict) -> None:
        if extra.get("amp_obs_dim") not in (None, self.amp_obs_dim):
            raise ValueError(f"checkpoint AMP observation width {extra['amp_obs_dim']} != env's {self.amp_obs_dim}")
        rollouts = self.cfg.rollouts
        self.timestep = int(extra["timestep"])
        # a partial rollout is not in the file: restart it from the last update boundary
        self._rollout = (int(extra["rollout"]) // rollouts) * rollouts
        if self.memory is not None:
            self.memory.reset()
        self.update_count = int(extra["update_count"])
        self.style_ramp.load_state_dict(extra["style_ramp"])
        self.feature_stages.load_state_dict(extra["feature_stages"])
        self.guard_stats.update(extra.get("guard_stats", {}))
        self.last_diagnostics = dict(extra.get("last_diagnostics", {}))
        if extra.get("scaler"):
            self.scaler.load_state_dict(extra["scaler"])
        if extra.get("lr_scheduler") and self.scheduler:
            self.scheduler.load_state_dict(extra["lr_scheduler"])
        buffers = extra.get("buffers")
        if buffers:
            _load_memory_state(self.motion_dataset, buffers["motion_dataset"])
            _load_memory_state(self.reply_buffer, buffers["reply_buffer"])
        if self.extras.checkpoint.restore_rng and extra.get("rng"):
            _set_rng_state(extra["rng"], self.device)
            # the file holds rank 0's state (only rank 0 writes): other ranks must not replay its draws
            offset_rng_for_rank(config.torch.rank if config.torch.is_distributed else 0)
            self.rng_restored = True


def _rng_state(device: torch.device) -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict, device: torch.device) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"].cpu())
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)


def _memory_state(memory) -> dict:
    return {
        "tensors": {name: t.clone() for name, t in memory.tensors.items()},
        "memory_index": memory.memory_index,
        "env_index": memory.env_index,
        "filled": memory.filled,
    }


def _load_memory_state(memory, state: dict) -> None:
    for name, tensor in state["tensors"].items():
        memory.tensors[name].copy_(tensor)
    memory.memory_index = state["memory_index"]
    memory.env_index = state["env_index"]
    memory.filled = state["filled"]
