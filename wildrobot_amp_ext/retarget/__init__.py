"""Built-in retargeting (``wildrobot-retarget``): AMASS SMPL-X/SMPL-H, BVH or another robot's GMR pickle onto any
robot of the project.

Modules: ``mapping`` (the keypoint skeleton + per-robot ``retarget.yaml``), ``source_motion`` (the
keypoint-trajectory record every reader returns), ``robot_keypoints`` (a robot's keypoint sites and their batched FK),
``sources`` (robot-to-robot by batched FK, the dispatch over source kinds), ``bvh`` (reader + robot->BVH writer),
``smpl`` (AMASS through ``smplx``), ``collision`` (limb pairs: the IK's avoidance limit and the report's check),
``scale`` (per-chain scale, start alignment, stance and foot locks), ``solve`` (mink IK), ``postprocess`` (smoothing,
ground from the feet's collision geometry), ``quality`` (metrics, verdict, what the robot cannot carry), ``pipeline``
(one clip end to end, the GMR pickle writer), ``cli``.

API::

    Retargeter(robot, RetargetConfig()).run(source: SourceMotion) -> Result   # .solution, .report
    read_robot_source(path, source_robot) -> SourceMotion
    write_gmr_pickle(path, result)
"""

from wildrobot_amp_ext.retarget.pipeline import RetargetConfig, Retargeter, write_gmr_pickle
from wildrobot_amp_ext.retarget.source_motion import SourceMotion
from wildrobot_amp_ext.retarget.sources import read_robot_source

__all__ = ["RetargetConfig", "Retargeter", "SourceMotion", "read_robot_source", "write_gmr_pickle"]
