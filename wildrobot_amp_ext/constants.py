"""Settings that more than one layer reads, one home each: import the name, never retype the number.

The control rate is the rate of everything that meets the policy: the env step (``sim.dt * decimation``), the
converter's and the miner's output frames, the demo clips, and the default of a file that does not say its rate.
A dataset at another rate is refused by the env (``agents.reference.check_dataset_frame_rate``), so the numbers
below are one decision, not independent knobs.
"""

from __future__ import annotations

#: policy / reference-motion rate (Hz)
CONTROL_HZ = 50.0
#: Isaac Lab physics step (s) of the AMP locomotion tasks
PHYSICS_DT = 0.005
#: physics steps per control step (4 at 50 Hz with 5 ms physics)
DECIMATION = round(1.0 / (CONTROL_HZ * PHYSICS_DT))
#: standard gravity (m/s^2) for the miner's force scales (mg) and Froude-number speed scale
GRAVITY = 9.81
#: env steps a headless play runs without --steps or --video_length (play's flag help and viewing.playback)
DEFAULT_HEADLESS_STEPS = 500
