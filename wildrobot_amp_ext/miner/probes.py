"""Reference motions built to pass or to fail the Tier 0+ gates, for tests and for a quick miner self-check.

``standing_sway`` is a slow knee-bend sway the robot can really track (both feet loaded and still). The others
corrupt it in the ways retargets go wrong: ``floating`` lifts the root (feet in the air), ``leaning`` tilts the whole
body about the pitch axis, ``gliding`` translates the root while the legs stand (the feet slide over the floor).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from wildrobot_amp_ext.constants import CONTROL_HZ
from wildrobot_amp_ext.motion import quat as Q
from wildrobot_amp_ext.motion.clip import MotionClip
from wildrobot_amp_ext.motion.synthetic import synthetic_stand
from wildrobot_amp_ext.robots import RobotSpec


def standing_sway(robot: RobotSpec, duration: float = 2.0, fps: float = CONTROL_HZ, squat: float = 0.1) -> MotionClip:
    return synthetic_stand(robot, duration, fps, squat=squat, name="standing_sway")


def floating(clip: MotionClip, height: float = 0.10) -> MotionClip:
    return dataclasses.replace(
        clip, name=f"{clip.name}_floating", root_pos=clip.root_pos + np.array([0.0, 0.0, height])
    )


def leaning(clip: MotionClip, pitch_deg: float = 45.0) -> MotionClip:
    tilt = Q.from_axis_angle(np.array([0.0, 1.0, 0.0]), np.array(np.radians(pitch_deg)))
    return dataclasses.replace(
        clip,
        name=f"{clip.name}_leaning",
        root_quat=Q.multiply(np.broadcast_to(tilt, clip.root_quat.shape), clip.root_quat),
    )


def gliding(clip: MotionClip, speed: float = 0.3) -> MotionClip:
    t = np.arange(clip.num_frames)[:, None] / clip.fps
    return dataclasses.replace(
        clip, name=f"{clip.name}_gliding", root_pos=clip.root_pos + t * np.array([speed, 0.0, 0.0])
    )
