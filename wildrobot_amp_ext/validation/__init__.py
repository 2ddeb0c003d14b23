"""The validation layer: every file the project reads passes through these checks before it is trusted.

- :mod:`.limits` the size and range limits (one home for the numbers)
- :mod:`.values` strict scalars and arrays (a bool or a string is not an fps; complex is not a position)
- :mod:`.npz` a checked ``.npz`` reader (headers checked before data is read)
- :mod:`.paths` output paths checked before any work; names from files kept inside their folder

Format-specific readers build on these: GMR pickles (``motion.safe_pickle`` + ``motion.io``), reference datasets
(``dataset.schema``), robot YAML/MJCF (``robots.spec``), checkpoints (``utils.checkpoint``).
"""

from wildrobot_amp_ext.validation.limits import LIMITS, Limits
from wildrobot_amp_ext.validation.npz import NpzFile
from wildrobot_amp_ext.validation.paths import check_link_loop, check_output_dir, check_outputs, safe_component

__all__ = ["LIMITS", "Limits", "NpzFile", "check_link_loop", "check_outputs", "check_output_dir", "safe_component"]
