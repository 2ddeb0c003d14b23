"""Play a trained AMP policy in a task of this package: ``wildrobot_amp_ext/eval/play.py`` (its docstring has the
usage). ``python play.py --task ... --checkpoint ...``; evaluation alone: ``wildrobot-evaluate`` (the same flags)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wildrobot_amp_ext.eval.play import evaluate_main, main  # noqa: E402, F401

if __name__ == "__main__":
    raise SystemExit(main())
