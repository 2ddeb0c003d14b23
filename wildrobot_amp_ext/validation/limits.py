"""Size and range limits every reader checks before it allocates or trusts a value.

One home for the numbers: a file that asks for more than these is refused with one line before anything is built,
so a 164-byte file cannot make the process allocate gigabytes and a typo in a frame rate cannot make a clip of a
billion frames.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    #: frame rates a motion capture, a retargeted clip or a simulator log can plausibly have, Hz
    fps_min: float = 1.0
    fps_max: float = 1000.0
    #: frames in one clip, as read or after resampling (~5.5 h at 100 fps)
    max_frames: int = 2_000_000
    #: frames in one dataset (all clips together)
    max_total_frames: int = 4_000_000
    #: bytes of one input file (pickle, npz, checkpoint)
    max_file_bytes: int = 2 << 30
    #: bytes of one decoded array (an npz member, a pickled array, a list turned into an array)
    max_array_bytes: int = 1 << 30
    #: elements reachable from a pickle's top object, shared references counted every time they are reached
    max_pickle_items: int = 50_000_000
    #: opcodes of one pickle, counted before it is loaded (~18 min of a 30-joint motion stored as lists of floats)
    max_pickle_ops: int = 1_000_000
    #: nesting depth of pickled containers
    max_pickle_depth: int = 64
    #: characters of one stored name or JSON header
    max_string_chars: int = 1 << 20
    #: |root position| in metres (a humanoid clip does not leave a 10 km box)
    max_position_m: float = 1e4
    #: |joint angle| in radians (continuous joints may wind up, not to 1e30)
    max_joint_rad: float = 1e3
    #: |velocity| in m/s or rad/s
    max_velocity: float = 1e4
    #: unit-quaternion tolerance: | |q| - 1 | above this is an error, below it the quaternion is renormalised
    unit_quat_tolerance: float = 1e-3
    #: physical gains / limits of a robot YAML
    max_gain: float = 1e7
    max_mass_kg: float = 1e4
    #: frames stacked into one AMP observation (Isaac Lab histories are a handful of frames)
    max_history: int = 64
    #: bytes one asset of a robot MJCF may declare (height field, texture, ``<size memory>``)
    max_model_bytes: int = 256 << 20


LIMITS = Limits()
