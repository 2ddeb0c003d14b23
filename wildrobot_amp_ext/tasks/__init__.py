"""Gymnasium-registered Isaac Lab tasks of this package (importing this module registers them)."""

from wildrobot_amp_ext.tasks import amp_locomotion  # noqa: F401
