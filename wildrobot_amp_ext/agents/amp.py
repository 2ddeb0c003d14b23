"""skrl 2.1 AMP with what this project needs on top: diagnostics, schedules, a NaN guard, discriminator input
noise, feature masks and complete, atomic, resumable checkpoints.

``update()`` re-states skrl 2.1.1's AMP update (same losses, same order of operations, same preprocessor
training) because skrl 2.1.1's ``AMP.update`` is one method with no hook inside: the reward mix, the feature mask
and input noise (between the AMP preprocessor and the discriminator) and the guard (between the loss and the
optimiser step) have nowhere else to go. It is split into the steps skrl's method runs in order:
``_mix_rewards`` -> ``_compute_returns`` -> ``_train_epochs`` (``_ppo_losses`` unchanged from skrl,
``_discriminator_loss``, ``_optimizer_step``, ``_step_scheduler``) -> ``_advance_schedules``, with the update's
record and TensorBoard scalars written by ``agents/amp_logging.py`` and checkpoints by ``agents/amp_checkpoint.py``.
Differences from skrl, all configurable under ``agent.amp``:

* one reward unit: task reward (the env's, already x step_dt) x ``task_reward_scale`` + style reward x step_dt x
  ``style_reward_scale * ramp.fraction`` (ramp disabled: skrl's mix with the style term in the env's unit);
* discriminator inputs (policy, replay, reference) are ``mask * (preprocess(x) + noise)`` while it trains and
  ``mask * preprocess(x)`` when it rewards; the gradient penalty is taken w.r.t. the noisy reference input;
* a minibatch whose AMP inputs, losses or gradients are not finite is skipped (no optimiser step, nothing fed to
  the running normalisers) and counted; in multi-GPU runs all ranks skip together;
* every ``diagnostics.interval`` updates: accuracy, AUC, logits, saturation, style-reward moments, episode
  figures and per-term contributions go to TensorBoard (``track_data``) and to ``diagnostics.jsonl``.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import torch
import torch.nn as nn
from skrl import config
from skrl.agents.torch.amp import AMP
from skrl.agents.torch.amp.amp import compute_gae
from skrl.resources.schedulers.torch import KLAdaptiveLR

from wildrobot_amp_ext.agents.amp_checkpoint import CHECKPOINT_KEY, AmpCheckpointMixin
from wildrobot_amp_ext.agents.amp_logging import AmpLoggingMixin
from wildrobot_amp_ext.agents.config import AmpExtrasCfg
from wildrobot_amp_ext.agents.diagnostics import (
    STYLE_REWARDS,
    ablation_by_term,
    discriminator_stats,
    grad_x_input_by_term,
    rank_auc,
)
from wildrobot_amp_ext.agents.models import space_dim
from wildrobot_amp_ext.agents.ranks import reduce_update_metrics
from wildrobot_amp_ext.agents.reference import normalise_layout
from wildrobot_amp_ext.agents.schedules import FeatureStageSchedule, StyleWeightRamp

__all__ = ["CHECKPOINT_KEY", "LOSS_NAMES", "NonFiniteTrainingError", "WildRobotAMP"]

log = logging.getLogger(__name__)

LOSS_NAMES = ("policy", "value", "entropy", "discriminator", "gradient_penalty")


class NonFiniteTrainingError(RuntimeError):
    """The discriminator kept producing NaN/Inf: every minibatch of too many consecutive updates was skipped."""


class WildRobotAMP(AmpCheckpointMixin, AmpLoggingMixin, AMP):
    """skrl's AMP with the differences listed in the module docstring; checkpoint I/O comes from
    :class:`AmpCheckpointMixin` (``agents/amp_checkpoint.py``), TensorBoard and the diagnostics record from
    :class:`AmpLoggingMixin` (``agents/amp_logging.py``)."""

    def __init__(
        self,
        *,
        extras: AmpExtrasCfg | None = None,
        feature_layout: dict | None = None,
        reference_sampler: Any | None = None,
        reward_dt: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.extras = extras or AmpExtrasCfg()
        self.reference_sampler = reference_sampler
        # Isaac Lab's reward manager returns sum_i w_i r_i * step_dt: the style reward gets the same step_dt, so
        # task_reward_scale / style_reward_scale is the ratio of the two per-step rewards PPO sees
        self.reward_dt = float(reward_dt)
        self.amp_obs_dim = space_dim(self.amp_observation_space)
        layout = normalise_layout(feature_layout, self.amp_obs_dim) if feature_layout else None
        self.style_ramp = StyleWeightRamp(self.extras.style_ramp)
        self.feature_stages = FeatureStageSchedule(self.extras.feature_stages, layout, self.amp_obs_dim, self.device)
        # the reference source goes through a finiteness check, also for skrl's own dataset filling in init()
        self._collect_reference_raw = self.collect_reference_motions
        self.collect_reference_motions = self._collect_reference_checked

        self.timestep = 0  # next trainer timestep (== timesteps done); checkpoints store it
        self.update_count = 0
        self.last_diagnostics: dict = {}
        self.guard_stats = {
            "skipped_minibatches": 0,
            "skipped_updates": 0,
            "consecutive_skipped_updates": 0,
            "nonfinite_amp_obs_rows": 0,
            "nonfinite_reference_rows": 0,
            "nonfinite_style_rewards": 0,
        }
        self._nonfinite_amp_rows = torch.zeros((), dtype=torch.long, device=self.device)
        self._is_rank0 = not (config.torch.is_distributed and config.torch.rank)
        self.rng_restored = False  # set by load(): the checkpoint's RNG state is in force
        self._init_logging()

    # ------------------------------------------------------------------------------------------------------------
    # set-up
    # ------------------------------------------------------------------------------------------------------------
    def init(self, *, trainer_cfg: Any | None = None) -> None:
        if self.write_interval == "auto":
            # skrl's auto (timesteps / 100) is 0 below 100 timesteps: write at least once per update, ~100 points
            timesteps = int(getattr(trainer_cfg, "timesteps", None) or (trainer_cfg or {}).get("timesteps", 0))
            self.write_interval = self.cfg.rollouts * max(1, round(timesteps / 100 / self.cfg.rollouts))
        super().init(trainer_cfg=trainer_cfg)
        rollouts = self.cfg.rollouts
        if self.checkpoint_interval > 0 and self.checkpoint_interval % rollouts:
            aligned = math.ceil(self.checkpoint_interval / rollouts) * rollouts
            log.info(
                "checkpoint interval %d -> %d (a multiple of rollouts=%d: checkpoints fall right after an update)",
                self.checkpoint_interval,
                aligned,
                rollouts,
            )
            self.checkpoint_interval = aligned
        self._open_diagnostics_log()

    # ------------------------------------------------------------------------------------------------------------
    # inputs
    # ------------------------------------------------------------------------------------------------------------
    def _collect_reference_checked(self, n: int) -> torch.Tensor:
        ref = self._collect_reference_raw(n)
        if not self.extras.nan_guard.enabled:
            return ref
        finite = torch.isfinite(ref)
        bad_rows = int((~finite.all(dim=-1)).sum())
        if bad_rows:
            self.guard_stats["nonfinite_reference_rows"] += bad_rows
            log.warning("reference source returned %d non-finite AMP rows; zeroed", bad_rows)
            ref = torch.where(finite, ref, torch.zeros_like(ref))
        return ref

    def _reference_batch(self, n: int) -> torch.Tensor:
        if self.reference_sampler is not None:
            return self.reference_sampler.sample(n)
        return self.collect_reference_motions(n)

    @property
    def feature_mask(self) -> torch.Tensor:
        return self.feature_stages.mask

    def _discriminate(self, z: torch.Tensor) -> torch.Tensor:
        """Logits of already preprocessed AMP inputs, after the feature mask."""
        logits, _ = self.discriminator.act({"observations": z * self.feature_mask}, role="discriminator")
        return logits

    def _noisy(self, z: torch.Tensor) -> torch.Tensor:
        std = self.extras.discriminator_input_noise_std
        return z + std * torch.randn_like(z) if std > 0 else z

    def record_transition(
        self, *, infos: Any, terminated: torch.Tensor, truncated: torch.Tensor, **kwargs: Any
    ) -> None:
        if self.training:
            amp = infos["amp_obs"]
            if self.extras.nan_guard.enabled:
                finite = torch.isfinite(amp)
                self._nonfinite_amp_rows += (~finite.all(dim=-1)).sum()
                infos = {**infos, "amp_obs": torch.where(finite, amp, torch.zeros_like(amp))}
            self._track_episodes(terminated, truncated)
        # skrl's Agent.record_transition tracks rewards with 3 .item() and a nonzero() host sync per step: skip it
        # (write_interval 0 while skrl runs) and track the same figures from one transfer
        interval, self.write_interval = self.write_interval, 0
        try:
            super().record_transition(infos=infos, terminated=terminated, truncated=truncated, **kwargs)
        finally:
            self.write_interval = interval
        if isinstance(interval, int) and interval > 0:
            self._track_rewards_one_transfer(kwargs["rewards"], terminated, truncated)

    def post_interaction(self, *, timestep: int, timesteps: int) -> None:
        self.timestep = timestep + 1
        super().post_interaction(timestep=timestep, timesteps=timesteps)
        self._flush_final_update(timestep, timesteps)

    # ------------------------------------------------------------------------------------------------------------
    # distributed helpers
    # ------------------------------------------------------------------------------------------------------------
    def _all_ranks(self, flag: torch.Tensor) -> bool:
        """True when ``flag`` (a bool tensor) is True on every rank: one element reduced, one host sync."""
        if not config.torch.is_distributed:
            return bool(flag)
        t = flag.reshape(1).to(torch.int32)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MIN)
        return bool(t.item())

    # ------------------------------------------------------------------------------------------------------------
    # update
    # ------------------------------------------------------------------------------------------------------------
    def update(self, *, timestep: int, timesteps: int) -> None:
        """skrl's AMP update split at the hooks skrl 2.1.1 lacks (see the module docstring); same operations in
        the same order: reward mix and GAE, then epochs of PPO + discriminator minibatches, then logging."""
        self.update_count += 1
        self.motion_dataset.add_samples(observations=self.collect_reference_motions(self.cfg.amp_batch_size))
        amp_observations = self.memory.get_tensor_by_name("amp_observations")
        # held-out figures: the discriminator has not trained on this rollout yet (it joins the replay buffer after
        # the update) nor on this fresh reference draw; they drive the style ramp and the micro-train gate
        diagnose = self.update_count % self.extras.diagnostics.interval == 0
        heldout = self._discriminator_diagnostics(amp_observations) if diagnose else {}
        mix = self._mix_rewards(amp_observations)
        self._compute_returns(mix["combined"])
        losses, steps_taken, skipped = self._train_epochs(timestep)
        self.reply_buffer.add_samples(observations=amp_observations.view(-1, amp_observations.shape[-1]))
        self._after_guard(steps_taken, skipped)
        if diagnose:  # in-sample, for comparison: the same rollout after the discriminator trained on it
            heldout["auc_train"] = self._auc_on(amp_observations)
        self.guard_stats["nonfinite_amp_obs_rows"] += int(self._nonfinite_amp_rows.item())
        self._nonfinite_amp_rows.zero_()
        record = self._update_record(timestep, losses, steps_taken, skipped, mix, heldout)
        self._advance_schedules(timestep + 1, record)
        self._log_record(record)

    def _mix_rewards(self, amp_observations: torch.Tensor) -> dict:
        """Task + ramped style reward in one per-step unit: the env's reward is already sum_i w_i r_i * step_dt
        (Isaac Lab's reward manager), so the style reward gets step_dt too."""
        cfg = self.cfg
        rewards = self.memory.get_tensor_by_name("rewards")
        # style reward under the current discriminator: no noise, current feature mask
        with torch.no_grad(), torch.autocast(device_type=self._device_type, enabled=cfg.mixed_precision):
            amp_logits = self._discriminate(self._amp_observation_preprocessor(amp_observations))
            style_reward = self._style_reward(amp_logits.float()).view(rewards.shape)
        finite_style = torch.isfinite(style_reward)
        style_reward = torch.where(finite_style, style_reward, torch.zeros_like(style_reward))
        task_step = cfg.task_reward_scale * rewards
        style_step = (cfg.style_reward_scale * self.style_ramp.fraction * self.reward_dt) * style_reward
        constant = getattr(self.extras, "constant_style_reward", None)
        if constant is not None:  # a control run: the same bonus whatever the motion (agent.amp.constant_style_reward)
            style_step = torch.full_like(style_step, float(constant))
        means = torch.stack([task_step.mean(), style_step.mean()]).tolist()
        self.guard_stats["nonfinite_style_rewards"] += int((~finite_style).sum())
        return {
            "combined": task_step + style_step,
            "style": style_reward,
            "task_step": means[0],
            "style_step": means[1],
        }

    @property
    def discriminator_objective(self) -> str:
        """``bce`` (skrl: BCE loss, reward -log(1 - D)) or ``least_squares`` (targets +1 / -1 and reward
        max(0, 1 - 0.25 (d - 1)^2), Escontrela et al. 2022)."""
        objective = getattr(self.extras, "discriminator_objective", "bce")
        if objective not in STYLE_REWARDS:
            raise ValueError(f"agent.amp.discriminator_objective {objective!r}: use one of {', '.join(STYLE_REWARDS)}")
        return objective

    def _style_reward(self, logits: torch.Tensor) -> torch.Tensor:
        return STYLE_REWARDS[self.discriminator_objective](logits)

    def _compute_returns(self, combined_rewards: torch.Tensor) -> None:
        cfg = self.cfg
        with torch.no_grad(), torch.autocast(device_type=self._device_type, enabled=cfg.mixed_precision):
            inputs = {
                "observations": self._observation_preprocessor(self._current_next_observations),
                "states": self._state_preprocessor(self._current_next_states),
            }
            self.value.enable_training_mode(False)
            last_values, _ = self.value.act(inputs, role="value")
            self.value.enable_training_mode(True)
            last_values = self._value_preprocessor(last_values, inverse=True)
        values = self.memory.get_tensor_by_name("values")
        returns, advantages = compute_gae(
            rewards=combined_rewards,
            terminated=self.memory.get_tensor_by_name("terminated"),
            truncated=self.memory.get_tensor_by_name("truncated"),
            values=values,
            last_values=last_values,
            discount_factor=cfg.discount_factor,
            lambda_coefficient=cfg.gae_lambda,
            time_limit_bootstrap=cfg.time_limit_bootstrap,
        )
        self.memory.set_tensor_by_name("values", self._value_preprocessor(values, train=True))
        self.memory.set_tensor_by_name("returns", self._value_preprocessor(returns, train=True))
        self.memory.set_tensor_by_name("advantages", advantages)

    def _train_epochs(self, timestep: int) -> tuple[dict, int, int]:
        cfg = self.cfg
        losses = dict.fromkeys(LOSS_NAMES, 0.0)
        steps_taken = skipped = 0
        amp_index = self._tensors_names.index("amp_observations")
        batch = self.memory.memory_size * self.memory.num_envs
        for epoch in range(cfg.learning_epochs):
            kl_divergences = []
            sampled_batches = self.memory.sample(
                names=self._tensors_names, batch_size=len(self.memory), mini_batches=cfg.mini_batches
            )
            sampled_motion = self.motion_dataset.sample(
                names=["observations"], batch_size=batch, mini_batches=cfg.mini_batches
            )
            if len(self.reply_buffer):
                sampled_replay = self.reply_buffer.sample(
                    names=["observations"], batch_size=batch, mini_batches=cfg.mini_batches
                )
            else:
                sampled_replay = [[b[amp_index]] for b in sampled_batches]
            for index, minibatch in enumerate(sampled_batches):
                amp_inputs = (minibatch[amp_index], sampled_replay[index][0], sampled_motion[index][0])
                step = self._minibatch_step(minibatch, amp_inputs, epoch, kl_divergences, timestep)
                if step is None:
                    skipped += 1
                    continue
                steps_taken += 1
                for key, v in zip(LOSS_NAMES, step):
                    losses[key] += v
            self._step_scheduler(kl_divergences)
        return losses, steps_taken, skipped

    def _minibatch_step(self, minibatch, amp_inputs, epoch: int, kl_divergences: list, timestep: int):
        """One optimiser step on PPO + discriminator losses; None when the NaN guard skipped it."""
        cfg = self.cfg
        guard = self.extras.nan_guard.enabled
        if cfg.discriminator_batch_size > 0:
            amp_inputs = tuple(t[: cfg.discriminator_batch_size] for t in amp_inputs)
        if guard and not self._all_ranks(torch.stack([torch.isfinite(t).all() for t in amp_inputs]).all()):
            self._report_skip("non-finite AMP inputs", timestep)
            return None
        with torch.autocast(device_type=self._device_type, enabled=cfg.mixed_precision):
            policy_loss, entropy_loss, value_loss = self._ppo_losses(minibatch, epoch, kl_divergences)
            discriminator_loss, gradient_penalty = self._discriminator_loss(*amp_inputs)
            total_loss = policy_loss + entropy_loss + value_loss + discriminator_loss
        step_losses = torch.stack([policy_loss, value_loss, entropy_loss, discriminator_loss, gradient_penalty])
        step_losses = step_losses.detach().float()
        if guard and not self._all_ranks(torch.isfinite(step_losses).all()):
            names = "(policy, value, entropy, discriminator, gp)"
            self._report_skip(f"non-finite loss {names} = {step_losses.tolist()}", timestep)
            return None
        if not self._optimizer_step(total_loss, timestep):
            return None
        return step_losses.tolist()

    def _ppo_losses(self, minibatch, epoch: int, kl_divergences: list):
        """skrl 2.1.1's clipped surrogate, entropy and (clipped) value losses, unchanged."""
        cfg = self.cfg
        obs, states, actions, log_prob, old_values, returns_b, advantages_b, _ = minibatch
        inputs = {
            "observations": self._observation_preprocessor(obs, train=not epoch),
            "states": self._state_preprocessor(states, train=not epoch),
        }
        _, outputs = self.policy.act({**inputs, "taken_actions": actions}, role="policy")
        next_log_prob = outputs["log_prob"]
        with torch.no_grad():
            ratio = next_log_prob - log_prob
            kl_divergences.append(((torch.exp(ratio) - 1) - ratio).mean())
        entropy_loss = (
            -cfg.entropy_loss_scale * self.policy.get_entropy(role="policy").mean()
            if cfg.entropy_loss_scale
            else torch.zeros((), device=self.device)
        )
        ratio = torch.exp(next_log_prob - log_prob)
        surrogate = advantages_b * ratio
        surrogate_clipped = advantages_b * torch.clip(ratio, 1.0 - cfg.ratio_clip, 1.0 + cfg.ratio_clip)
        policy_loss = -torch.min(surrogate, surrogate_clipped).mean()
        predicted_values, _ = self.value.act(inputs, role="value")
        if cfg.value_clip > 0:
            predicted_values = old_values + torch.clip(
                predicted_values - old_values, min=-cfg.value_clip, max=cfg.value_clip
            )
        value_loss = cfg.value_loss_scale * nn.functional.mse_loss(returns_b, predicted_values)
        return policy_loss, entropy_loss, value_loss

    def _discriminator_loss(self, raw_policy, raw_replay, raw_motion):
        """skrl's discriminator loss with our inputs: mask * (preprocess(x) + noise); gradient penalty w.r.t. the
        noisy reference input."""
        cfg = self.cfg
        z_policy = self._noisy(self._amp_observation_preprocessor(raw_policy, train=True))
        z_replay = self._noisy(self._amp_observation_preprocessor(raw_replay, train=True))
        z_motion = self._noisy(self._amp_observation_preprocessor(raw_motion, train=True))
        z_motion.requires_grad_(True)
        fake_logits = torch.cat([self._discriminate(z_policy), self._discriminate(z_replay)], dim=0)
        motion_logits = self._discriminate(z_motion)
        if self.discriminator_objective == "least_squares":
            loss = 0.5 * (
                nn.functional.mse_loss(fake_logits, -torch.ones_like(fake_logits))
                + nn.functional.mse_loss(motion_logits, torch.ones_like(motion_logits))
            )
        else:
            bce = nn.BCEWithLogitsLoss()
            loss = 0.5 * (
                bce(fake_logits, torch.zeros_like(fake_logits)) + bce(motion_logits, torch.ones_like(motion_logits))
            )
        if cfg.discriminator_logit_regularization_scale:
            logit_weights = torch.flatten(list(self.discriminator.modules())[-1].weight)
            loss += cfg.discriminator_logit_regularization_scale * torch.sum(torch.square(logit_weights))
        gradient_penalty = torch.zeros((), device=self.device)
        if cfg.discriminator_gradient_penalty_scale:
            (motion_gradient,) = torch.autograd.grad(
                motion_logits,
                z_motion,
                grad_outputs=torch.ones_like(motion_logits),
                create_graph=True,
                retain_graph=True,
                only_inputs=True,
            )
            gradient_penalty = torch.sum(torch.square(motion_gradient), dim=-1).mean()
            loss += cfg.discriminator_gradient_penalty_scale * gradient_penalty
        if cfg.discriminator_weight_decay_scale:
            weights = [torch.flatten(m.weight) for m in self.discriminator.modules() if isinstance(m, nn.Linear)]
            loss += cfg.discriminator_weight_decay_scale * torch.sum(torch.square(torch.cat(weights, dim=-1)))
        return loss * cfg.discriminator_loss_scale, gradient_penalty

    def _optimizer_step(self, total_loss: torch.Tensor, timestep: int) -> bool:
        """Backward, (distributed reduce), clip and step; False when the NaN guard found non-finite gradients."""
        cfg = self.cfg
        guard = self.extras.nan_guard.enabled
        self.optimizer.zero_grad()
        self.scaler.scale(total_loss).backward()
        if config.torch.is_distributed:
            self.policy.reduce_parameters()
            self.value.reduce_parameters()
            self.discriminator.reduce_parameters()
        if cfg.grad_norm_clip > 0 or guard:
            self.scaler.unscale_(self.optimizer)
            params = [*self.policy.parameters(), *self.value.parameters(), *self.discriminator.parameters()]
            grads = [p.grad for p in params if p.grad is not None]
            grad_norm = torch.nn.utils.get_total_norm(grads)
            # gradients are identical on all ranks after the reduce: every rank decides the same
            if guard and not bool(torch.isfinite(grad_norm)):
                self.optimizer.zero_grad()
                self.scaler.update()
                self._report_skip("non-finite gradients", timestep)
                return False
            if cfg.grad_norm_clip > 0:
                torch.nn.utils.clip_grads_with_norm_(grads, cfg.grad_norm_clip, grad_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return True

    def _step_scheduler(self, kl_divergences: list) -> None:
        if not self.scheduler:
            return
        if isinstance(self.scheduler, KLAdaptiveLR):
            kl = (
                torch.tensor(kl_divergences, device=self.device).mean()
                if kl_divergences
                else torch.zeros((), device=self.device)
            )
            if config.torch.is_distributed:
                torch.distributed.all_reduce(kl, op=torch.distributed.ReduceOp.SUM)
                kl /= config.torch.world_size
            self.scheduler.step(kl.item())
        else:
            self.scheduler.step()

    # ------------------------------------------------------------------------------------------------------------
    def _report_skip(self, why: str, timestep: int) -> None:
        self.guard_stats["skipped_minibatches"] += 1
        self.optimizer.zero_grad()
        log.warning("NaN guard: skipped a minibatch update at timestep %d (%s)", timestep + 1, why)

    def _after_guard(self, steps_taken: int, skipped: int) -> None:
        if skipped and not steps_taken:
            self.guard_stats["skipped_updates"] += 1
            self.guard_stats["consecutive_skipped_updates"] += 1
            limit = self.extras.nan_guard.max_consecutive_skipped_updates
            if limit and self.guard_stats["consecutive_skipped_updates"] >= limit:
                raise NonFiniteTrainingError(
                    f"every minibatch of {limit} consecutive updates was non-finite (see the NaN guard warnings); "
                    "check the AMP observations and the reference dataset, or lower the discriminator learning rate"
                )
        elif steps_taken:
            self.guard_stats["consecutive_skipped_updates"] = 0

    def _auc_on(self, amp_observations: torch.Tensor) -> float:
        """AUC on rollout samples the discriminator has just trained on (in-sample; logged for comparison only)."""
        flat = amp_observations.view(-1, amp_observations.shape[-1])
        n = min(self.extras.diagnostics.batch_size, flat.shape[0])
        with torch.no_grad():
            pol = self._discriminate(
                self._amp_observation_preprocessor(flat[torch.randperm(flat.shape[0], device=flat.device)[:n]])
            )
            ref = self._discriminate(self._amp_observation_preprocessor(self._reference_batch(n)))
        return float(rank_auc(ref, pol))

    def _discriminator_diagnostics(self, amp_observations: torch.Tensor) -> dict:
        dcfg = self.extras.diagnostics
        flat = amp_observations.view(-1, amp_observations.shape[-1])
        n = min(dcfg.batch_size, flat.shape[0])
        with torch.no_grad():
            pol_raw = flat[torch.randperm(flat.shape[0], device=flat.device)[:n]]
            ref_raw = self._reference_batch(n)
            z_pol = self._amp_observation_preprocessor(pol_raw) * self.feature_mask
            z_ref = self._amp_observation_preprocessor(ref_raw) * self.feature_mask
            pol_logits, ref_logits = self._discriminate(z_pol), self._discriminate(z_ref)
        stats = discriminator_stats(pol_logits, ref_logits, dcfg.logit_saturation_threshold)
        layout = self.feature_stages.term_layout
        diag_index = self.update_count // dcfg.interval - 1  # 0 at the first diagnostics pass
        if layout and dcfg.attribution and diag_index % dcfg.attribution_interval == 0:
            if "grad_x_input" in dcfg.attribution:
                for term, share in grad_x_input_by_term(self._discriminate, torch.cat([z_pol, z_ref]), layout).items():
                    stats[f"grad_x_input/{term}"] = share
            if "ablation" in dcfg.attribution:
                for term, drop in ablation_by_term(self._discriminate, z_pol, z_ref, layout).items():
                    stats[f"ablation_auc_drop/{term}"] = drop
        return stats

    def _advance_schedules(self, timestep: int, record: dict) -> None:
        """Schedules step on figures every rank agrees on: the episode figures (over all ranks' envs, written to
        ``record``) and the held-out AUC / saturation averaged over ranks, from one fixed-size all-reduce."""
        if "auc" in record:
            self.last_diagnostics = {k: record.get(k) for k in ("auc", "logit_saturation")}
        metrics = reduce_update_metrics(self._pop_episode_stats(), self.last_diagnostics)
        record.update({k: metrics[k] for k in ("episode_length_mean", "fall_rate", "episodes_finished")})
        self.style_ramp.update(timestep, metrics["auc"], metrics["logit_saturation"])
        held, warn = self.style_ramp.held_updates, self.extras.style_ramp.warn_after_updates
        # TensorBoard side of the ramp's warning (skrl's writer only takes scalars; the reason is in the log line)
        record["style_ramp_warning"] = float(bool(warn and held >= warn))
        self.feature_stages.update(timestep, metrics)
