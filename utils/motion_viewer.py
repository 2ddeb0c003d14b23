"""Same as `wildrobot-view` (console script installed by setup.py)."""

from wildrobot_amp_ext.viewing.cli import main

raise SystemExit(main())
