"""Training schedules: the style-weight ramp and the discriminator feature reintroduction stages.

Both are advanced by the agent once per update with the timestep and the latest diagnostics, and both carry their
state through checkpoints (``state_dict`` / ``load_state_dict``) so a resumed run continues where it stopped.
"""

from __future__ import annotations

import logging
from dataclasses import asdict

import numpy as np
import torch

from wildrobot_amp_ext.agents.config import FeatureStageCfg, FeatureStagesCfg, StyleRampCfg

log = logging.getLogger(__name__)


class StyleWeightRamp:
    """Fraction of the final style-reward weight.

    ``initial_fraction`` until ``ramp_start``; then linear to 1 over ``ramp_end - ramp_start`` timesteps of *ramp
    progress*, which only accumulates while the gate is open: the discriminator is informative on held-out samples
    (AUC in [auc_min, auc_max]) and its reward is not flat (at most ``max_logit_saturation`` of the logits beyond
    the saturation threshold). With the gate always open the fraction at timestep t is
    ``initial + (1 - initial) * clip((t - ramp_start) / (ramp_end - ramp_start), 0, 1)``.
    """

    def __init__(self, cfg: StyleRampCfg):
        self.cfg = cfg
        self.progress = 0.0  # ramp timesteps accumulated while the gate was open
        self.last_timestep = 0  # a fresh run starts at timestep 0; checkpoints restore it
        self.gate_open = False
        self.held_timesteps = 0.0  # timesteps past ramp_start during which the gate held the ramp
        self.held_updates = 0  # consecutive updates past ramp_start (before full weight) the gate held the ramp
        self.hold_reason = ""

    @property
    def fraction(self) -> float:
        if not self.cfg.enabled:
            return 1.0
        span = self.cfg.ramp_end - self.cfg.ramp_start
        done = min(max(self.progress / span, 0.0), 1.0)
        return self.cfg.initial_fraction + (1.0 - self.cfg.initial_fraction) * done

    def closed_because(self, auc: float | None, logit_saturation: float | None = None) -> str:
        """Why the gate is closed ('' when open), with the remedy."""
        cfg = self.cfg
        if auc is None or not np.isfinite(auc):
            return "no held-out discriminator AUC yet (agent.amp.diagnostics.interval)"
        if auc < cfg.auc_min:
            return (
                f"held-out AUC {auc:.2f} < auc_min {cfg.auc_min}: the discriminator does not tell policy from "
                "reference; raise its learning rate / update steps or lower the gradient penalty"
            )
        if auc > cfg.auc_max:
            return (
                f"held-out AUC {auc:.2f} > auc_max {cfg.auc_max}: raise agent.amp.style_ramp.auc_max, or "
                "weaken the discriminator (more input noise, larger gradient penalty, drop shortcut features)"
            )
        if (
            cfg.max_logit_saturation is not None
            and logit_saturation is not None
            and logit_saturation > cfg.max_logit_saturation
        ):
            return (
                f"{logit_saturation:.0%} of the logits saturated (> max_logit_saturation {cfg.max_logit_saturation}): "
                "the style reward is flat; raise the gradient penalty or the discriminator input noise"
            )
        return ""

    def gate(self, auc: float | None, logit_saturation: float | None = None) -> bool:
        return not self.closed_because(auc, logit_saturation)

    def update(self, timestep: int, auc: float | None, logit_saturation: float | None = None) -> float:
        """Advance to ``timestep`` judging the elapsed interval by the latest diagnostics; returns the fraction."""
        previous, self.last_timestep = self.last_timestep, timestep
        # only the part of the interval past ramp_start counts
        elapsed = max(0, timestep - max(previous, self.cfg.ramp_start))
        self.hold_reason = self.closed_because(auc, logit_saturation)
        self.gate_open = not self.hold_reason
        if self.gate_open:
            self.progress += elapsed
            self.held_updates = 0
        else:
            self.held_timesteps += elapsed
            self.held_updates += int(elapsed > 0 and self.fraction < 1.0)
        warn = self.cfg.warn_after_updates
        if self.cfg.enabled and warn and self.held_updates and self.held_updates % warn == 0:
            log.warning(
                "style ramp held for %d updates at %.0f %% of style_reward_scale: %s",
                self.held_updates,
                100 * self.fraction,
                self.hold_reason,
            )
        return self.fraction

    def state_dict(self) -> dict:
        return {
            "progress": self.progress, "last_timestep": self.last_timestep, "gate_open": self.gate_open,
            "held_timesteps": self.held_timesteps, "held_updates": self.held_updates,
        }  # fmt: skip

    def load_state_dict(self, state: dict) -> None:
        self.progress = float(state["progress"])
        self.last_timestep = int(state["last_timestep"])
        self.gate_open = bool(state["gate_open"])
        self.held_timesteps = float(state.get("held_timesteps", 0.0))
        self.held_updates = int(state.get("held_updates", 0))


