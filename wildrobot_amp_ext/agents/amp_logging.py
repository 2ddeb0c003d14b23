"""What :class:`~wildrobot_amp_ext.agents.amp.WildRobotAMP` writes about a run: TensorBoard scalars (through skrl's
``track_data``), the per-update diagnostics record (``diagnostics_history`` and ``diagnostics.jsonl``) and the
episode / reward tracking skrl does per step, done here with one device-to-host copy.

:class:`AmpLoggingMixin` sits before skrl's ``AMP`` in the agent's bases. The algorithm calls its hooks at fixed
points: ``_init_logging`` (constructor), ``_open_diagnostics_log`` (``init``), ``_track_episodes`` /
``_track_rewards_one_transfer`` (``record_transition``), ``_update_record`` and ``_log_record`` (end of ``update``),
``_flush_final_update`` (``post_interaction``). Tag names are the run's public interface (curves, tests, READMEs):
change them only together with their readers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wildrobot_amp_ext.agents.diagnostics import reward_stats

# diagnostics record key -> TensorBoard tag
RECORD_TAGS = {
    "acc_policy": "Discriminator / Accuracy (policy)",
    "acc_reference": "Discriminator / Accuracy (reference)",
    "accuracy": "Discriminator / Accuracy",
    "auc": "Discriminator / AUC (held out)",
    "auc_train": "Discriminator / AUC (in-sample, after training on the rollout)",
    "task_reward_per_step": "Reward / Task per step (scaled, what PPO sees)",
    "style_reward_per_step": "Reward / Style per step (scaled, what PPO sees)",
    "style_ramp_held_updates": "Style / Ramp held by the gate (consecutive updates)",
    "style_ramp_warning": "Style / WARNING ramp held (see log)",
    "style_ramp_gate_open": "Style / Gate open",
    "logit_policy_mean": "Discriminator / Logit mean (policy)",
    "logit_reference_mean": "Discriminator / Logit mean (reference)",
    "logit_saturation": "Discriminator / Logit saturation fraction",
    "logit_abs_max": "Discriminator / Logit |max|",
    "style_reward_mean": "Style / Reward mean",
    "style_reward_var": "Style / Reward variance",
    "style_weight_fraction": "Style / Weight fraction (ramp)",
    "style_weight": "Style / Weight",
    "feature_stage": "Features / Stage",
    "episode_length_mean": "Episode / Finished length mean",
    "fall_rate": "Episode / Fall rate",
    "guard_skipped_minibatches": "Guard / Skipped minibatches (total)",
    "guard_nonfinite_amp_obs_rows": "Guard / Non-finite AMP obs rows (total)",
}
# per-term attribution keys ("<prefix>/<term>") -> TensorBoard tag prefix
TERM_TAG_PREFIXES = {
    "grad_x_input/": "Features / grad x input share ",
    "ablation_auc_drop/": "Features / ablation AUC drop ",
}


class AmpLoggingMixin:
    """TensorBoard and diagnostics-record writing of the AMP agent (see the module docstring)."""

    def _init_logging(self) -> None:
        self.diagnostics_history: list[dict] = []
        self._episode_length: torch.Tensor | None = None
        # finished-episode length sum, finished count, terminated (fell) count since the last update
        self._episode_stats = torch.zeros(3, dtype=torch.float64, device=self.device)
        self._jsonl_path: Path | None = None

    def _open_diagnostics_log(self) -> None:
        """``diagnostics.jsonl`` in the run folder, on rank 0, when the run writes at all."""
        if self.extras.diagnostics.jsonl and self._is_rank0 and self.write_interval > 0:
            self._jsonl_path = Path(self.experiment_dir) / "diagnostics.jsonl"
            self._jsonl_path.parent.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------------------------------------------------
    # per step
    # ------------------------------------------------------------------------------------------------------------
    def _track_rewards_one_transfer(self, rewards: torch.Tensor, terminated: torch.Tensor, truncated: torch.Tensor):
        """skrl 2.1.1's per-step reward tracking (same tags, values, 100-episode deques), with one device-to-host
        copy: the instantaneous max / min / mean, every env's running return and length, and the done flags."""
        if self._cumulative_rewards is None:
            self._cumulative_rewards = torch.zeros_like(rewards, dtype=torch.float32)
            self._cumulative_timesteps = torch.zeros_like(rewards, dtype=torch.int32)
        self._cumulative_rewards.add_(rewards)
        self._cumulative_timesteps.add_(1)
        done = (terminated | truncated).reshape(self._cumulative_rewards.shape)
        n = done.numel()
        parts = [torch.stack([rewards.max(), rewards.min(), rewards.mean()]).float()]
        parts += [self._cumulative_rewards.reshape(-1), self._cumulative_timesteps.reshape(-1).float()]
        host = torch.cat([*parts, done.reshape(-1).float()]).cpu().numpy()
        self._cumulative_rewards.mul_(~done)
        self._cumulative_timesteps.mul_(~done)
        shape = tuple(self._cumulative_rewards.shape)
        rows = np.nonzero(host[3 + 2 * n :].reshape(shape) > 0.5)[0]  # skrl: (terminated + truncated).nonzero()[0]
        if rows.size:
            self._track_rewards.extend(host[3 : 3 + n].reshape(shape)[rows].tolist())
            self._track_timesteps.extend(host[3 + n : 3 + 2 * n].reshape(shape)[rows].astype(np.int64).tolist())
        track = self.tracking_data
        for tag, value in zip(("max", "min", "mean"), host[:3].tolist()):
            track[f"Reward / Instantaneous reward ({tag})"].append(value)
        if len(self._track_rewards):
            for name, values in (
                ("Reward / Total reward", self._track_rewards),
                ("Episode / Total timesteps", self._track_timesteps),
            ):
                values = np.array(values)
                track[f"{name} (max)"].append(np.max(values))
                track[f"{name} (min)"].append(np.min(values))
                track[f"{name} (mean)"].append(np.mean(values))

    def _track_episodes(self, terminated: torch.Tensor, truncated: torch.Tensor) -> None:
        terminated = terminated.reshape(-1)
        done = terminated | truncated.reshape(-1)
        if self._episode_length is None:
            self._episode_length = torch.zeros(done.numel(), dtype=torch.float64, device=self.device)
        self._episode_length += 1
        self._episode_stats += torch.stack([(self._episode_length * done).sum(), done.sum(), terminated.sum()]).double()
        self._episode_length *= ~done

    def _pop_episode_stats(self) -> torch.Tensor:
        """(finished length sum, finished count, fell count) since the last update, on this rank; reset to 0."""
        stats = self._episode_stats.clone()
        self._episode_stats.zero_()
        return stats

    def track_data(self, tag: str, value: float) -> None:
        # skrl sets write_interval to 0 on ranks > 0 (and a user may): nothing is ever written or cleared there,
        # so appending would grow skrl's lists by a few floats per step for the whole run
        if isinstance(self.write_interval, int) and self.write_interval <= 0:
            return
        super().track_data(tag, value)

    def _flush_final_update(self, timestep: int, timesteps: int) -> None:
        """skrl writes at timesteps that are multiples of write_interval, i.e. one step after an update: the last
        update of a run would never reach TensorBoard (a 3-update run would show 2); flush it at the end."""
        if self.write_interval > 0 and self.tracking_data and timestep + 1 >= timesteps:
            self.write_tracking_data(timestep=timestep + 1, timesteps=timesteps)
            self.writer.flush()

    # ------------------------------------------------------------------------------------------------------------
    # per update
    # ------------------------------------------------------------------------------------------------------------
    def _update_record(self, timestep: int, losses: dict, steps_taken: int, skipped: int, mix: dict, heldout: dict):
        """Track skrl's loss / policy / learning-rate scalars and return the update's diagnostics record (the
        schedules add their figures to it before ``_log_record``)."""
        n = max(steps_taken, 1)
        self.track_data("Loss / Policy loss", losses["policy"] / n)
        self.track_data("Loss / Value loss", losses["value"] / n)
        if self.cfg.entropy_loss_scale:
            self.track_data("Loss / Entropy loss", losses["entropy"] / n)
        self.track_data("Loss / Discriminator loss", losses["discriminator"] / n)
        self.track_data("Loss / Discriminator gradient penalty", losses["gradient_penalty"] / n)
        self.track_data("Policy / Standard deviation", self.policy.distribution(role="policy").stddev.mean().item())
        if self.scheduler:
            self.track_data("Learning / Learning rate", self.scheduler.get_last_lr()[0])
        record = {
            "timestep": timestep + 1,
            "update": self.update_count,
            "optimizer_steps": steps_taken,
            "skipped_minibatches": skipped,
            "discriminator_loss": losses["discriminator"] / n if steps_taken else None,
        }
        record.update(reward_stats(mix["style"]))
        record.update({"task_reward_per_step": mix["task_step"], "style_reward_per_step": mix["style_step"]})
        record.update(heldout)
        return record

    def _log_record(self, record: dict) -> None:
        """Add the schedules' and the guard's state to ``record``, keep it, and write it to TensorBoard and
        ``diagnostics.jsonl``."""
        record.update(
            {
                "style_weight_fraction": self.style_ramp.fraction,
                "style_weight": self.cfg.style_reward_scale * self.style_ramp.fraction,
                "style_ramp_gate_open": self.style_ramp.gate_open,
                "style_ramp_held_updates": self.style_ramp.held_updates,
                "style_ramp_hold_reason": self.style_ramp.hold_reason or None,
                "feature_stage": self.feature_stages.stage,
                "feature_stage_name": self.feature_stages.name,
                **{f"guard_{k}": v for k, v in self.guard_stats.items()},
            }
        )
        self.diagnostics_history.append(record)
        for key, tag in RECORD_TAGS.items():
            value = record.get(key)
            if value is not None and np.isfinite(value):
                self.track_data(tag, float(value))
        for key, value in record.items():
            for prefix, tag in TERM_TAG_PREFIXES.items():
                if key.startswith(prefix):
                    self.track_data(tag + key[len(prefix) :], value)
        if self._jsonl_path is not None:
            with open(self._jsonl_path, "a") as f:
                f.write(json.dumps(record, default=_json_value) + "\n")


def _json_value(v: Any) -> Any:
    if isinstance(v, (np.floating, np.integer, np.bool_)):
        return v.item()
    if isinstance(v, torch.Tensor):
        return v.tolist()
    return str(v)
