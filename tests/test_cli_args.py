"""The one command-line layer (``utils/cli.py``, issue 22): every entry point's parser is a :class:`CliParser`, flags
come from typed dataclasses, the old dash spellings parse to the same config as the snake ones, and a misspelt flag
is refused in one line naming the closest flag (exit 2)."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import re
import sys
from pathlib import Path
from typing import Literal

import pytest

from wildrobot_amp_ext.utils.cli import SPELLING_NOTE, CliParser, add_config, config_from_args, opt

ROOT = Path(__file__).resolve().parents[1]

#: entry point -> (module, parser factory); the console scripts of setup.py and the two top-level scripts
PARSERS = {
    "wildrobot-convert": ("wildrobot_amp_ext.dataset.convert", "build_parser"),
    "wildrobot-verify": ("wildrobot_amp_ext.dataset.verify", "build_parser"),
    "wildrobot-analyze": ("wildrobot_amp_ext.dataset.analyze", "build_parser"),
    "wildrobot-mine": ("wildrobot_amp_ext.mine", "build_parser"),
    "wildrobot-view": ("wildrobot_amp_ext.viewing.cli", "build_parser"),
    "wildrobot-export": ("wildrobot_amp_ext.deploy.export", "build_parser"),
    "wildrobot-evaluate": ("wildrobot_amp_ext.play", "build_parser"),
    "wildrobot-sim2sim": ("wildrobot_amp_ext.evaluation.robustness", "build_parser"),
    "wildrobot-retarget": ("wildrobot_amp_ext.retarget.cli", "build_parser"),
    "curves": ("wildrobot_amp_ext.evaluation.curves", "build_parser"),
    "goals": ("wildrobot_amp_ext.evaluation.goals", "build_parser"),
    "play.py": ("wildrobot_amp_ext.play", "build_parser"),
    "controls": ("wildrobot_amp_ext.dataset.controls", "build_parser"),
    "train_amp.py": (str(ROOT / "train_amp.py"), "build_parser"),
    "scripts/demo.py": (str(ROOT / "scripts" / "demo.py"), "build_parser"),
    "python -m wildrobot_amp_ext.robots": ("wildrobot_amp_ext.robots.__main__", "build_parser"),
}


def _module(name: str):
    module = PARSERS[name][0]
    if not module.endswith(".py"):
        return importlib.import_module(module)
    key = "_entry_" + Path(module).stem
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, module)
        sys.modules[key] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[key])
    return sys.modules[key]


def _parser(name: str) -> argparse.ArgumentParser:
    return getattr(_module(name), PARSERS[name][1])()


def test_every_console_script_is_covered():
    scripts = set(re.findall(r'"(wildrobot-[a-z0-9]+) = ', (ROOT / "setup.py").read_text()))
    assert len(scripts) >= 9 and scripts <= set(PARSERS)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_every_entry_point_parses_and_helps_through_the_shared_layer(name, capsys):
    parser = _parser(name)
    assert isinstance(parser, CliParser)
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and "usage:" in out and SPELLING_NOTE.split(";")[0] in out
    # help shows the snake spelling, not the automatic dash twins
    twins = {t for action in parser._actions for t in getattr(action, "_cli_twins", ())}
    multi_word = [s for s in parser.known_flags() if "_" in s[2:]]
    assert bool(twins) == bool(multi_word) and not [t for t in twins if f"{t} " in out or f"{t}," in out]


@dataclasses.dataclass
class _Cfg:
    name: str = opt(required=True, help="a required string")
    rate_hz: float = opt(50.0, help="a number", aliases=("--old-rate",))
    count: int = 3
    mode: Literal["a", "b"] = "a"
    scales: tuple[float, ...] = (1.0, 2.0)
    path: str | None = None
    quiet: bool = False
    mirror: bool = True


def _cfg_parser() -> CliParser:
    p = CliParser(prog="probe")
    add_config(p, _Cfg)
    return p


def test_dataclass_fields_become_flags_and_every_default_acts():
    cfg = config_from_args(_cfg_parser().parse_args(["--name", "x"]), _Cfg)
    assert cfg == _Cfg(name="x")
    cfg = config_from_args(
        _cfg_parser().parse_args(
            "--name y --rate_hz 25 --count 4 --mode b --scales 0.5 1.5 --path p --quiet --no_mirror".split()
        ),
        _Cfg,
    )
    assert cfg == _Cfg("y", 25.0, 4, "b", (0.5, 1.5), "p", True, False)


def test_dash_spelling_and_renamed_alias_parse_to_the_same_config():
    snake = config_from_args(_cfg_parser().parse_args("--name z --rate_hz 10 --no_mirror".split()), _Cfg)
    dash = config_from_args(_cfg_parser().parse_args("--name z --rate-hz 10 --no-mirror".split()), _Cfg)
    old = config_from_args(_cfg_parser().parse_args("--name z --old-rate 10 --no-mirror".split()), _Cfg)
    assert snake == dash == old and snake.rate_hz == 10.0 and snake.mirror is False
    # an abbreviation matching a flag and its own dash twin is not ambiguous
    assert _cfg_parser().parse_args("--name z --rate 7".split()).rate_hz == 7.0


def test_misspelt_flag_is_refused_naming_the_closest(capsys):
    with pytest.raises(SystemExit) as exit_info:
        _cfg_parser().parse_args("--name z --rate_hx 10".split())
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and len(err.splitlines()) == 1
    assert "--rate_hx" in err and "did you mean --rate_hz?" in err


def test_converter_old_and_new_spellings_give_the_same_settings():
    from wildrobot_amp_ext.dataset.convert import feature_spec_from_args

    common = ["--robot", "wildrobot", "--input", "m/", "--output", "o.npz"]
    old = _parser("wildrobot-convert").parse_args(
        common + "--target-fps 30 --lin-vel-mode clip --lin-vel-clip 2 --drop-contacts --no-quat-check".split()
    )
    new = _parser("wildrobot-convert").parse_args(
        common + "--target_fps 30 --lin_vel_mode clip --lin_vel_clip 2 --drop_contacts --no_quat_check".split()
    )
    assert vars(old) == vars(new) and new.target_fps == 30.0 and new.no_quat_check
    assert feature_spec_from_args(old) == feature_spec_from_args(new)


def test_miner_old_and_new_spellings_give_the_same_config():
    from wildrobot_amp_ext.mine import build_parser, config_from_args

    common = ["--robot", "wildrobot", "--input", "m/", "--output", "o.npz"]
    old = "--kp-scale 2 --time-warps 1 1.5 --no-mirror --min-load-support 0.4 --orient-assist --floor-friction 0.8"
    new = "--kp_scale 2 --time_warps 1 1.5 --no_mirror --min_load_support 0.4 --orient_assist --floor_friction 0.8"
    cfg_old = config_from_args(build_parser().parse_args(common + old.split()))
    cfg_new = config_from_args(build_parser().parse_args(common + new.split()))
    assert cfg_old == cfg_new
    assert cfg_new.tracking.kp_scale == 2.0 and cfg_new.generation.time_warps == (1.0, 1.5)
    assert cfg_new.generation.mirror is False and cfg_new.tracking.orient_assist is True
    assert cfg_new.gates.min_load_mean == 0.4 and cfg_new.tracking.floor_friction == 0.8


@pytest.mark.parametrize(
    ("name", "argv", "closest"),
    [
        (
            "wildrobot-convert",
            ["--robot", "r", "--input", "i", "--output", "o.npz", "--target_fsp", "30"],
            "--target_fps",
        ),
        ("wildrobot-verify", ["d.npz", "--expect_spek"], "--expect_spec"),
        ("wildrobot-mine", ["--robot", "r", "--input", "i", "--output", "o.npz", "--time-wraps", "1"], "--time_warps"),
        ("train_amp.py", ["--task", "Toy-AMP-v0", "--num_envz", "4"], "--num_envs"),
        ("play.py", ["--task", "Toy-AMP-v0", "--zero_policy", "--video_lenght", "4"], "--video_length"),
        ("wildrobot-export", ["--checkpoint", "a.pt", "--parity_tl", "1"], "--parity_tol"),
        ("python -m wildrobot_amp_ext.robots", ["wildrobot", "--export-mjfc", "out"], "--export_mjcf"),
    ],
)
def test_entry_point_refuses_a_misspelt_flag_naming_the_closest(name, argv, closest, capsys):
    main = _module(name).main
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and len(err.splitlines()) == 1
    assert f"did you mean {closest}?" in err


def test_train_and_play_old_and_new_spellings_parse_alike():
    train = _parser("train_amp.py")
    old = train.parse_known_args("--max-iterations 3 --video-length 5 --num_envs 2 env.x=1".split())
    new = train.parse_known_args("--max_iterations 3 --video_length 5 --num-envs 2 env.x=1".split())
    assert old == new and new[0].max_iterations == 3 and new[0].num_envs == 2 and new[1] == ["env.x=1"]
    play = _parser("play.py")
    common = ["--task", "T", "--checkpoint", "c.pt"]
    old = play.parse_args(common + "--eval-commands 0,0,0 --eval-envs-per-command 2 --record".split())
    new = play.parse_args(common + "--eval_commands 0,0,0 --eval_envs_per_command 2 --record".split())
    assert vars(old) == vars(new) and new.eval_envs_per_command == 2 and new.record == ""


def test_robots_old_and_new_spellings_parse_alike():
    robots = _parser("python -m wildrobot_amp_ext.robots")
    old, new = robots.parse_args(["g1", "--export-mjcf", "out"]), robots.parse_args(["g1", "--export_mjcf", "out"])
    assert vars(old) == vars(new) == {"robot": "g1", "export_mjcf": "out"}
    assert vars(robots.parse_args([])) == {"robot": None, "export_mjcf": None}


def test_physics_and_visualizer_flags_come_from_their_dataclasses():
    """``--physics`` / ``--visualizer`` (``--viz``) / ``--viz_port``: typed fields through ``add_config``, every
    spelling of before (and the dash twin) parsing to the same config, defaults and choices as declared."""
    from wildrobot_amp_ext.isaaclab.launch import VISUALIZERS, VisualizerArgs, add_visualizer_args
    from wildrobot_amp_ext.isaaclab.physics_select import PHYSICS_BACKENDS, PhysicsArgs, add_physics_args

    parser = CliParser(prog="p")
    add_physics_args(parser)
    add_visualizer_args(parser, default="newton")
    args = parser.parse_args([])
    assert config_from_args(args, PhysicsArgs) == PhysicsArgs(physics=None)
    assert config_from_args(args, VisualizerArgs) == VisualizerArgs(visualizer="newton", viz_port=None)
    for argv in (["--visualizer", "viser", "--viz_port", "5"], ["--viz", "viser", "--viz-port", "5"]):
        assert config_from_args(parser.parse_args(argv), VisualizerArgs) == VisualizerArgs("viser", 5)
    assert parser.parse_args(["--physics", "mujoco-cpu"]).physics == "mujoco-cpu"
    actions = {a.dest: a for a in parser._actions}
    assert tuple(actions["visualizer"].choices) == VISUALIZERS and tuple(actions["physics"].choices) == PHYSICS_BACKENDS
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["--physics", "physx"])
    assert exit_info.value.code == 2


def test_module_entry_names_itself_in_its_usage():
    """``python -m wildrobot_amp_ext.play --help`` says how it was called, not ``__main__.py``."""
    import subprocess

    out = subprocess.run(
        [sys.executable, "-m", "wildrobot_amp_ext.play", "--help"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and out.stdout.startswith("usage: python -m wildrobot_amp_ext.play ")
