"""Which physics steps the kit-less env: ``--physics`` on train_amp.py / play.py, ``env.physics_backend`` in the
config (one home: :attr:`AmpLocomotionEnvCfg.physics_backend`). Light on purpose (no Isaac Lab import), so a
script's ``--help`` stays fast; :mod:`wildrobot_amp_ext.isaaclab.mujoco_cpu` holds the backend itself.

* ``mujoco-warp``: Newton / MuJoCo-Warp (Isaac Lab's default; the GPU backend).
* ``mujoco-cpu``: MuJoCo C, one ``MjData`` per env world, stepped in parallel threads (CPU only).
"""

from __future__ import annotations

import argparse
from typing import Any

#: ``--physics`` / ``env.physics_backend`` values
PHYSICS_BACKENDS = ("mujoco-warp", "mujoco-cpu")


def add_physics_args(parser: argparse.ArgumentParser) -> None:
    """``--physics`` (sets ``env.physics_backend``)."""
    parser.add_argument(
        "--physics",
        choices=PHYSICS_BACKENDS,
        default=None,
        help="physics backend: mujoco-warp (Newton / MuJoCo-Warp, the GPU default) or mujoco-cpu (MuJoCo C, one "
        "MjData per env on every core; --device cpu only). Default: the task's env.physics_backend",
    )


def physics_overrides(args: argparse.Namespace) -> list[str]:
    """The ``env.*`` override ``--physics`` stands for (none when the flag is not given)."""
    physics = getattr(args, "physics", None)
    return [f"env.physics_backend={physics}"] if physics else []


def apply_physics_backend(cfg: Any) -> None:
    """Put the backend named by ``cfg.physics_backend`` (and ``cfg.physics_threads``) into ``cfg.sim.physics``.

    Runs after the ``env.*`` overrides (``launch.load_env_cfg``), so ``env.physics_backend=mujoco-cpu`` and
    ``--physics mujoco-cpu`` act the same. A config without the field is left alone."""
    from wildrobot_amp_ext.errors import InputError

    backend = getattr(cfg, "physics_backend", None)
    if backend is None:
        return
    if backend not in PHYSICS_BACKENDS:
        raise InputError(
            None, "physics_backend", f"unknown physics backend '{backend}'", f"use one of {', '.join(PHYSICS_BACKENDS)}"
        )
    device = str(cfg.sim.device)
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
    from wildrobot_amp_ext.isaaclab.mujoco_cpu import backend_of, physics_cfg

    if backend_of(cfg.sim.physics) != backend:
        cfg.sim.physics = physics_cfg(backend, cfg.sim.physics)
    if backend == "mujoco-cpu":
        cfg.sim.physics.solver_cfg.num_threads = threads
