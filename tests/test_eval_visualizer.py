"""--visualizer: each name resolves to Isaac Lab 3.0's own visualizer config and launcher argument; a visualizer
whose runtime is missing (Isaac Sim for ``kit``) is refused in one line naming what to install, before any env."""

from __future__ import annotations

import importlib.util
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.isaaclab import launch

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(importlib.util.find_spec("isaaclab_visualizers") is None, reason="needs Isaac Lab")


def stub_cfg():
    return SimpleNamespace(sim=SimpleNamespace(visualizer_cfgs=[]))


@pytest.mark.parametrize(
    ("name", "cfg_class", "launcher"),
    [
        ("newton", "NewtonGLVisualizerCfg", "newton_gl"),
        ("newton_gl", "NewtonGLVisualizerCfg", "newton_gl"),
        ("kit", "KitVisualizerCfg", "kit"),
        ("viser", "ViserVisualizerCfg", "viser"),
        ("rerun", "RerunVisualizerCfg", "rerun"),
    ],
)
def test_resolved_config_is_isaac_labs_own(name, cfg_class, launcher, monkeypatch):
    monkeypatch.setattr(launch, "check_visualizer_installed", lambda name: None)  # the config, not the runtime
    env_cfg, launcher_args = stub_cfg(), {}
    cfg = launch.apply_visualizer(env_cfg, launcher_args, name, port=8123, eye=(1, 2, 3), lookat=(0, 0, 0.5))
    assert type(cfg).__name__ == cfg_class and type(cfg).__module__.startswith("isaaclab_visualizers.")
    assert cfg.visualizer_type == launcher  # what Isaac Lab's launcher matches --visualizer against
    assert env_cfg.sim.visualizer_cfgs == [cfg] and launcher_args["visualizer"] == [launcher]
    assert tuple(cfg.eye) == (1, 2, 3)
    if name in ("viser", "rerun"):  # a playback server binds to localhost unless the user asks otherwise
        assert cfg.bind_address == "127.0.0.1"
        url = launch.visualizer_url(cfg)
        if name == "viser":
            assert url.endswith(":8123")
        else:  # rerun's page is told where its gRPC data server is, else it opens empty
            assert url == "http://127.0.0.1:8123/?url=rerun%2Bhttp%3A%2F%2F127.0.0.1%3A9876%2Fproxy"


def test_none_clears_the_visualizers():
    env_cfg, launcher_args = stub_cfg(), {}
    env_cfg.sim.visualizer_cfgs = ["something"]
    assert launch.apply_visualizer(env_cfg, launcher_args, "none") is None
    assert env_cfg.sim.visualizer_cfgs == [] and launcher_args["visualizer"] == []


@pytest.mark.skipif(importlib.util.find_spec("isaacsim") is not None, reason="Isaac Sim is installed here")
def test_kit_without_isaac_sim_is_refused_in_one_line(capsys):
    with pytest.raises(InputError, match="Isaac Sim GUI.*isaacsim") as err:
        launch.apply_visualizer(stub_cfg(), {}, "kit")
    assert "isaaclab[isaacsim]" in str(err.value)
    # as a user runs it: one line, exit 2, before any env is built
    play = runpy.run_path(str(ROOT / "play.py"))
    with pytest.raises(SystemExit) as stop:
        play["main"](["--task", "WildRobot-AMP-Flat-Play-v0", "--zero_policy", "--visualizer", "kit"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert stop.value.code == 2 and len(lines) == 1 and "isaacsim" in lines[0], lines


def test_missing_browser_runtime_names_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "rerun" else real(name, *a))
    with pytest.raises(InputError, match=r"rerun.*\.\[rerun\]"):
        launch.check_visualizer_installed("rerun")
