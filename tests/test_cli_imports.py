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


@pytest.mark.parametrize(
    "package", ["wildrobot_amp_ext.features", "wildrobot_amp_ext.motion", "wildrobot_amp_ext.miner"]
)
def test_lazy_package_faces_hand_on_every_name(package):
    """Each name a lazy face lists resolves to the object its module defines (a typo in the map fails here, not in
    a user's command), and a name it does not list is an AttributeError as on any module."""
    import importlib

    face = importlib.import_module(package)
    home = {name: module for module, names in face._EXPORTS.items() for name in names}
    assert sorted(home) == face.__all__
    for name in face.__all__:
        module = importlib.import_module(f"{package}.{home[name]}")
        assert getattr(face, name) is getattr(module, name), name
    assert set(face.__all__) <= set(dir(face))
    with pytest.raises(AttributeError):
        face.no_such_name  # noqa: B018
