"""The env a run was trained with, rebuilt for play / evaluation from the run's saved config.

``train_amp.py`` writes ``<run>/params/args.yaml`` with the ``env.*`` overrides it applied to the registered task
(the reference dataset among them: ``env.amp.dataset=<path>``, whose header carries the FeatureSpec), and
``params/env.yaml`` with the resolved config for reading. Rebuilding = the same registered task + the same overrides,
the way Isaac Lab rebuilds a config (task entry point + Hydra overrides); the user's own overrides come last and win.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from wildrobot_amp_ext.deploy.checkpoint import _read_yaml, run_dir_of
from wildrobot_amp_ext.errors import InputError

#: settings play.py / evaluation choose themselves (how many envs to show or evaluate, the seed)
PLAY_DECIDES = ("env.scene.num_envs", "env.seed")


@dataclass
class RunEnvConfig:
    #: the run's params/args.yaml (None: the checkpoint is not inside a train_amp.py run folder)
    source: Path | None = None
    task: str | None = None
    overrides: list[str] = field(default_factory=list)
    #: notes for the user (a dataset that is gone, ...)
    notes: list[str] = field(default_factory=list)


def override_key(text: str) -> str:
    return text.split("=", 1)[0].lstrip("+~")


def merge_overrides(first: list[str], then: list[str]) -> list[str]:
    """``first`` then ``then``, one entry per key (the later wins): Hydra refuses a key given twice."""
    merged: dict[str, str] = {}
    for text in [*first, *then]:
        merged.pop(override_key(text), None)
        merged[override_key(text)] = text
    return list(merged.values())


def read_run_env(checkpoint: str | Path) -> RunEnvConfig:
    """The ``env.*`` overrides a checkpoint's run was trained with (empty outside a run folder)."""
    import yaml

    path = run_dir_of(Path(checkpoint)) / "params" / "args.yaml"
    if not path.is_file():
        return RunEnvConfig()
    fix = "restore the run's params/args.yaml (written by train_amp.py) or move the checkpoint out of the run folder"
    try:
        data = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise InputError(path, None, f"not readable YAML ({type(err).__name__})", fix) from None
    if not isinstance(data, dict):
        raise InputError(path, None, "not a YAML mapping", fix)
    overrides = data.get("overrides") or []
    if not isinstance(overrides, list) or not all(isinstance(o, str) and "=" in o for o in overrides):
        raise InputError(path, "overrides", "must be a list of 'key=value' strings", fix)
    task = data.get("task")
    out = RunEnvConfig(source=path, task=task if isinstance(task, str) else None)
    for text in overrides:
        key, value = text.split("=", 1)
        if not key.startswith("env.") or key in PLAY_DECIDES:
            continue
        if key == "env.amp.dataset" and value and not Path(value).is_file():
            out.notes.append(f"the run's dataset {value} is gone: the task's default is used (pass --dataset)")
            continue
        out.overrides.append(text)
    # a run from before env.actuator_model (its env.yaml lacks the key) trained on the solver's implicit PD, while the
    # default now follows the robot YAML (G1: the explicit model): rebuild it as trained
    if not any(override_key(o) == "env.actuator_model" for o in out.overrides):
        saved = _read_yaml(path.parent / "env.yaml")
        if saved is not None and "actuator_model" not in saved:
            out.overrides.append("env.actuator_model=false")
    return out
