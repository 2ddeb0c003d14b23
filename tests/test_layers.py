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


def import_circles(package: str) -> list[list[str]]:
    """Groups of the package's modules that import each other, directly or round a loop (strongly connected
    components of the import graph, function-level and TYPE_CHECKING imports included), read by grimp as
    ``lint-imports`` reads them."""
    import grimp

    graph = grimp.build_graph(package, cache_dir=None)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []
    for start in sorted(graph.modules):  # Tarjan, iterative (no recursion limit on a deep chain)
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    circles.append(sorted(group))
    return circles


def test_the_package_has_no_import_circles():
    """Issue 22: no two modules import each other (a shared piece lives in the module both import)."""
    assert import_circles("wildrobot_amp_ext") == []


def test_an_import_circle_is_found(tmp_path, monkeypatch):
    """The check sees a circle made by a function-level import (robots.mjcf -> robots.spec at the top, spec -> mjcf
    inside a function), in a copy of the package."""
    shutil.copytree(ROOT / "wildrobot_amp_ext", tmp_path / "wildrobot_amp_ext", ignore=shutil.ignore_patterns("data"))
    spec = tmp_path / "wildrobot_amp_ext" / "robots" / "spec.py"
    spec.write_text(
        spec.read_text() + "\n\ndef _model(robot):\n    from wildrobot_amp_ext.robots.mjcf import build_model\n"
    )
    mjcf = tmp_path / "wildrobot_amp_ext" / "robots" / "mjcf.py"
    mjcf.write_text(mjcf.read_text() + "\nfrom wildrobot_amp_ext.robots.spec import load_robot  # noqa: E402\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "wildrobot_amp_ext" or m.startswith("wildrobot_amp_ext.")]:
        monkeypatch.delitem(sys.modules, name)
    assert import_circles("wildrobot_amp_ext") == [["wildrobot_amp_ext.robots.mjcf", "wildrobot_amp_ext.robots.spec"]]
