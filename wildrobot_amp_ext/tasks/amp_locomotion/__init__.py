"""AMP velocity-tracking locomotion tasks (Isaac Lab manager-based, skrl AMP).

Registered ids: ``WildRobot-AMP-Flat-v0``, ``G1-23dof-AMP-Flat-v0``, ``G1-29dof-AMP-Flat-v0`` and their
``-Play-v0`` variants (fewer envs, no noise, no pushes).
"""

from wildrobot_amp_ext.tasks.amp_locomotion import config  # noqa: F401  (registers the tasks)
