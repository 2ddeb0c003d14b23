"""Play a trained AMP policy in a task of this package: ``wildrobot_amp_ext/play/`` (its docstring has the usage;
it dispatches to deploy/, evaluation/ and viewing/). ``python play.py --task ... --checkpoint ...``; evaluation
alone: ``wildrobot-evaluate`` (the same flags)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wildrobot_amp_ext.play import evaluate_main, main  # noqa: E402, F401

if __name__ == "__main__":
    raise SystemExit(main())
