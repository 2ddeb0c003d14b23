"""Motion clips: I/O (GMR pickles through a restricted unpickler, npz), quaternions, resampling, kinematics.

Quick reference (details in each module's docstring)::

    from wildrobot_amp_ext.motion import load_motion, resample_clip, clip_states, ForwardKinematics
    clips = load_motion("walk.pkl", robot, source_robot="unitree_g1_29dof")  # list[MotionClip], RobotSpec order, wxyz
    clip50 = resample_clip(clips[0], 50.0)                                  # linear joints/root pos, slerp root quat
    states = clip_states(clip50, robot)                                     # ClipStates: velocities (FD) + contact FK
    feats = compute_amp_features(states.to_kinematic_state(), spec, torch.as_tensor(robot.default_joint_pos))
"""

from wildrobot_amp_ext.motion.clip import MotionClip
from wildrobot_amp_ext.motion.io import (
    ReadOptions,
    load_motion,
    load_motions,
    map_joints_to_robot,
    motion_files,
    read_motion_file,
    save_motion_npz,
)
from wildrobot_amp_ext.motion.kinematics import (
    ClipStates,
    ForwardKinematics,
    angular_velocity_world,
    clip_states,
    finite_difference,
)
from wildrobot_amp_ext.motion.resample import resample_clip, resample_times
from wildrobot_amp_ext.motion.safe_pickle import UnsafePickleError, safe_load
from wildrobot_amp_ext.motion.state import KinematicState

__all__ = [
    "ClipStates",
    "ForwardKinematics",
    "KinematicState",
    "MotionClip",
    "ReadOptions",
    "UnsafePickleError",
    "angular_velocity_world",
    "clip_states",
    "finite_difference",
    "load_motion",
    "load_motions",
    "map_joints_to_robot",
    "motion_files",
    "read_motion_file",
    "resample_clip",
    "resample_times",
    "safe_load",
    "save_motion_npz",
]
