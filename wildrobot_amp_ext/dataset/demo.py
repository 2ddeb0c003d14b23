"""A built-in reference dataset from the synthetic gait generator, so a task trains out of the box.

``env.amp.dataset = "demo"`` (the tasks' default) resolves here: the dataset is built once per robot and feature
version and cached under ``~/.cache/wildrobot_amp_ext/datasets/``. Replace it with your converted GMR motions
(``--dataset ref.npz``) for real style.
"""

from __future__ import annotations

import os
from pathlib import Path

from wildrobot_amp_ext.constants import CONTROL_HZ
from wildrobot_amp_ext.dataset.convert import build_dataset
from wildrobot_amp_ext.dataset.schema import save_dataset
from wildrobot_amp_ext.features import FeatureSpec
from wildrobot_amp_ext.motion.synthetic import GaitParams, synthetic_stand, synthetic_walk
from wildrobot_amp_ext.robots import RobotSpec, load_robot

DEMO_DATASET = "demo"
DEMO_VERSION = 2  # bump when the synthetic gait changes, so caches rebuild


def demo_clips(robot: RobotSpec, fps: float = CONTROL_HZ):
    return [
        synthetic_walk(robot, 6.0, fps, GaitParams(hip_amplitude=0.15, knee_lift=0.5), name="walk_slow"),
        synthetic_walk(robot, 6.0, fps, GaitParams(), name="walk_medium"),
        synthetic_walk(robot, 6.0, fps, GaitParams(period=0.7, hip_amplitude=0.32, knee_lift=0.8), name="walk_fast"),
        synthetic_walk(robot, 6.0, fps, GaitParams(), heading=0.6, name="walk_medium_turned"),
        synthetic_stand(robot, 4.0, fps, name="stand_sway"),
    ]


def demo_dataset_path(robot: RobotSpec, spec: FeatureSpec) -> Path:
    root = Path(os.environ.get("WILDROBOT_AMP_CACHE", "~/.cache/wildrobot_amp_ext")).expanduser()
    return root / "datasets" / f"demo{DEMO_VERSION}-{spec.version(robot)}.npz"


def ensure_demo_dataset(robot: RobotSpec | str, spec: FeatureSpec | None = None) -> Path:
    """Path of the demo dataset for ``robot`` and ``spec``, building it (about a second) when missing."""
    robot = load_robot(robot) if isinstance(robot, str) else robot
    spec = spec or FeatureSpec()
    path = demo_dataset_path(robot, spec)
    if not path.is_file():
        clips = demo_clips(robot)
        dataset = build_dataset(
            clips,
            robot,
            spec,
            target_fps=CONTROL_HZ,
            motion_names=[c.name for c in clips],
            meta={"source": "synthetic demo gait"},
        )
        save_dataset(path, dataset)
    return path


def resolve_dataset(dataset: str | None, robot: RobotSpec | str, spec: FeatureSpec | None = None) -> str | None:
    """``"demo"`` -> the cached demo dataset; anything else unchanged."""
    if dataset == DEMO_DATASET:
        return str(ensure_demo_dataset(robot, spec))
    return dataset