class FeatureStageSchedule:
    """Which AMP feature terms the discriminator sees, as a {0, 1} mask over the AMP observation.

    Stage 0 uses its explicit ``terms``; stage i+1 starts once the timestep reaches its ``min_step`` and all its
    triggers (episode length, fall rate, AUC band) held for ``hold_updates`` consecutive updates. Columns no term
    of the layout covers stay visible. Without a layout (or with ``enabled: false``) the mask is all ones.
    """

    def __init__(
        self,
        cfg: FeatureStagesCfg,
        layout: dict[str, np.ndarray] | None,
        obs_dim: int,
        device: str | torch.device = "cpu",
    ):
        self.cfg = cfg
        self.obs_dim = obs_dim
        self.device = torch.device(device)
        self.layout = {k: np.asarray(v, dtype=np.int64) for k, v in (layout or {}).items()}
        self.active = bool(cfg.enabled and self.layout)
        if cfg.enabled and not self.layout:
            log.warning(
                "feature stages disabled: no AMP feature layout (env.amp_feature_layout or dataset column_names)"
            )
        self.stage_terms: list[list[str]] = self._resolve_terms(cfg.stages) if self.active else [sorted(self.layout)]
        self.stage = 0
        self.hold_count = 0
        self.history: list[tuple[int, int]] = [(0, 0)]  # (timestep, stage) at every change
        self.mask = self._build_mask()

    def _resolve_terms(self, stages: list[FeatureStageCfg]) -> list[list[str]]:
        resolved: list[list[str]] = []
        current: list[str] = []
        for stage in stages:
            current = (
                list(stage.terms) if stage.terms is not None else current + [t for t in stage.add if t not in current]
            )
            current = [t for t in current if t not in stage.remove]
            resolved.append(current)
        named = {t for terms in resolved for t in terms}
        missing = sorted(named - set(self.layout))
        if missing:
            log.info("feature stages name terms the AMP observation lacks (ignored): %s", missing)
        return resolved

    @property
    def name(self) -> str:
        return self.cfg.stages[self.stage].name if self.active else "all"

    @property
    def enabled_terms(self) -> list[str]:
        return [t for t in self.stage_terms[self.stage] if t in self.layout] if self.active else sorted(self.layout)

    @property
    def term_layout(self) -> dict[str, torch.Tensor]:
        """Every layout term -> its column indices (a device tensor), for per-term diagnostics."""
        return {t: torch.as_tensor(c, device=self.device) for t, c in self.layout.items()}

    def _build_mask(self) -> torch.Tensor:
        mask = np.ones(self.obs_dim, dtype=np.float32)
        if self.active:
            enabled = set(self.stage_terms[self.stage])
            for term, cols in self.layout.items():
                if term not in enabled:
                    mask[cols] = 0.0
        return torch.as_tensor(mask, device=self.device)

    def _triggers_hold(self, stage: FeatureStageCfg, metrics: dict) -> bool:
        def value(key):
            v = metrics.get(key)
            return None if v is None or not np.isfinite(v) else float(v)

        checks = []
        if stage.min_episode_length is not None:
            v = value("episode_length_mean")
            checks.append(v is not None and v >= stage.min_episode_length)
        if stage.max_fall_rate is not None:
            v = value("fall_rate")
            checks.append(v is not None and v <= stage.max_fall_rate)
        if stage.auc_min is not None or stage.auc_max is not None:
            v = value("auc")
            lo = -np.inf if stage.auc_min is None else stage.auc_min
            hi = np.inf if stage.auc_max is None else stage.auc_max
            checks.append(v is not None and lo <= v <= hi)
        return all(checks)

    def update(self, timestep: int, metrics: dict) -> bool:
        """Advance at most one stage; returns True when the mask changed."""
        if not self.active or self.stage + 1 >= len(self.cfg.stages):
            return False
        nxt = self.cfg.stages[self.stage + 1]
        if timestep >= nxt.min_step and self._triggers_hold(nxt, metrics):
            self.hold_count += 1
        else:
            self.hold_count = 0
        if self.hold_count < max(1, nxt.hold_updates):
            return False
        self.stage += 1
        self.hold_count = 0
        self.history.append((int(timestep), self.stage))
        self.mask = self._build_mask()
        log.info("AMP feature stage -> %s (terms %s) at timestep %d", self.name, self.enabled_terms, timestep)
        return True

    def state_dict(self) -> dict:
        return {
            "stage": self.stage,
            "hold_count": self.hold_count,
            "history": list(self.history),
            "stages": [asdict(s) for s in self.cfg.stages],
        }

    def load_state_dict(self, state: dict) -> None:
        self.stage = min(int(state["stage"]), len(self.stage_terms) - 1)
        self.hold_count = int(state["hold_count"])
        self.history = [tuple(h) for h in state.get("history", [(0, self.stage)])]
        self.mask = self._build_mask()
