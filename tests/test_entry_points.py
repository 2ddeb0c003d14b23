"""Console scripts: every one declared in setup.py is installed, loads its package ``main`` and answers --help; the
top-level wrapper scripts call the same mains."""

from __future__ import annotations

import ast
import importlib
from importlib.metadata import entry_points
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WRAPPERS = {
    "convert_dataset/convert_dataset.py": "wildrobot-convert",
    "utils/verify_dataset.py": "wildrobot-verify",
    "utils/analyze_dataset.py": "wildrobot-analyze",
    "utils/motion_viewer.py": "wildrobot-view",
}


def declared_scripts() -> dict[str, str]:
    """name -> "module:function" from setup.py's CONSOLE_SCRIPTS (read, not executed)."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    node = next(n for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "CONSOLE_SCRIPTS")
    return dict(tuple(part.strip() for part in s.split("=")) for s in ast.literal_eval(node.value))


SCRIPTS = declared_scripts()


def test_declared_scripts_cover_the_data_commands_and_are_installed():
    assert set(SCRIPTS) == {
        "wildrobot-convert",
        "wildrobot-verify",
        "wildrobot-analyze",
        "wildrobot-mine",
        "wildrobot-view",
        "wildrobot-export",
        "wildrobot-evaluate",
        "wildrobot-sim2sim",
        "wildrobot-retarget",
    }
    installed = {ep.name: ep.value for ep in entry_points(group="console_scripts") if ep.name.startswith("wildrobot-")}
    assert installed == SCRIPTS, "reinstall the package: pip install -e ."


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_script_main_answers_help(name, capsys):
    module, func = SCRIPTS[name].split(":")
    main = getattr(importlib.import_module(module), func)
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0 and "usage:" in capsys.readouterr().out


@pytest.mark.parametrize("path", sorted(WRAPPERS))
def test_wrapper_calls_the_scripts_main(path):
    module = SCRIPTS[WRAPPERS[path]].split(":")[0]
    code = [line for line in (ROOT / path).read_text().splitlines()[1:] if line.strip()]
    assert code == [f"from {module} import main", "raise SystemExit(main())"]
