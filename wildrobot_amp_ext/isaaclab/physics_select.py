"""Which physics steps the kit-less env: ``--physics`` on train_amp.py / play.py, ``env.physics_backend`` in the
config (one home: :attr:`AmpLocomotionEnvCfg.physics_backend`). Light on purpose (no Isaac Lab import), so a
script's ``--help`` stays fast; :mod:`wildrobot_amp_ext.isaaclab.mujoco_cpu` holds the backend itself.

* ``mujoco-warp``: Newton / MuJoCo-Warp (Isaac Lab's default; the GPU backend).
* ``mujoco-cpu``: MuJoCo C, one ``MjData`` per env world, stepped in parallel threads (CPU only).
* ``auto`` (the config's default): ``mujoco-cpu`` on a CPU device, ``mujoco-warp`` on CUDA. Resolved here, in
  :func:`apply_physics_backend`, before the env exists; the config then names the backend that runs (env.yaml).

Every entry point that builds an env through ``launch.load_env_cfg`` (train_amp.py, play.py / wildrobot-evaluate,
benchmarks, tests) gets the same default. :func:`prefer_passive_omp` sets ``OMP_WAIT_POLICY=PASSIVE`` for a run that
will step mujoco-cpu, when called before torch is imported.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from typing import Any

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.isaaclab.physics_backends import PHYSICS_AUTO, PHYSICS_BACKENDS
from wildrobot_amp_ext.utils import gpu
from wildrobot_amp_ext.utils.cli import add_config, opt

_announced: set[tuple[str, str, str]] = set()


def resolve_backend(requested: str | None, device: str) -> str:
    """The backend that runs: ``requested``, or for ``auto`` / None mujoco-cpu on a CPU device (MuJoCo-Warp's CPU
    kernels use one core: 6.9x / 7.8x fewer env-steps/s at 1024 envs, README) and mujoco-warp on CUDA."""
    if requested in (None, PHYSICS_AUTO):
        return "mujoco-cpu" if str(device).startswith("cpu") else "mujoco-warp"
    return requested


def _announce(backend: str, requested: str | None, device: str) -> None:
    """One line per process and choice: which physics steps the env, and why."""
    how = f"default on {device}" if requested in (None, PHYSICS_AUTO) else "chosen"
    key = (backend, how, device)
    if key in _announced:
        return
    _announced.add(key)
    other = "mujoco-warp" if backend == "mujoco-cpu" else "mujoco-cpu"
    print(f"[INFO] physics backend: {backend} ({how}; --physics {other} for the other)", flush=True)


@dataclasses.dataclass
class PhysicsArgs:
    """The physics flag of every command that builds an env (flags through :mod:`wildrobot_amp_ext.utils.cli`)."""

    physics: str | None = opt(
        None,
        choices=PHYSICS_BACKENDS,
        help="physics backend: mujoco-warp (Newton / MuJoCo-Warp, the GPU default) or mujoco-cpu (MuJoCo C, one "
        "MjData per env on every core; --device cpu only). Default: the task's env.physics_backend (auto: "
        "mujoco-cpu on --device cpu, mujoco-warp on CUDA)",
    )


def add_physics_args(parser: argparse.ArgumentParser) -> None:
    """``--physics`` (sets ``env.physics_backend``; :class:`PhysicsArgs`)."""
    add_config(parser, PhysicsArgs)


def requested_backend(args: argparse.Namespace, overrides: list[str] = ()) -> str | None:
    """The backend a command line asks for: ``--physics``, else the last ``env.physics_backend=`` override."""
    physics = getattr(args, "physics", None)
    if physics:
        return physics
    values = [o.split("=", 1)[1] for o in overrides if o.startswith("env.physics_backend=")]
    return values[-1] if values else None


def prefer_passive_omp(requested: str | None, device: str | None) -> bool:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` when the run will step mujoco-cpu (``requested`` explicitly, or ``auto`` on a
    CPU device: ``device`` cpu, or no ``device`` and no NVIDIA driver loaded), unless the user set it or torch is
    already imported (libgomp reads it once, when torch loads). Why: torch's OpenMP workers spin for a while after
    each parallel op and take the core a physics thread needs (README, CPU physics). True when it was set."""
    if "OMP_WAIT_POLICY" in os.environ or "torch" in sys.modules or requested == "mujoco-warp":
        return False
    if requested != "mujoco-cpu":
        if device is None:
            on_cpu = gpu.nvidia_driver_version() is None  # without a driver torch sees no GPU: the run is on the CPU
        else:
            on_cpu = str(device).startswith("cpu")
        if not on_cpu:
            return False
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return True


def physics_overrides(args: argparse.Namespace) -> list[str]:
    """The ``env.*`` override ``--physics`` stands for (none when the flag is not given)."""
    physics = getattr(args, "physics", None)
    return [f"env.physics_backend={physics}"] if physics else []


def apply_physics_backend(cfg: Any) -> None:
    """Put the backend named by ``cfg.physics_backend`` (and ``cfg.physics_threads``) into ``cfg.sim.physics``.

    Runs after the ``env.*`` overrides (``launch.load_env_cfg``), so ``env.physics_backend=mujoco-cpu`` and
    ``--physics mujoco-cpu`` act the same. A config without the field is left alone."""
    if not hasattr(cfg, "physics_backend"):
        return
    requested = cfg.physics_backend
    if requested not in (*PHYSICS_BACKENDS, PHYSICS_AUTO, None):
        raise InputError(
            None,
            "physics_backend",
            f"unknown physics backend '{requested}'",
            f"use one of {', '.join(PHYSICS_BACKENDS)} (or {PHYSICS_AUTO}: mujoco-cpu on CPU, mujoco-warp on CUDA)",
        )
    device = str(cfg.sim.device)
    backend = resolve_backend(requested, device)
    if backend == "mujoco-cpu" and not device.startswith("cpu"):
        raise InputError(
            None,
            "--physics",
            f"mujoco-cpu is CPU physics and the device is {device}",
            "use --device cpu, or --physics mujoco-warp on CUDA",
        )
    threads = int(getattr(cfg, "physics_threads", 0) or 0)
    if threads < 0:
        raise InputError(None, "physics_threads", f"{threads} is negative", "0 (every core) or a positive count")
    # here, not at the top: mujoco_cpu loads Isaac Lab and Newton; --physics is in --help, which must stay fast
    from wildrobot_amp_ext.isaaclab.mujoco_cpu import backend_of, physics_cfg

    if backend_of(cfg.sim.physics) != backend:
        cfg.sim.physics = physics_cfg(backend, cfg.sim.physics)
    if backend == "mujoco-cpu":
        cfg.sim.physics.solver_cfg.num_threads = threads
    cfg.physics_backend = backend  # what runs, in the saved env.yaml
    _announce(backend, requested, device)
