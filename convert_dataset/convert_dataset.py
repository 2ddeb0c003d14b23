"""Same as `wildrobot-convert` (console script installed by setup.py)."""

from wildrobot_amp_ext.dataset.convert import main

raise SystemExit(main())
