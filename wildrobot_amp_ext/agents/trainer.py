"""skrl's sequential trainer loop, able to start at a timestep other than 0 (resumed runs keep counting)."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from skrl import config
from skrl.trainers.torch import SequentialTrainer
from skrl.utils import ScopedTimer

from wildrobot_amp_ext.utils.progress import progress


class ResumableSequentialTrainer(SequentialTrainer):
    """Single-agent :class:`SequentialTrainer` whose ``train()`` runs timesteps ``start_timestep .. timesteps-1``.

    Timesteps are skrl's: one vectorised env step. ``on_step`` (optional) is called after every step with the
    timestep just finished; ``stop_when`` (optional) ends training early after a step for which it returns True
    (e.g. a wall-clock budget checked on update boundaries)."""

    def __init__(
        self,
        *args,
        start_timestep: int = 0,
        on_step: Callable[[int], None] | None = None,
        stop_when: Callable[[int], bool] | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.start_timestep = start_timestep
        self.on_step = on_step
        self.stop_when = stop_when
        self.env_steps_per_second: float | None = None
        self.timesteps_done = 0

    def train(self) -> None:
        agent = self.agents
        assert self.num_simultaneous_agents == 1, "one agent per trainer"
        agent.enable_training_mode(True)
        observations, infos = self.env.reset()
        states = self.env.state()
        timesteps = self.cfg.timesteps
        # None lets progress() follow WILDROBOT_NO_PROGRESS
        disable = (
            True if self.cfg.disable_progressbar or (config.torch.is_distributed and config.torch.rank > 0) else None
        )
        started = time.perf_counter()
        for timestep in progress(
            range(self.start_timestep, timesteps),
            desc="train",
            total=max(0, timesteps - self.start_timestep),
            unit="step",
            disable=disable,
        ):
            agent.pre_interaction(timestep=timestep, timesteps=timesteps)
            with torch.no_grad():
                with ScopedTimer() as timer:
                    actions, _ = agent.act(observations, states, timestep=timestep, timesteps=timesteps)
                    agent.track_data("Stats / Inference time (ms)", timer.elapsed_time_ms)
                with ScopedTimer() as timer:
                    next_observations, rewards, terminated, truncated, infos = self.env.step(actions)
                    next_states = self.env.state()
                    agent.track_data("Stats / Env stepping time (ms)", timer.elapsed_time_ms)
                if not self.cfg.headless and not timestep % self.cfg.render_interval:
                    self.env.render()
                agent.record_transition(
                    observations=observations,
                    states=states,
                    actions=actions,
                    rewards=rewards,
                    next_observations=next_observations,
                    next_states=next_states,
                    terminated=terminated,
                    truncated=truncated,
                    infos=infos,
                    timestep=timestep,
                    timesteps=timesteps,
                )
                if self.cfg.environment_info in infos:
                    track_env_log(agent, infos[self.cfg.environment_info])
            agent.post_interaction(timestep=timestep, timesteps=timesteps)
            observations, states = next_observations, next_states
            if self.on_step is not None:
                self.on_step(timestep)
            if self.stop_when is not None and self.stop_when(timestep):
                timesteps = timestep + 1
                break
        elapsed = time.perf_counter() - started
        done = max(0, timesteps - self.start_timestep)
        self.timesteps_done = done
        self.env_steps_per_second = done * self.env.num_envs / elapsed if elapsed > 0 and done else None


def track_env_log(agent, log: dict) -> None:
    """Isaac Lab's scalar log tensors (reward terms, terminations, ...: about 18 every step at scale) to the agent's
    tracking in ONE device-to-host transfer, not one ``.item()`` sync each; none where nothing is written (ranks
    above 0, ``write_interval`` 0)."""
    interval = getattr(agent, "write_interval", 0)
    if isinstance(interval, int) and interval <= 0:
        return
    items = [(k, v) for k, v in log.items() if isinstance(v, torch.Tensor) and v.numel() == 1]
    if not items:
        return
    device = items[0][1].device
    values = torch.stack([v.detach().reshape(()).to(device, torch.float64) for _, v in items]).tolist()
    for (k, _), value in zip(items, values):
        agent.track_data(k if "/" in k else f"Info / {k}", value)
