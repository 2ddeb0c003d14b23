"""Convert GMR motion pickles into an AMP reference dataset (.npz). Thin wrapper over
:mod:`wildrobot_amp_ext.dataset.convert`; ``--help`` lists every option.

    python convert_dataset/convert_dataset.py --robot unitree_g1_23dof --source-robot unitree_g1_29dof \\
        --input motions/ --output g1_reference.npz --target-fps 50
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wildrobot_amp_ext.dataset.convert import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
