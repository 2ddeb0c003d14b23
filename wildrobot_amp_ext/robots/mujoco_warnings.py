"""MuJoCo's warnings routed to Python logging: MuJoCo's default handler appends every warning to ``MUJOCO_LOG.TXT``
in the current folder, a file in the user's folder that no command asked for (an unstable rollout in the miner
writes one line per rollout). The RobotSpec loader and the model builder both install it before MuJoCo runs."""

from __future__ import annotations

import logging

#: MuJoCo warnings shown per process; the rest are counted (an unstable batch of rollouts repeats the same one)
MUJOCO_WARNINGS_SHOWN = 3
_log = logging.getLogger("wildrobot_amp_ext.mujoco")
_warning_count = 0


def _on_mujoco_warning(message: str) -> None:
    global _warning_count
    _warning_count += 1
    if _warning_count <= MUJOCO_WARNINGS_SHOWN:
        _log.warning("MuJoCo: %s", message)
    elif _warning_count == MUJOCO_WARNINGS_SHOWN + 1:
        _log.warning("MuJoCo: further warnings in this process are not shown")
    else:
        _log.debug("MuJoCo: %s", message)


def route_mujoco_warnings() -> None:
    """Send MuJoCo warnings to logging instead of MuJoCo's ``MUJOCO_LOG.TXT`` in the working folder (idempotent;
    a handler the caller installed is kept)."""
    import mujoco  # here, not at the top: importing the RobotSpec loader stays light (--help of the commands)

    if mujoco.get_mju_user_warning() is None:
        mujoco.set_mju_user_warning(_on_mujoco_warning)


def mujoco_warning_count() -> int:
    """MuJoCo warnings seen by this process since the handler was installed."""
    return _warning_count
