"""The built-in demo dataset: built from the synthetic gait, cached per feature version, and passes verify."""

from __future__ import annotations

import numpy as np
import pytest

from wildrobot_amp_ext.dataset.demo import demo_dataset_path, ensure_demo_dataset, resolve_dataset
from wildrobot_amp_ext.dataset.verify import verify_dataset
from wildrobot_amp_ext.features import STAGE0_TERMS, FeatureSpec
from wildrobot_amp_ext.robots import load_robot


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WILDROBOT_AMP_CACHE", str(tmp_path))
    return tmp_path


def test_demo_dataset_builds_once_and_verifies(cache):
    robot = load_robot("wildrobot")
    path = ensure_demo_dataset(robot)
    assert path == demo_dataset_path(robot, FeatureSpec()) and path.is_relative_to(cache)
    mtime = path.stat().st_mtime_ns
    assert ensure_demo_dataset("wildrobot") == path and path.stat().st_mtime_ns == mtime  # cached, not rebuilt
    report = verify_dataset(path, robot)
    assert report.ok, [c for c in report.checks if not c.ok]
    data = np.load(path)
    assert len(np.unique(data["motion_id"])) == 5
    # the synthetic walks move forward and alternate feet: some frames in single stance
    contacts = data["features"][:, FeatureSpec().layout(robot)["foot_contacts"]]
    left, right = contacts[:, :2].max(1), contacts[:, 2:].max(1)
    assert 0.1 < np.mean(left != right) < 0.9


def test_feature_spec_selects_a_different_cached_dataset(cache):
    robot = load_robot("wildrobot")
    stage0 = FeatureSpec(terms=STAGE0_TERMS)
    path = resolve_dataset("demo", robot, stage0)
    assert path != str(ensure_demo_dataset(robot))
    assert np.load(path)["features"].shape[1] == stage0.frame_dim(robot)
    assert resolve_dataset("my.npz", robot) == "my.npz" and resolve_dataset(None, robot) is None


@pytest.mark.parametrize("name", ["wildrobot", "unitree_g1_23dof"])
def test_synthetic_walk_feet_do_not_slide(name):
    """A foot that is on the floor at both ends of an interval has not moved: the gait is kinematically clean."""
    from wildrobot_amp_ext.motion.kinematics import ForwardKinematics
    from wildrobot_amp_ext.motion.synthetic import synthetic_walk

    robot = load_robot(name)
    clip = synthetic_walk(robot, 4.0, 50.0)
    points = ForwardKinematics(robot).site_positions(clip.root_pos, clip.root_quat, clip.joint_pos)
    feet = points.reshape(clip.num_frames, len(robot.feet), 2, 3)
    on_floor = feet[..., 2].min(axis=2) < 1e-6
    speed = np.linalg.norm(np.diff(feet[..., :2].mean(axis=2), axis=0), axis=-1) * clip.fps
    planted = on_floor[1:] & on_floor[:-1]
    assert planted.mean() > 0.3 and on_floor.all(axis=1).mean() < 0.5  # mostly one foot down: it walks
    assert speed[planted].max() < 1e-9
    assert np.diff(clip.root_pos[:, 0]).mean() * clip.fps > 0.1  # and it moves forward
