"""One clip from source keypoints to a checked robot motion, and the GMR-layout pickle writer.

Retargeter(robot, config).run(source) -> Result        # targets -> mink IK -> smoothing -> ground -> quality
write_gmr_pickle(path, result)                         # fps, root_pos, root_rot xyzw, dof_pos, local_body_pos,
                                                       # link_body_list (bodies in the root frame), atomic
"""

from __future__ import annotations

import pickle
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from wildrobot_amp_ext.motion import quat as Q
from wildrobot_amp_ext.motion.kinematics import ForwardKinematics
from wildrobot_amp_ext.retarget.collision import limb_pairs, max_penetration
from wildrobot_amp_ext.retarget.mapping import FEET, RobotMapping, load_mapping
from wildrobot_amp_ext.retarget.postprocess import FootGeometry, PostConfig, ground, joint_ranges, smooth
from wildrobot_amp_ext.retarget.quality import Gates, QualityInputs, measure
from wildrobot_amp_ext.retarget.robot_keypoints import BODY_SITE_PREFIX, KeypointModel
from wildrobot_amp_ext.retarget.scale import StanceConfig, Targets, build_targets
from wildrobot_amp_ext.retarget.solve import IKSolver, Solution, SolveConfig
from wildrobot_amp_ext.retarget.source_motion import SourceMotion
from wildrobot_amp_ext.robots import RobotSpec
from wildrobot_amp_ext.utils.atomic import atomic_open


@dataclass(frozen=True)
class RetargetConfig:
    solve: SolveConfig = field(default_factory=SolveConfig)
    post: PostConfig = field(default_factory=PostConfig)
    stance: StanceConfig = field(default_factory=StanceConfig)
    gates: Gates = field(default_factory=Gates)
    #: move frame 0's pelvis to the origin facing +x (the IK always starts from the source's frame-0 heading)
    align_start: bool = True
    #: lock stance ankles to their run's mean position at floor height
    lock_feet: bool = True


@dataclass
class Result:
    name: str
    fps: float
    solution: Solution
    targets: Targets
    report: dict
    robot: RobotSpec
    model: object  # mujoco.MjModel with the keypoint sites


