"""Verify an AMP reference dataset: joint order, shapes, NaN/Inf, feature version, FK, finite differences and
features recomputed from the stored raw states. Thin wrapper over :mod:`wildrobot_amp_ext.dataset.verify`.

    python utils/verify_dataset.py ref.npz [--robot unitree_g1_23dof]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wildrobot_amp_ext.dataset.verify import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
