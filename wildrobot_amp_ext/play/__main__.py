"""``python -m wildrobot_amp_ext.play``: the same command as ``python play.py``."""

from wildrobot_amp_ext.play import main

if __name__ == "__main__":
    raise SystemExit(main())
