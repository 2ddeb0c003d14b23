#!/usr/bin/env bash
# Set up (if needed) and run the test suite. `scripts/test.sh --all` also runs the tests marked slow.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export WARP_CACHE_PATH="${WARP_CACHE_PATH:-$HOME/.cache/wildrobot_amp_ext/warp}"
MARK=(-m "not slow")
if [ "${1:-}" = "--all" ]; then MARK=(); shift; fi
# style is part of the tests: ruff format + lint (ruff.toml: line length 120)
.venv/bin/ruff format --check --quiet . || { echo "ruff format: run .venv/bin/ruff format ." >&2; exit 1; }
.venv/bin/ruff check --quiet .
exec .venv/bin/python -m pytest "${MARK[@]}" "$@"
