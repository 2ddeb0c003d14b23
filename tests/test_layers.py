"""The layer contract (.importlinter, ARCHITECTURE.md "Layers"): ``lint-imports`` passes on the package, and it
fails, naming the import, on a copy of the package with one import pointing up a layer."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the package found first from ``cwd`` (it puts ``cwd`` first on the import path)."""
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    cmd = [str(LINT_IMPORTS), "--no-logo", "--no-cache", "--config", str(cwd / ".importlinter")]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_package_keeps_its_layer_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    """robots (low) importing viewing (high): the same config reports it, with the importing module and line."""
    shutil.copytree(ROOT / "wildrobot_amp_ext", tmp_path / "wildrobot_amp_ext", ignore=shutil.ignore_patterns("data"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    infer = tmp_path / "wildrobot_amp_ext" / "robots" / "infer.py"
    infer.write_text(infer.read_text() + "\n\ndef _viewer():\n    from wildrobot_amp_ext.viewing import viewer\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "wildrobot_amp_ext.robots is not allowed to import wildrobot_amp_ext.viewing" in result.stdout
    assert "wildrobot_amp_ext.robots.infer -> wildrobot_amp_ext.viewing.viewer" in result.stdout
