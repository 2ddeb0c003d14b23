"""``python -m wildrobot_amp_ext.mine``: the same command as ``wildrobot-mine``."""

import sys

from wildrobot_amp_ext.mine import main

if __name__ == "__main__":
    sys.exit(main())
