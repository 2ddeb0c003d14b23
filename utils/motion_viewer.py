"""Same as `wildrobot-view` (console script installed by setup.py)."""

from wildrobot_amp_ext.eval.viewer import main

raise SystemExit(main())
