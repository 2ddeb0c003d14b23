"""Same as `wildrobot-analyze` (console script installed by setup.py)."""

from wildrobot_amp_ext.dataset.analyze import main

raise SystemExit(main())
