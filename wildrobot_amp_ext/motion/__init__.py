"""Motion clips: I/O (GMR pickles through a restricted unpickler, npz), quaternions, resampling, kinematics.

Quick reference (details in each module's docstring)::

    from wildrobot_amp_ext.motion import load_motion, resample_clip, clip_states, ForwardKinematics
    clips = load_motion("walk.pkl", robot, source_robot="unitree_g1_29dof")  # list[MotionClip], RobotSpec order, wxyz
    clip50 = resample_clip(clips[0], 50.0)                                  # linear joints/root pos, slerp root quat
    states = clip_states(clip50, robot)                                     # ClipStates: velocities (FD) + contact FK
    feats = compute_amp_features(states.to_kinematic_state(), spec, torch.as_tensor(robot.default_joint_pos))
"""

from wildrobot_amp_ext.utils.lazy import lazy_exports

# the names load their module on first use (utils.lazy): clips, I/O and resampling import without MuJoCo or torch
_EXPORTS = {
    "clip": ("MotionClip",),
    "io": (
        "ReadOptions",
        "load_motion",
        "load_motions",
        "map_joints_to_robot",
        "motion_files",
        "read_motion_file",
        "save_motion_npz",
    ),
    "kinematics": ("ClipStates", "ForwardKinematics", "angular_velocity_world", "clip_states", "finite_difference"),
    "resample": ("resample_clip", "resample_times"),
    "safe_pickle": ("UnsafePickleError", "safe_load"),
    "state": ("KinematicState",),
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(name for names in _EXPORTS.values() for name in names)
