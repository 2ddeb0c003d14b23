"""Inspect / validate robot descriptions.

python -m wildrobot_amp_ext.robots                      # list robots
python -m wildrobot_amp_ext.robots unitree_g1_23dof     # summary of one robot (or a path to a robot.yaml)
python -m wildrobot_amp_ext.robots my_robot.yaml --export-mjcf out/   # write the built MJCF
"""

from __future__ import annotations

import argparse
import dataclasses

from wildrobot_amp_ext.errors import cli_entry
from wildrobot_amp_ext.robots.mjcf import build_model, export_mjcf
from wildrobot_amp_ext.robots.spec import list_robots, load_robot
from wildrobot_amp_ext.utils.cli import CliParser, add_config, opt
from wildrobot_amp_ext.validation import check_output_dir


@dataclasses.dataclass
class RobotsArgs:
    """The arguments of ``python -m wildrobot_amp_ext.robots``."""

    robot: str | None = opt(None, positional=True, nargs="?", help="robot name or path to a robot.yaml")
    export_mjcf: str | None = opt(None, metavar="DIR", help="write the built MJCF (actuators, contact sites) here")


def build_parser() -> argparse.ArgumentParser:
    parser = CliParser(prog="python -m wildrobot_amp_ext.robots", description=__doc__.splitlines()[0])
    add_config(parser, RobotsArgs)
    return parser


@cli_entry
def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if not args.robot:
        print("\n".join(list_robots()))
        return
    robot = load_robot(args.robot)
    if args.export_mjcf:  # output problems are reported before any work
        check_output_dir("--export-mjcf", args.export_mjcf)
    model = build_model(robot)
    print(f"robot: {robot.name}  ({robot.yaml_path})")
    print(f"mjcf: {robot.mjcf_path}")
    print(f"mass: {robot.total_mass:.3f} kg   joints: {robot.num_joints}   actuators: {model.nu}")
    if robot.removed_joints:
        print(f"welded (not in joints list): {', '.join(robot.removed_joints)}")
    print(f"feet: {', '.join(f'{f.name}={f.body}' for f in robot.feet)}")
    width = max(len(n) for n in robot.joint_names)
    print(f"{'#':>3} {'joint':<{width}} {'default':>8} {'kp':>8} {'kd':>7} {'effort':>7} {'mirror':<{width}}")
    for i, name in enumerate(robot.joint_names):
        sign = "-" if robot.mirror_sign[i] < 0 else "+"
        print(
            f"{i:>3} {name:<{width}} {robot.default_joint_pos[i]:>8.3f} {robot.kp[i]:>8.2f} {robot.kd[i]:>7.3f}"
            f" {robot.effort_limit[i]:>7.1f} {sign}{robot.joint_names[robot.mirror_index[i]]}"
        )
    if args.export_mjcf:
        print(f"wrote {export_mjcf(robot, args.export_mjcf)}")


if __name__ == "__main__":
    main()
