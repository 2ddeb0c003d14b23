#!/usr/bin/env bash
# One-shot, idempotent set-up: a Python 3.12 virtual environment in .venv with Isaac Lab 3.0 (kit-less),
# skrl 2.1.1, MuJoCo and this package (editable). Re-running is a no-op unless setup.py changed.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  for c in "${PYTHON:-}" python3.12 "$HOME"/.pyenv/versions/3.12*/bin/python3.12 /usr/bin/python3.12 /usr/local/bin/python3.12; do
    [ -n "$c" ] || continue
    if "$c" -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1; then echo "$c"; return 0; fi
  done
  echo "error: Python 3.12 not found (fix: install python3.12 or set PYTHON=/path/to/python3.12)" >&2
  return 2
}

# Headless Chromium (Debian's package) for the browser-viewer test: installed quietly when missing and apt is
# usable (root); when it cannot be installed the set-up goes on and that test skips, saying why.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } \
    >/dev/null 2>&1 || echo "[setup] chromium not installed (apt-get failed): the browser-viewer test will skip" >&2
fi

STAMP_SRC="$(cat setup.py scripts/setup.sh | sha256sum | cut -c1-16)"
if [ -x .venv/bin/python ] && [ "$(cat .venv/.wildrobot_stamp 2>/dev/null)" = "$STAMP_SRC" ]; then
  exit 0
fi

PY="$(find_python)"
echo "[setup] creating .venv with $PY (Isaac Lab 3.0 + its torch: first install takes ~5 min, ~8 GB)" >&2
[ -x .venv/bin/python ] || "$PY" -m venv .venv
export PIP_DISABLE_PIP_VERSION_CHECK=1
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q --progress-bar off -e ".[dev]"
# G1 MJCF + meshes ship in the mjlab wheel (Apache-2.0). Its runtime deps pin an older mujoco, and we only
# read its asset files, so install it without dependencies.
.venv/bin/python -m pip install -q --no-deps mjlab==1.6.0
echo "$STAMP_SRC" > .venv/.wildrobot_stamp
echo "[setup] done: $(.venv/bin/python -c 'import isaaclab, skrl, mujoco; print("isaaclab", isaaclab.__version__ if hasattr(isaaclab, "__version__") else "3.0", "skrl", skrl.__version__, "mujoco", mujoco.__version__)')" >&2
