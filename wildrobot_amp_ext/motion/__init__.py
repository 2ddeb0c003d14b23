"""Motion clips: I/O (GMR pickles through a restricted unpickler, npz), quaternions, resampling, kinematics."""

from wildrobot_amp_ext.motion.clip import MotionClip

__all__ = ["MotionClip"]
