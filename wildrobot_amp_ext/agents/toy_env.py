"""A small vectorised torch env with the interface the AMP agent expects from an Isaac Lab task.

It stands in for the physics env in unit tests, CI smoke runs and the overhead benchmark: the same surface as a
manager-based Isaac Lab env seen through skrl's ``IsaacLabWrapper`` (``single_observation_space["policy"]``,
``single_action_space``, ``step`` returning an obs dict and ``extras["amp_obs"]``), plus the AMP extras
(``amp_observation_space``, ``collect_reference_motions(n)``, ``amp_feature_layout``).

Model: J "joints" under PD position control (actions are joint targets); AMP features are joint positions and
velocities and quantities derived from them with the names of the real feature terms (``root_lin_vel`` carries a
speed proxy, ``root_height`` a bobbing height, ``foot_contacts`` signs of the hip angles), so the feature
stages and the per-term diagnostics see a real layout. Reference clips are sinusoidal gaits of different
frequencies and amplitudes; the task reward asks for a commanded speed. A joint beyond ``fall_limit`` ends the
episode (terminated = a fall), the time limit truncates it. ``sim_cost_ms`` adds a fixed wait per step to stand
in for physics time in benchmarks.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import gymnasium
import numpy as np
import torch

from wildrobot_amp_ext.agents.config import AmpAgentCfg
from wildrobot_amp_ext.agents.reference import ReferenceMotionSampler
from wildrobot_amp_ext.utils.atomic import save_npz_atomic

TERM_DIMS_BASE = {"root_lin_vel": 3, "root_ang_vel": 3, "root_height": 1, "foot_contacts": 4}


@dataclass
class ToyReferenceCfg:
    """Reference sampling, as the real tasks' ``env.amp``: the toy's own analytic clips, or a dataset file."""

    #: reference dataset (.npz, per-frame ``features``); None: the analytic clips below
    dataset: str | None = None
    sampler_temperature: float = 1.0
    min_motion_ids: int = 3


@dataclass
class ToyAmpEnvCfg:
    num_envs: int = 16
    num_joints: int = 4
    dt: float = 0.02
    kp: float = 120.0
    kd: float = 12.0
    action_scale: float = 1.0
    episode_length: int = 250
    fall_limit: float = 1.6
    command_range: tuple[float, float] = (0.3, 1.0)
    history: int = 2
    #: reference clips: (frequency Hz, amplitude rad) per clip
    clips: list[tuple[float, float]] = field(
        default_factory=lambda: [(1.2, 0.45), (1.5, 0.55), (1.8, 0.5), (1.0, 0.35)]
    )
    clip_seconds: float = 4.0
    speed_gain: float = 0.25
    sim_cost_ms: float = 0.0
    #: fraction of resets that start on a random reference frame (the real tasks' reference state init)
    reference_state_init: float = 0.0
    device: str = "cpu"
    #: seed of the env's own random generator (resets, commands, reference draws)
    seed: int = 0
    amp: ToyReferenceCfg = field(default_factory=ToyReferenceCfg)


def toy_layout(num_joints: int, history: int) -> dict[str, np.ndarray]:
    dims = {"joint_pos": num_joints, "joint_vel": num_joints, **TERM_DIMS_BASE}
    frame_dim = sum(dims.values())
    out, start = {}, 0
    for term, d in dims.items():
        cols = np.arange(start, start + d)
        out[term] = (np.arange(history)[:, None] * frame_dim + cols[None, :]).reshape(-1)
        start += d
    return out


def toy_column_names(num_joints: int) -> list[str]:
    names = [f"joint_pos/j{i}" for i in range(num_joints)] + [f"joint_vel/j{i}" for i in range(num_joints)]
    names += [f"root_lin_vel/{a}" for a in "xyz"] + [f"root_ang_vel/{a}" for a in "xyz"] + ["root_height"]
    names += [f"foot_contacts/{p}" for p in ("l_toe", "l_heel", "r_toe", "r_heel")]
    return names


def toy_features(q: torch.Tensor, qd: torch.Tensor, speed_gain: float) -> torch.Tensor:
    """One frame of toy AMP features, same function for env and reference."""
    speed = speed_gain * qd[:, :2].abs().mean(dim=1)
    zeros = torch.zeros_like(speed)
    lin_vel = torch.stack([speed, 0.05 * qd[:, -1], zeros], dim=1)
    ang_vel = torch.stack([zeros, 0.1 * qd[:, 0], 0.1 * (q[:, 0] + q[:, 1])], dim=1)
    height = (0.5 + 0.03 * torch.cos(2.0 * (q[:, 0] - q[:, 1]))).unsqueeze(1)
    left, right = (q[:, 0] < 0).to(q.dtype), (q[:, 1] < 0).to(q.dtype)
    contacts = torch.stack([left, left, right, right], dim=1)
    return torch.cat([q, qd, lin_vel, ang_vel, height, contacts], dim=1)


def reference_trajectory(
    freq: float, amp: float, num_joints: int, frames: int, dt: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Analytic sinusoidal gait: legs in antiphase, the rest following at half amplitude."""
    t = torch.arange(frames, dtype=torch.float64).unsqueeze(1) * dt
    phase = torch.tensor([0.0, math.pi] + [0.5 * math.pi * (i + 1) for i in range(num_joints - 2)], dtype=torch.float64)
    scale = torch.tensor([1.0, 1.0] + [0.5] * (num_joints - 2), dtype=torch.float64)
    w = 2.0 * math.pi * freq
    q = amp * scale * torch.sin(w * t + phase)
    qd = amp * scale * w * torch.cos(w * t + phase)
    return q.float(), qd.float()


