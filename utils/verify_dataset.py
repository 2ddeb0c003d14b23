"""Same as `wildrobot-verify` (console script installed by setup.py)."""

from wildrobot_amp_ext.dataset.verify import main

raise SystemExit(main())
