"""Which robot's joint order a motion file uses, when the file does not say (a GMR pickle has no joint names).

One rule for the converter, the miner and the motion viewer: a file with as many joint columns as the target robot
is the target's; else the robot built on the same MJCF with that many joints (a G1 29-DoF pickle for the 23-DoF G1,
which welds six joints of that MJCF); else the one known robot with that many joints. Anything else is ambiguous
and refused, listing the candidates for ``--source-robot``.
"""

from __future__ import annotations

import functools
from pathlib import Path

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.robots.spec import RobotSpec, list_robots, load_robot


@functools.lru_cache(maxsize=1)
def _known() -> tuple[RobotSpec, ...]:
    robots = []
    for name in list_robots():
        try:
            robots.append(load_robot(name))
        except InputError:  # a broken robot folder does not stop inference for the others
            continue
    return tuple(robots)


def infer_source_robot(num_cols: int, target: RobotSpec, file: str | Path | None = None) -> tuple[RobotSpec, str]:
    """The source robot of a file with ``num_cols`` joint columns played on / converted for ``target``, and why
    (a sentence to print)."""
    if num_cols == target.num_joints:
        return target, f"{num_cols} joint columns = {target.name}'s joints"
    known = [r for r in _known() if r.num_joints == num_cols]
    same_mjcf = [r for r in known if Path(r.mjcf_path).resolve() == Path(target.mjcf_path).resolve()]
    if len(same_mjcf) == 1:
        return same_mjcf[0], f"{num_cols} joint columns = the joints of the MJCF {target.name} is built from"
    if len(known) == 1:
        return known[0], f"{num_cols} joint columns = the joints of {known[0].name}, the only robot with that many"
    names = sorted(r.name for r in known)
    problem = f"{num_cols} joint columns match {'robots ' + ', '.join(names) if names else 'no known robot'}"
    fix = f"pass --source-robot (one of {', '.join(names)})" if names else "pass --source-robot <robot.yaml>"
    raise InputError(file, "dof_pos", problem, fix)