class ToyAmpEnv(gymnasium.Env):
    """Vectorised toy env (see the module docstring); registered as ``Toy-AMP-v0`` (wildrobot_amp_ext.tasks.toy)."""

    metadata = {"render_modes": []}

    def __init__(self, cfg: ToyAmpEnvCfg | None = None, render_mode: str | None = None, **overrides):
        self.cfg = cfg or ToyAmpEnvCfg(**overrides)
        self.render_mode = render_mode  # nothing is rendered; kept for gymnasium's make()
        c = self.cfg
        self.device = torch.device(c.device)
        self.num_envs = c.num_envs
        self.num_joints = c.num_joints
        self.frame_dim = 2 * c.num_joints + sum(TERM_DIMS_BASE.values())
        self.amp_obs_dim = self.frame_dim * c.history
        obs_dim = 2 * c.num_joints + 3
        self.single_observation_space = gymnasium.spaces.Dict(
            {"policy": gymnasium.spaces.Box(-np.inf, np.inf, (obs_dim,), np.float32)}
        )
        self.single_action_space = gymnasium.spaces.Box(-np.inf, np.inf, (c.num_joints,), np.float32)
        self.observation_space = self.single_observation_space
        self.action_space = self.single_action_space
        self.amp_observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (self.amp_obs_dim,), np.float32)
        self.amp_feature_layout = toy_layout(c.num_joints, c.history)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(c.seed)
        self._reference_sampler = None
        self._build_reference()
        n, j = c.num_envs, c.num_joints
        self.q = torch.zeros(n, j, device=self.device)
        self.qd = torch.zeros(n, j, device=self.device)
        self.t = torch.zeros(n, dtype=torch.long, device=self.device)
        self.cmd = torch.zeros(n, device=self.device)
        self.frames = torch.zeros(n, c.history, self.frame_dim, device=self.device)
        self.steps_taken = 0

    @property
    def step_dt(self) -> float:
        return self.cfg.dt

    @property
    def unwrapped(self) -> ToyAmpEnv:
        return self

    # --- reference -------------------------------------------------------------------------------------------
    def _build_reference(self) -> None:
        c = self.cfg
        frames = int(round(c.clip_seconds / c.dt))
        obs, mids, feats, states = [], [], [], []
        for m, (freq, amp) in enumerate(c.clips):
            q, qd = reference_trajectory(freq, amp, c.num_joints, frames, c.dt)
            states.append(torch.cat([q, qd], dim=1))
            f = toy_features(q, qd, c.speed_gain)
            feats.append(f)
            stacked = torch.cat([f[k : frames - c.history + 1 + k] for k in range(c.history)], dim=1)
            obs.append(stacked)
            mids.append(torch.full((stacked.shape[0],), m))
        self.reference_features = feats
        self.reference_states = torch.cat(states).to(self.device)  # (frames, 2 J): q, qd
        self.reference_obs = torch.cat(obs).to(self.device)
        self.reference_motion_id = torch.cat(mids).to(self.device)

    @property
    def reference_sampler(self):
        """The dataset sampler when ``amp.dataset`` is set (built on first use), else None."""
        if self.cfg.amp.dataset and self._reference_sampler is None:
            self._reference_sampler = ReferenceMotionSampler.from_npz(
                self.cfg.amp.dataset,
                obs_dim=self.amp_obs_dim,
                history=self.cfg.history,
                temperature=self.cfg.amp.sampler_temperature,
                min_motion_ids=self.cfg.amp.min_motion_ids,
                device=self.device,
                frame_rate=1.0 / self.step_dt,
            )
        return self._reference_sampler

    def collect_reference_motions(self, num_samples: int) -> torch.Tensor:
        if self.reference_sampler is not None:
            return self.reference_sampler.sample(num_samples)
        idx = torch.randint(
            0, self.reference_obs.shape[0], (num_samples,), device=self.device, generator=self.generator
        )
        return self.reference_obs[idx]

    def write_reference_npz(
        self, path: str | Path, segment_frames: int | None = None, scores: list[float] | None = None
    ) -> Path:
        """The reference clips as a dataset file (per-frame features, motion ids, segments, scores, column names)."""
        feats = torch.cat(self.reference_features).cpu().numpy()
        motion_id = np.concatenate([np.full(len(f), m) for m, f in enumerate(self.reference_features)])
        seg = np.concatenate([np.arange(len(f)) // (segment_frames or len(f)) for f in self.reference_features])
        num_segments = len(np.unique(np.stack([motion_id, seg], 1), axis=0))
        seg_scores = np.asarray(scores if scores is not None else np.zeros(num_segments), dtype=np.float64)
        save_npz_atomic(
            path,
            features=feats.astype(np.float32),
            motion_id=np.asarray([f"clip{m}" for m in motion_id]),
            segment_id=seg,
            segment_scores=seg_scores,
            column_names=np.asarray(toy_column_names(self.num_joints)),
            feature_version=np.asarray("toy-v1"),
            fps=np.asarray(1.0 / self.cfg.dt),
        )
        return Path(path)

    # --- dynamics --------------------------------------------------------------------------------------------
    def _observations(self) -> dict[str, torch.Tensor]:
        phase = 2.0 * math.pi * 1.5 * self.t.float() * self.cfg.dt
        obs = torch.cat(
            [
                self.q,
                0.1 * self.qd,
                torch.sin(phase).unsqueeze(1),
                torch.cos(phase).unsqueeze(1),
                self.cmd.unsqueeze(1),
            ],
            dim=1,
        )
        return {"policy": obs}

    def _amp_obs(self) -> torch.Tensor:
        return self.frames.reshape(self.num_envs, -1).clone()

    def _reset_envs(self, ids: torch.Tensor) -> None:
        k = ids.numel()
        if k == 0:
            return
        c = self.cfg
        self.q[ids] = 0.1 * (torch.rand(k, c.num_joints, device=self.device, generator=self.generator) - 0.5)
        self.qd[ids] = 0.0
        if c.reference_state_init > 0:
            on_ref = torch.rand(k, device=self.device, generator=self.generator) < c.reference_state_init
            pick = torch.randint(0, len(self.reference_states), (k,), device=self.device, generator=self.generator)
            start = self.reference_states[pick]
            self.q[ids] = torch.where(on_ref[:, None], start[:, : c.num_joints], self.q[ids])
            self.qd[ids] = torch.where(on_ref[:, None], start[:, c.num_joints :], self.qd[ids])
        self.t[ids] = 0
        lo, hi = c.command_range
        self.cmd[ids] = lo + (hi - lo) * torch.rand(k, device=self.device, generator=self.generator)
        f = toy_features(self.q[ids], self.qd[ids], c.speed_gain)
        self.frames[ids] = f.unsqueeze(1).expand(-1, c.history, -1)

    def reset(self, seed: int | None = None, options=None):
        if seed is not None:
            self.generator.manual_seed(int(seed))
        self._reset_envs(torch.arange(self.num_envs, device=self.device))
        return self._observations(), {"amp_obs": self._amp_obs()}

    def step(self, actions: torch.Tensor):
        c = self.cfg
        if c.sim_cost_ms > 0:
            time.sleep(c.sim_cost_ms / 1000.0)
        target = c.action_scale * actions.clamp(-3.0, 3.0)
        self.qd = self.qd + c.dt * (c.kp * (target - self.q) - c.kd * self.qd)
        self.q = self.q + c.dt * self.qd
        self.t += 1
        f = toy_features(self.q, self.qd, c.speed_gain)
        self.frames = torch.cat([self.frames[:, 1:], f.unsqueeze(1)], dim=1)
        speed = f[:, 2 * c.num_joints]
        # per-step reward in Isaac Lab's unit (its reward manager multiplies every term by step_dt)
        reward = (torch.exp(-((speed - self.cmd) ** 2) / 0.1) - 0.01 * (actions**2).sum(dim=1)) * c.dt
        terminated = (self.q.abs() > c.fall_limit).any(dim=1)
        truncated = (self.t >= c.episode_length) & ~terminated
        amp_obs = self._amp_obs()  # the transition's AMP observation, before any reset (Isaac Lab order)
        done = torch.nonzero(terminated | truncated).flatten()
        self._reset_envs(done)
        self.steps_taken += 1
        return self._observations(), reward, terminated, truncated, {"amp_obs": amp_obs}

    def close(self) -> None:
        pass

    # --- exact resume support (tests) ------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {k: getattr(self, k).clone() for k in ("q", "qd", "t", "cmd", "frames")} | {
            "generator": self.generator.get_state()
        }

    def load_state_dict(self, state: dict) -> None:
        for k in ("q", "qd", "t", "cmd", "frames"):
            setattr(self, k, state[k].clone())
        self.generator.set_state(state["generator"])


@dataclass
class ToyAmpAgentCfg(AmpAgentCfg):
    """The package's AMP agent config shrunk for seconds-long CPU runs (tests, CI, benchmarks)."""

    def __post_init__(self) -> None:
        self.models.policy.layers = [64, 64]
        self.models.value.layers = [64, 64]
        self.models.discriminator.layers = [128, 64]
        self.motion_dataset.memory_size = 2048
        self.reply_buffer.memory_size = 8192
        a = self.agent  # the package's PPO and AMP settings; shorter rollouts, smaller batches
        a.rollouts, a.amp_batch_size = 8, 256
        a.experiment.write_interval, a.experiment.checkpoint_interval = 0, 0
        self.amp.diagnostics.batch_size = 256


def tiny_agent_cfg(**agent_overrides) -> ToyAmpAgentCfg:
    """:class:`ToyAmpAgentCfg` with ``agent.*`` (skrl AMP) keys set, e.g. ``tiny_agent_cfg(learning_rate=1e-3)``."""
    cfg = ToyAmpAgentCfg()
    for key, value in agent_overrides.items():
        if not hasattr(cfg.agent, key):
            raise TypeError(f"AmpAlgorithmCfg has no field {key!r}")
        setattr(cfg.agent, key, value)
    return cfg
