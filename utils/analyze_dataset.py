"""Analyse an AMP reference dataset: speed statistics, moving vs stationary frames, contact pattern, a PNG and a
short MuJoCo video of one clip. Thin wrapper over :mod:`wildrobot_amp_ext.dataset.analyze`.

    python utils/analyze_dataset.py ref.npz --out analysis/ [--robot unitree_g1_23dof] [--clip 0] [--no-video]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wildrobot_amp_ext.dataset.analyze import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
