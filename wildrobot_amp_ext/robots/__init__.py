"""Robot descriptions: one MJCF + one robot.yaml per robot, loaded by :func:`load_robot`."""

from wildrobot_amp_ext.robots.spec import FootSpec, RobotSpec, list_robots, load_robot

__all__ = ["FootSpec", "RobotSpec", "list_robots", "load_robot"]