class Retargeter:
    """Per target robot: the model, its keypoint FK, foot geometry and IK solver are built once, reused per clip."""

    def __init__(
        self, robot: RobotSpec, config: RetargetConfig = RetargetConfig(), mapping: RobotMapping | None = None
    ):
        self.robot, self.config = robot, config
        self.mapping = mapping or load_mapping(robot)
        self.kpm = KeypointModel(robot, self.mapping)
        self.model = self.kpm.model
        self.rest_pos, self.rest_rot = self.kpm.rest()
        self.feet = FootGeometry(robot, self.model)
        zero = (np.zeros((1, 3)), np.array([[1.0, 0, 0, 0]]), np.zeros((1, robot.num_joints)))
        lowest = self.feet.lowest(*zero)[0]
        ankles = [self.mapping.keypoints.index(f) for f in FEET]
        #: height of the ankle keypoint over the floor when the foot is flat on it (zero pose)
        self.ankle_height = float(np.mean(self.rest_pos[ankles, 2] - lowest))
        self.leg_length = float(
            np.mean(
                [
                    np.linalg.norm(
                        self.rest_pos[self.mapping.keypoints.index(f)]
                        - self.rest_pos[self.mapping.keypoints.index(f.replace("ankle", "hip"))]
                    )
                    for f in FEET
                ]
            )
        )
        self.contact_fk = ForwardKinematics(robot, self.model)
        self.pairs = limb_pairs(self.model, self.mapping)  # the self-penetration check (the IK avoids the same)
        self._solvers: dict[tuple[str, ...], IKSolver] = {}

    def solver(self, keypoints: tuple[str, ...]) -> IKSolver:
        if keypoints not in self._solvers:
            self._solvers[keypoints] = IKSolver(self.robot, self.mapping, keypoints, self.config.solve, self.model)
        return self._solvers[keypoints]

    def run(self, source: SourceMotion) -> Result:
        cfg = self.config
        t0 = time.perf_counter()
        targets = build_targets(
            source,
            self.mapping,
            self.rest_pos,
            self.ankle_height,
            cfg.stance,
            align_start=cfg.align_start,
            lock_feet=cfg.lock_feet,
        )
        self.keep_feet_above_floor(targets)
        solver = self.solver(targets.keypoints)
        raw = solver.solve(targets, source.fps)
        t_ik = time.perf_counter() - t0
        sol = smooth(raw, source.fps, cfg.post.smooth_hz, self.model, solver.qadr)
        shift = {}
        if cfg.post.ground:
            sol, shift = ground(sol, self.feet, targets.stance, source.fps, cfg.post.smooth_hz)
        report = self.quality(source, targets, sol)
        qpos = np.zeros((sol.root_pos.shape[0], self.model.nq))
        qpos[:, :3], qpos[:, 3:7] = sol.root_pos, sol.root_quat
        qpos[:, solver.qadr] = sol.joint_pos
        report["metrics"]["self_penetration_m"] = max_penetration(self.model, self.pairs, qpos)
        depth, limit = report["metrics"]["self_penetration_m"], cfg.gates.max_self_penetration_m
        if depth > limit:
            report["failed"].append(f"self_penetration_m {depth:.4g} > {limit:g}")
            report["verdict"] = "fail"
        dt = 1.0 / source.fps
        report["smoothing"] = {  # the smoothing's effect, so its default is shown to act
            "cutoff_hz": cfg.post.smooth_hz,
            "joint_accel_rms_before": float(np.sqrt((np.diff(raw.joint_pos, 2, axis=0) ** 2).mean()) / dt**2),
            "joint_accel_rms_after": float(np.sqrt((np.diff(sol.joint_pos, 2, axis=0) ** 2).mean()) / dt**2),
        }
        report.update(
            {
                "clip": source.name,
                "source": source.file,
                "source_kind": source.kind,
                "frames": source.num_frames,
                "fps": source.fps,
                "scales": targets.scales,
                "root_scale": targets.root_scale,
                "ground_shift_m": shift,
                "start_heading_removed_deg": targets.heading0_deg,
                "keypoints": list(targets.keypoints),
                "ik_iterations_mean": float(raw.iterations.mean()),
                "seconds": time.perf_counter() - t0,
                "ik_seconds": t_ik,
            }
        )
        return Result(source.name, source.fps, sol, targets, report, self.robot, self.model)

    def keep_feet_above_floor(self, targets: Targets) -> None:
        """Raise ankle targets whose foot, at its target orientation, would reach below the floor (a swing foot of a
        source that sinks, a toe-down push-off) - the collision-geometry corners, not the ankle, must stay above 0."""
        for f, foot in enumerate(FEET):
            link = self.mapping.link(foot)
            if link.link != self.robot.feet[f].body:
                continue  # the ankle keypoint is not on the foot body: its geometry is not rigid with it
            k = targets.keypoints.index(foot)
            rest = self.rest_rot[self.mapping.keypoints.index(foot)]
            world = targets.rot[:, k] @ rest  # (N, 3, 3) target world rotation of the foot body
            corners = self.feet.corners[f] - link.offset  # (C, 3) relative to the keypoint site
            depth = np.einsum("nj,cj->nc", world[:, 2, :], corners).min(axis=1)  # lowest corner below the site
            targets.pos[:, k, 2] = np.maximum(targets.pos[:, k, 2], -depth)

    def quality(self, source: SourceMotion, targets: Targets, sol: Solution) -> dict:
        kp_pos, kp_rot = self.kpm(sol.root_pos, sol.root_quat, sol.joint_pos)
        idx = [self.mapping.keypoints.index(k) for k in targets.keypoints]
        rel_rot = kp_rot[:, idx] @ np.swapaxes(self.rest_rot[idx], -1, -2)[None]
        lo, hi = joint_ranges(self.model, self.solver(targets.keypoints).qadr)
        q = QualityInputs(
            fps=source.fps,
            joint_pos=sol.joint_pos,
            joint_lo=lo,
            joint_hi=hi,
            velocity_limit=self.robot.velocity_limit,
            foot_lowest=self.feet.lowest(sol.root_pos, sol.root_quat, sol.joint_pos),
            contact_pos=self.contact_fk.site_positions(sol.root_pos, sol.root_quat, sol.joint_pos),
            keypoints=targets.keypoints,
            robot_kp_pos=kp_pos[:, idx],
            robot_kp_rot=rel_rot,
            scaled_pos=targets.scaled_pos,
            source_rot=targets.rot,
            stance=targets.stance,
            leg_length=self.leg_length,
        )
        return measure(q, self.config.gates)


def body_positions_local(model, robot: RobotSpec, sol: Solution) -> tuple[np.ndarray, list[str]]:
    """(N, B, 3) positions of every body but the world in the root's frame, and their names (MJCF order)."""
    names = [model.body(b).name for b in range(1, model.nbody)]
    fk = ForwardKinematics(robot, model, site_ids=[model.site(BODY_SITE_PREFIX + n).id for n in names])
    pos = fk.site_positions(sol.root_pos, sol.root_quat, sol.joint_pos)
    rel = pos - sol.root_pos[:, None]
    inv = np.repeat(Q.conjugate(sol.root_quat)[:, None], rel.shape[1], axis=1)
    return Q.rotate(inv, rel), names


def gmr_dict(result: Result) -> dict:
    sol = result.solution
    fps = int(result.fps) if float(result.fps).is_integer() else float(result.fps)
    local, names = body_positions_local(result.model, result.robot, sol)
    return {
        "fps": fps,
        "root_pos": np.ascontiguousarray(sol.root_pos, np.float64),
        "root_rot": np.ascontiguousarray(Q.wxyz_to_xyzw(sol.root_quat), np.float64),
        "dof_pos": np.ascontiguousarray(sol.joint_pos, np.float64),
        "local_body_pos": np.ascontiguousarray(local, np.float64),
        "link_body_list": names,
    }


def write_gmr_pickle(path: str | Path, result: Result) -> Path:
    path = Path(path)
    with atomic_open(path, "wb") as f:
        pickle.dump(gmr_dict(result), f, protocol=4)
    return path
