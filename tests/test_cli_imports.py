"""The data commands answer ``--help`` without importing torch, MuJoCo or matplotlib (issue 22: under 1 s): their
parsers are built from light modules, and the heavy machinery loads once the flags are parsed."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "mujoco", "matplotlib")
COMMANDS = {
    "wildrobot-convert": "wildrobot_amp_ext.dataset.convert",
    "wildrobot-verify": "wildrobot_amp_ext.dataset.verify",
    "wildrobot-mine": "wildrobot_amp_ext.mine",
}
PROBE = """
import sys
from {module} import main
try:
    main(["--help"])
except SystemExit:
    pass
print("LOADED", *[m for m in {heavy!r} if m in sys.modules])
"""


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_loads_no_heavy_package(command):
    code = PROBE.format(module=COMMANDS[command], heavy=HEAVY)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
    loaded = result.stdout.rsplit("LOADED", 1)[1].split()
    assert loaded == [], f"{command} --help imported {loaded}"
