"""Gymnasium-registered tasks of this package (importing this module registers them): the Isaac Lab AMP
locomotion tasks and the torch toy task."""

from wildrobot_amp_ext.tasks import amp_locomotion, toy  # noqa: F401
