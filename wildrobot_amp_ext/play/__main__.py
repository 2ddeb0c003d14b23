"""``python -m wildrobot_amp_ext.play``: the same command as ``python play.py``."""

import sys

from wildrobot_amp_ext.play import main

if __name__ == "__main__":
    sys.argv[0] = "python -m wildrobot_amp_ext.play"  # argparse's usage line names argv[0] (else "__main__.py")
    raise SystemExit(main())
