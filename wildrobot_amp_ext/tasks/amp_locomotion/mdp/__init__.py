"""MDP terms of the AMP locomotion tasks: Isaac Lab's stock terms plus ours."""

from isaaclab.envs.mdp import *  # noqa: F401, F403

from wildrobot_amp_ext.tasks.amp_locomotion.mdp.amp import *  # noqa: F401, F403
from wildrobot_amp_ext.tasks.amp_locomotion.mdp.events import *  # noqa: F401, F403
from wildrobot_amp_ext.tasks.amp_locomotion.mdp.observations import *  # noqa: F401, F403
from wildrobot_amp_ext.tasks.amp_locomotion.mdp.rewards import *  # noqa: F401, F403
