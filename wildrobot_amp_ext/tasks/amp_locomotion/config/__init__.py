"""Per-robot AMP task configurations; each subpackage registers its gymnasium ids."""

from wildrobot_amp_ext.tasks.amp_locomotion.config import unitree_g1_23dof, unitree_g1_29dof, wildrobot  # noqa: F401
