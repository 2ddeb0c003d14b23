"""The AMP env: Isaac Lab's ManagerBasedRLEnv plus what skrl's AMP agent reads.

* ``extras["amp_obs"]`` after every ``step``: the AMP observation (``FeatureSpec.history`` frames, oldest first) of
  the post-step state. For envs that reset in this step it holds the **terminal** frame, not the reset state:
  ``ManagerBasedRLEnv.step`` resets terminated envs before computing observations, so the terminal AMP
  observation is captured in :meth:`_reset_idx`, before the reset writes the new state, as the previous step's
  AMP observation shifted by one frame plus the current (terminal) frame.
* ``amp_observation_space``: a ``gymnasium.spaces.Box`` of the AMP observation width.
* ``collect_reference_motions(n)``: ``(n, D)`` reference AMP observations sampled on the env device from
  ``cfg.amp.dataset`` by :class:`wildrobot_amp_ext.agents.reference.ReferenceMotionSampler`.

The env's inputs are settled before it exists: ``isaaclab.launch`` calls the config's ``resolve_inputs`` (the
FeatureSpec is the reference dataset's header with the fields the user set in ``env.amp.feature_spec``, written back
in full so the saved run config says what ran; ``"demo"`` is built by the dataset layer). The env reads its config
and never writes it.

skrl's ``wrap_env(env, "isaaclab")`` forwards unknown attributes to ``env.unwrapped`` and returns the env's
extras as ``infos`` unchanged, so the agent sees ``infos["amp_obs"]`` and these two attributes directly.
"""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import numpy as np
import torch

from isaaclab.envs import ManagerBasedRLEnv

from wildrobot_amp_ext.agents.reference import ReferenceMotionSampler
from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.features import FeatureVersion
from wildrobot_amp_ext.tasks.amp_locomotion.amp_env_cfg import AmpLocomotionEnvCfg
from wildrobot_amp_ext.tasks.amp_locomotion.mdp import randomization
from wildrobot_amp_ext.tasks.amp_locomotion.mdp.amp import amp_features, dataset_feature_header

AMP_GROUP = "amp"
AMP_INFO_KEY = "amp_obs"


class AmpManagerBasedRLEnv(ManagerBasedRLEnv):
    cfg: AmpLocomotionEnvCfg

    def __init__(self, cfg: AmpLocomotionEnvCfg, render_mode: str | None = None, **kwargs):
        self.robot = cfg.robot_spec()
        spec = cfg.resolved_feature_spec()  # settled by cfg.resolve_inputs() before the env (isaaclab.launch)
        self.amp_feature_spec = spec
        self.amp_frame_dim = spec.frame_dim(self.robot)
        self.amp_obs_dim = spec.obs_dim(self.robot)
        self._reference_sampler = None
        super().__init__(cfg, render_mode=render_mode, **kwargs)
        self._amp_term = getattr(self.observation_manager.cfg, AMP_GROUP).features.func
        if not isinstance(self._amp_term, amp_features):
            raise RuntimeError("the 'amp' observation group's 'features' term must be mdp.amp_features")
        self.amp_observation_space = gym.spaces.Box(
            low=-np.inf, high=np.inf, shape=(self.amp_obs_dim,), dtype=np.float32
        )
        self._amp_terminal_obs = torch.zeros(self.num_envs, self.amp_obs_dim, device=self.device)
        # every randomised value, read back from the solver once per run (and refused if a range never acted)
        self.randomization_stats = randomization.distribution(randomization.read_back(self))
        if self.randomization_stats:
            print(randomization.format_summary(self.randomization_stats), flush=True)
        randomization.check_applied(self, self.randomization_stats)
        self._amp_reset_mask = torch.zeros(self.num_envs, dtype=torch.bool, device=self.device)

    # ------------------------------------------------------------------------------------------------------------
    # AMP observations
    # ------------------------------------------------------------------------------------------------------------
    def amp_frame(self) -> torch.Tensor:
        """AMP features of the current state, (num_envs, frame_dim)."""
        return self._amp_term.frame()

    def amp_kinematic_state(self):
        """The world-frame :class:`~wildrobot_amp_ext.features.KinematicState` the AMP features are computed from."""
        return self._amp_term.kinematics.state()

    def _current_amp_obs(self) -> torch.Tensor:
        """The AMP observation the ``amp`` group would return if its history were advanced now."""
        frame = self.amp_frame()
        previous = getattr(self, "obs_buf", None)
        if previous is None or AMP_GROUP not in previous:
            return frame.repeat(1, self.amp_feature_spec.history)
        return torch.cat([previous[AMP_GROUP][:, self.amp_frame_dim :], frame], dim=-1)

    def _reset_idx(self, env_ids: torch.Tensor | Sequence[int] | slice):
        if getattr(self, "_amp_reset_mask", None) is not None:
            terminal = self._current_amp_obs()
            self._amp_terminal_obs[env_ids] = terminal[env_ids]
            self._amp_reset_mask[env_ids] = True
        super()._reset_idx(env_ids)

    def step(self, action: torch.Tensor):
        self._amp_reset_mask.zero_()
        obs, reward, terminated, truncated, extras = super().step(action)
        extras[AMP_INFO_KEY] = torch.where(self._amp_reset_mask.unsqueeze(-1), self._amp_terminal_obs, obs[AMP_GROUP])
        return obs, reward, terminated, truncated, extras

    def reset(self, *args, **kwargs):
        obs, extras = super().reset(*args, **kwargs)
        extras[AMP_INFO_KEY] = obs[AMP_GROUP]
        return obs, extras

    # ------------------------------------------------------------------------------------------------------------
    # reference motions
    # ------------------------------------------------------------------------------------------------------------
    @property
    def reference_sampler(self):
        if self._reference_sampler is None:
            self._reference_sampler = self._make_reference_sampler()
        return self._reference_sampler

    def _make_reference_sampler(self):
        amp = self.cfg.amp
        if not amp.dataset:
            raise InputError(
                None, "env.amp.dataset", "no reference dataset configured", "pass a wildrobot-convert .npz"
            )
        if amp.check_feature_version:
            self._check_dataset_features(amp.dataset)
        return ReferenceMotionSampler.from_npz(
            amp.dataset,
            obs_dim=self.amp_obs_dim,
            history=self.amp_feature_spec.history,
            temperature=amp.sampler_temperature,
            min_motion_ids=amp.min_motion_ids,
            device=self.device,
            frame_rate=1.0 / self.step_dt,  # reference frames must be one env step apart
        )

    def _check_dataset_features(self, dataset: str) -> None:
        """A dataset swapped in after creation must hold the features this env computes (any history)."""
        stored = dataset_feature_header(dataset)
        if stored is None:
            raise InputError(
                dataset,
                "feature_spec",
                "the dataset does not declare its features",
                "rebuild it with wildrobot-convert, or set env.amp.check_feature_version=false",
            )
        clash = FeatureVersion.of(self.amp_feature_spec, self.robot).conflicts(stored)
        if clash:
            raise InputError(
                dataset,
                "feature_version",
                f"dataset features differ from the env's ({clash[0]})",
                "rebuild the dataset with the env's FeatureSpec, or create the env with this dataset",
            )

    def collect_reference_motions(self, num_samples: int) -> torch.Tensor:
        """(num_samples, amp_obs_dim) reference AMP observations on the env device."""
        return self.reference_sampler.sample(num_samples)
