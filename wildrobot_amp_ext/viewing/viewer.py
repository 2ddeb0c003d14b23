"""Motion viewer: play motion sets on the robot in MuJoCo, side by side, to a video file or a window.

Kinematic playback only: each frame writes the root pose and joint angles into ``qpos`` (joints through
``robots.mjcf.joint_qpos_adr``) and calls ``mj_forward``; nothing is simulated.

Layouts
  ``scene``  one MuJoCo scene with one robot copy per lane, copies offset along y, each clip's start moved to the
             origin (``align_start``); the camera follows the copies' centroid. Good for comparing gaits.
  ``tiles``  one offscreen render per lane with its own tracking camera, tiled into one frame. Good when clips
             walk in different directions or at very different speeds.

Lanes and rounds: with several motion sets, lane k plays set k and round r shows clip r of every set (compare a
source motion with its retargeted or mined version); with one set, its clips fill the lanes, ``max_lanes`` at a
time. A round lasts as long as its longest clip; shorter clips hold their last frame.

Highlights (per frame, from :mod:`wildrobot_amp_ext.evaluation.checks`): geoms moved by a joint outside its range turn
red, feet below the floor turn orange with a red sphere at each penetrating contact point, feet of a floating
frame turn light blue; the text overlay names the clip, frame, time and every flag.

Headless: :func:`~wildrobot_amp_ext.viewing.gl.configure_gl` picks ``egl`` then ``osmesa``. Output ``.mp4``
(imageio-ffmpeg, H.264) or ``.gif``; written atomically.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.evaluation.checks import CheckCfg, ClipChecks, check_clip
from wildrobot_amp_ext.motion import MotionClip
from wildrobot_amp_ext.robots import RobotSpec
from wildrobot_amp_ext.robots.mjcf import build_model
from wildrobot_amp_ext.utils.atomic import atomic_path
from wildrobot_amp_ext.utils.progress import progress
from wildrobot_amp_ext.viewing.lanes import Rgba, lane_colour, lane_prefix
from wildrobot_amp_ext.viewing.overlay import ALERT, WHITE, Line, draw_overlay, project
from wildrobot_amp_ext.viewing.scene import LaneIndex, build_scene_spec, index_lane
from wildrobot_amp_ext.viewing.sources import MotionSet

VIDEO_SUFFIXES = (".mp4", ".gif")


@dataclass
class ViewerCfg:
    width: int = 960
    height: int = 540
    #: output frames per second; clip frames are picked at the nearest time
    fps: float = 30.0
    #: playback speed (2.0 = twice as fast)
    speed: float = 1.0
    layout: Literal["scene", "tiles"] = "scene"
    #: "sets": lane per motion set, round r = clip r of each; "clips": the clips fill the lanes; "auto": sets if > 1
    lanes: Literal["auto", "sets", "clips"] = "auto"
    max_lanes: int = 6
    #: stop after this many rounds (None: all)
    max_rounds: int | None = None
    #: cap on each round's duration, s (None: the longest clip)
    max_seconds: float | None = None
    #: m between robot copies along y (scene layout); None: 0.7 x the robot's extent
    spacing: float | None = None
    #: move each clip so its first root xy is at the origin (scene layout; rollouts carry env-grid offsets)
    align_start: bool = True
    camera_azimuth: float = 150.0
    camera_elevation: float = -15.0
    #: camera distance; None: fit the lanes
    camera_distance: float | None = None
    overlay: bool = True
    font_size: int = 15
    limit_rgba: Rgba = (1.0, 0.1, 0.1, 1.0)
    penetration_rgba: Rgba = (1.0, 0.55, 0.0, 1.0)
    floating_rgba: Rgba = (0.45, 0.75, 1.0, 1.0)
    marker_radius: float = 0.012
    #: shadows look nicer but cost ~2x render time on a software (llvmpipe) GL
    shadows: bool = False
    checks: CheckCfg = field(default_factory=CheckCfg)


@dataclass
class LaneItem:
    lane: int
    set_name: str
    clip: MotionClip
    checks: ClipChecks


# ----------------------------------------------------------------------------------------------------------------
# arrangement
# ----------------------------------------------------------------------------------------------------------------
def arrange(sets: Sequence[MotionSet], cfg: ViewerCfg) -> list[list[tuple[str, MotionClip] | None]]:
    """Rounds x lanes of (set name, clip), ``None`` where a set has run out of clips."""
    mode = cfg.lanes if cfg.lanes != "auto" else ("sets" if len(sets) > 1 else "clips")
    if mode == "sets":
        if len(sets) > cfg.max_lanes:
            raise InputError(
                None,
                "--max-lanes",
                f"{len(sets)} motion sets but max_lanes={cfg.max_lanes}",
                "raise --max-lanes or pass fewer sets",
            )
        depth = max(len(s.clips) for s in sets)
        rounds = [[(s.name, s.clips[r]) if r < len(s.clips) else None for s in sets] for r in range(depth)]
    else:
        flat = [(s.name, c) for s in sets for c in s.clips]
        rounds = [list(flat[i : i + cfg.max_lanes]) for i in range(0, len(flat), cfg.max_lanes)]
        width = len(rounds[0]) if rounds else 0
        rounds = [r + [None] * (width - len(r)) for r in rounds]
    if cfg.max_rounds is not None:
        rounds = rounds[: cfg.max_rounds]
    return rounds


# ----------------------------------------------------------------------------------------------------------------
# the viewer
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class RenderStats:
    frames: int = 0
    rounds: int = 0
    seconds: float = 0.0


class MotionViewer:
    """Lanes x rounds of clips on one robot model. ``frames()`` yields RGB images; ``write()`` makes a video.

    Use as a context manager (or call :meth:`close`) so the GL context is released before interpreter exit."""

    def __init__(self, robot: RobotSpec, sets: Sequence[MotionSet], cfg: ViewerCfg | None = None):
        if not sets:
            raise InputError(None, "motions", "no motion sets given", "pass at least one .pkl / .npz")
        self.robot = robot
        self.cfg = cfg or ViewerCfg()
        self.cfg.width += self.cfg.width % 2  # H.264 wants even sizes
        self.cfg.height += self.cfg.height % 2
        if self.cfg.fps <= 0 or self.cfg.speed <= 0:
            raise InputError(None, "--fps/--speed", "must be positive", None)
        self.sets = list(sets)
        check_model = build_model(robot, with_floor=False)
        self.rounds: list[list[LaneItem | None]] = []
        for rnd in arrange(self.sets, self.cfg):
            self.rounds.append(
                [
                    None
                    if e is None
                    else LaneItem(k, e[0], e[1], check_clip(robot, e[1], self.cfg.checks, check_model))
                    for k, e in enumerate(rnd)
                ]
            )
        if not self.rounds:
            raise InputError(None, "motions", "nothing to play", None)
        self.num_lanes = max(len(r) for r in self.rounds)
        self._renderer = None
        self.last_camera = None  # the camera of the last scene-layout frame (tests re-render with it)
        self._setup_model(check_model)

    # --- model ------------------------------------------------------------------------------------------------
    def _setup_model(self, single) -> None:
        import mujoco

        copies = self.num_lanes if self.cfg.layout == "scene" else 1
        self.model = build_scene_spec(self.robot, copies, self.cfg.shadows).compile()
        tile_w, tile_h = self.tile_size
        self.model.vis.global_.offwidth = max(self.cfg.width, tile_w)
        self.model.vis.global_.offheight = max(self.cfg.height, tile_h)
        self.datas = [mujoco.MjData(self.model) for _ in range(1 if self.cfg.layout == "scene" else self.num_lanes)]
        self.lanes = [index_lane(self.model, self.robot, lane_prefix(k)) for k in range(copies)]
        self.extent = float(single.stat.extent)
        self.spacing = self.cfg.spacing if self.cfg.spacing is not None else 0.7 * self.extent
        first = next(item for rnd in self.rounds for item in rnd if item is not None)
        self.standing_root_z = first.checks.standing_root_z

    @property
    def tile_grid(self) -> tuple[int, int]:
        """(rows, cols) of the tiles layout; (1, 1) for the scene layout."""
        if self.cfg.layout == "scene":
            return 1, 1
        # about square tiles or taller (a standing robot is taller than wide)
        cols = math.ceil(math.sqrt(self.num_lanes * self.cfg.width / self.cfg.height))
        cols = max(1, min(cols, self.num_lanes))
        return math.ceil(self.num_lanes / cols), cols

    @property
    def tile_size(self) -> tuple[int, int]:
        rows, cols = self.tile_grid
        return self.cfg.width // cols // 2 * 2, self.cfg.height // rows // 2 * 2

    def lane_offset(self, k: int) -> np.ndarray:
        if self.cfg.layout != "scene":
            return np.zeros(3)
        return np.array([0.0, (k - (self.num_lanes - 1) / 2) * self.spacing, 0.0])

    # --- timing -----------------------------------------------------------------------------------------------
    def round_duration(self, rnd: list[LaneItem | None]) -> float:
        """Seconds of motion time the round plays (the longest clip, capped by ``max_seconds``)."""
        duration = max(item.clip.duration for item in rnd if item is not None)
        if self.cfg.max_seconds is not None:
            duration = min(duration, self.cfg.max_seconds)
        return duration

    def round_frames(self, rnd: list[LaneItem | None]) -> int:
        return int(math.floor(self.round_duration(rnd) / self.cfg.speed * self.cfg.fps + 1e-9)) + 1

    @staticmethod
    def clip_frame(clip: MotionClip, t: float) -> int:
        """Frame of ``clip`` nearest to motion time ``t`` (the last frame once the clip has ended)."""
        return int(min(round(t * clip.fps), clip.num_frames - 1))

    @property
    def total_frames(self) -> int:
        return sum(self.round_frames(r) for r in self.rounds)

    # --- per-frame state --------------------------------------------------------------------------------------
    def _root_pose(self, item: LaneItem, i: int) -> tuple[np.ndarray, np.ndarray]:
        pos = np.array(item.clip.root_pos[i], dtype=np.float64)
        if self.cfg.layout == "scene" and self.cfg.align_start:
            pos[:2] -= item.clip.root_pos[0, :2]
        return pos + self.lane_offset(item.lane), np.asarray(item.clip.root_quat[i], dtype=np.float64)

    def _pose_lane(self, data, lane: LaneIndex, item: LaneItem, i: int) -> None:
        pos, quat = self._root_pose(item, i)
        data.qpos[lane.root_qpos : lane.root_qpos + 3] = pos
        data.qpos[lane.root_qpos + 3 : lane.root_qpos + 7] = quat / max(np.linalg.norm(quat), 1e-9)
        data.qpos[lane.joint_qpos] = item.clip.joint_pos[i]

    def _park_lane(self, data, lane: LaneIndex, k: int) -> None:
        """An empty lane (its set ran out of clips): the robot is moved far below the floor, out of view."""
        data.qpos[lane.root_qpos : lane.root_qpos + 3] = self.lane_offset(k) + np.array([0, 0, -100.0])
        data.qpos[lane.root_qpos + 3 : lane.root_qpos + 7] = (1, 0, 0, 0)

    def _flags(self, item: LaneItem, i: int) -> dict:
        c = item.checks
        viol = np.flatnonzero(c.limit_violation[i])
        return {
            "frame": i,
            "limit_joints": viol,
            "limit_excess": c.limit_excess[i, viol],
            "penetration": bool(c.penetration[i]),
            "depth_mm": 1000 * float(c.penetration_depth[i]),
            "penetrating_points": np.flatnonzero(c.penetrating_points[i]),
            "floating": bool(c.floating[i]),
        }

    def _round_state(self, rnd: list[LaneItem | None], t: float) -> list[tuple[LaneItem, dict] | None]:
        """Per lane: the item and its flags at motion time ``t`` (None for an empty lane)."""
        out: list[tuple[LaneItem, dict] | None] = []
        for k in range(self.num_lanes):
            item = rnd[k] if k < len(rnd) else None
            out.append(None if item is None else (item, self._flags(item, self.clip_frame(item.clip, t))))
        return out

    def pose_lanes(self, data, rnd: list[LaneItem | None], t: float) -> list[tuple[LaneItem, dict] | None]:
        """Every lane of round ``rnd`` at motion time ``t`` written into ``data`` (an empty lane is parked out of
        view); returns :meth:`_round_state`'s per-lane (item, flags)."""
        state = self._round_state(rnd, t)
        for k, lane in enumerate(self.lanes):
            if state[k] is None:
                self._park_lane(data, lane, k)
            else:
                self._pose_lane(data, lane, state[k][0], state[k][1]["frame"])
        return state

    # --- scene decoration ---------------------------------------------------------------------------------------
    def _decorate(self, scene, data, lane: LaneIndex, k: int, flags: dict | None, disc: bool) -> None:
        import mujoco

        if flags is None:
            return
        colour: dict[int, Rgba] = {}
        if flags["floating"]:
            colour.update({int(g): self.cfg.floating_rgba for g in lane.foot_geoms})
        if flags["penetration"]:
            colour.update({int(g): self.cfg.penetration_rgba for g in lane.foot_geoms})
        for j in flags["limit_joints"]:
            colour.update({int(g): self.cfg.limit_rgba for g in lane.joint_geoms[j]})
        if colour:
            geom_type = int(mujoco.mjtObj.mjOBJ_GEOM)
            for s in range(scene.ngeom):
                g = scene.geoms[s]
                if g.objtype == geom_type and g.objid in colour:
                    g.rgba[:] = colour[g.objid]
        if disc:  # lane colour on the floor under the robot, matching its text line
            root = data.qpos[lane.root_qpos : lane.root_qpos + 3]
            radius = 0.5 * min(self.spacing, self.extent) * 0.6
            self._add_geom(
                scene,
                mujoco.mjtGeom.mjGEOM_CYLINDER,
                [radius, 0.001, 0],
                [root[0], root[1], 0.001],
                lane_colour(k)[:3] + (0.6,),
            )
        for p in flags["penetrating_points"]:
            # the point itself is hidden under the opaque floor: mark it on the floor surface
            x, y, _ = data.site_xpos[lane.contact_sites[p]]
            self._add_geom(
                scene,
                mujoco.mjtGeom.mjGEOM_CYLINDER,
                [self.cfg.marker_radius, 0.002, 0],
                [x, y, 0.003],
                (1.0, 0.0, 0.0, 1.0),
            )

    @staticmethod
    def _add_geom(scene, kind, size, pos, rgba) -> None:
        import mujoco

        if scene.ngeom >= scene.maxgeom:
            return
        mujoco.mjv_initGeom(
            scene.geoms[scene.ngeom],
            kind,
            np.asarray(size, dtype=np.float64),
            np.asarray(pos, dtype=np.float64),
            np.eye(3).flatten(),
            np.asarray(rgba, dtype=np.float32),
        )
        scene.ngeom += 1

    # --- text -------------------------------------------------------------------------------------------------
    def _lane_text(self, k: int, state: tuple[LaneItem, dict] | None, t: float) -> tuple[str, list[str]]:
        """(description, alerts) of one lane at motion time ``t``."""
        if state is None:
            return f"[{k}] (no clip)", []
        item, flags = state
        i = flags["frame"]
        ended = " (end)" if t > item.clip.duration + 1e-9 else ""
        label = item.clip.name if item.clip.name == item.set_name else f"{item.set_name}: {item.clip.name}"
        note = self._frame_note(item, i)
        text = f"[{k}] {label}  frame {i}/{item.clip.num_frames - 1}  t {i / item.clip.fps:5.2f}s{ended}{note}"
        alerts = []
        if flags["limit_joints"].size:
            worst = int(np.argmax(flags["limit_excess"]))
            name = self.robot.joint_names[int(flags["limit_joints"][worst])]
            more = f" (+{flags['limit_joints'].size - 1})" if flags["limit_joints"].size > 1 else ""
            alerts.append(f"LIMIT {name} +{float(flags['limit_excess'][worst]):.2f}rad{more}")
        if flags["penetration"]:
            alerts.append(f"PENETRATION {flags['depth_mm']:.0f}mm")
        if flags["floating"]:
            alerts.append("FLOATING")
        return text, alerts

    def _lane_line(self, k: int, state: tuple[LaneItem, dict] | None, t: float, with_swatch: bool = True) -> Line:
        swatch = lane_colour(k) if with_swatch else None
        text, alerts = self._lane_text(k, state, t)
        if state is None:
            return text, (0.7, 0.7, 0.7, 1.0), swatch
        if alerts:
            return text + "  " + " | ".join(alerts), ALERT, swatch
        return text, WHITE, swatch

    @staticmethod
    def _frame_note(item: LaneItem, i: int) -> str:
        """Optional per-frame text a source attaches (``clip.meta["frame_text"]``, e.g. a rollout's command)."""
        notes = item.clip.meta.get("frame_text") if item.clip.meta else None
        return f"  {notes[i]}" if notes is not None and i < len(notes) else ""

    def _header(self, r: int, t: float) -> Line:
        return f"{self.robot.name}   round {r + 1}/{len(self.rounds)}   t {t:5.2f}s   x{self.cfg.speed:g}", WHITE, None

    # --- camera -----------------------------------------------------------------------------------------------
    def camera_at(self, centre: np.ndarray, spread: float):
        """Free camera looking at ``centre`` (xy; its z too in the tiles layout, which follows one robot)."""
        import mujoco

        cam = mujoco.MjvCamera()
        cam.type = mujoco.mjtCamera.mjCAMERA_FREE
        z = 0.7 * self.standing_root_z
        if self.cfg.layout != "scene":
            z += centre[2] - self.standing_root_z
        cam.lookat[:] = [centre[0], centre[1], z]
        cam.azimuth = self.cfg.camera_azimuth
        cam.elevation = self.cfg.camera_elevation
        fit = 1.8 if self.cfg.layout == "scene" else 2.4  # frame the whole robot with margin; a tile is smaller still
        cam.distance = self.cfg.camera_distance or (fit * self.extent + 0.9 * spread)
        return cam

    # --- rendering --------------------------------------------------------------------------------------------
    @property
    def renderer(self):
        import mujoco

        if self._renderer is None:
            tile_w, tile_h = self.tile_size
            self._renderer = mujoco.Renderer(self.model, tile_h, tile_w)
        return self._renderer

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def __enter__(self) -> MotionViewer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def frames(self) -> Iterator[np.ndarray]:
        """Yield RGB frames (H, W, 3) uint8 of every round."""
        for r, rnd in enumerate(self.rounds):
            for f in range(self.round_frames(rnd)):
                yield self.render(r, f * self.cfg.speed / self.cfg.fps)

    def render(self, r: int, t: float) -> np.ndarray:
        """Frame of round ``r`` at motion time ``t`` seconds."""
        import mujoco

        rnd = self.rounds[r]
        renderer = self.renderer
        tile_w, tile_h = self.tile_size
        if self.cfg.layout == "scene":
            data = self.datas[0]
            state = self.pose_lanes(data, rnd, t)
            mujoco.mj_forward(self.model, data)
            roots = np.array(
                [
                    data.qpos[lane.root_qpos : lane.root_qpos + 3]
                    for k, lane in enumerate(self.lanes)
                    if state[k] is not None
                ]
            )
            spread = float(np.ptp(roots[:, 1])) if len(roots) > 1 else 0.0
            self.last_camera = self.camera_at(roots.mean(axis=0), spread)
            renderer.update_scene(data, camera=self.last_camera)
            for k, lane in enumerate(self.lanes):
                self._decorate(
                    renderer.scene, data, lane, k, None if state[k] is None else state[k][1], disc=self.num_lanes > 1
                )
            image = renderer.render().copy()
            if not self.cfg.overlay:
                return image
            tags = []
            if self.num_lanes > 1:
                for k, lane in enumerate(self.lanes):
                    if state[k] is not None:
                        foot = data.qpos[lane.root_qpos : lane.root_qpos + 3] * np.array([1, 1, 0])
                        ((u, v),) = project(renderer.scene, foot[None], tile_w, tile_h)
                        tags.append((f"{k}", lane_colour(k), (int(u), int(v) + 6)))
            lines = [self._header(r, t)] + [
                self._lane_line(k, state[k], t, self.num_lanes > 1) for k in range(self.num_lanes)
            ]
            return draw_overlay(image, lines, (8, -8), self.cfg.font_size, tags)

        state = self._round_state(rnd, t)
        rows, cols = self.tile_grid
        canvas = np.zeros((self.cfg.height, self.cfg.width, 3), dtype=np.uint8)
        lane = self.lanes[0]
        for k in range(self.num_lanes):
            tile = np.full((tile_h, tile_w, 3), 40, dtype=np.uint8)
            if state[k] is not None:
                data = self.datas[k]
                self._pose_lane(data, lane, state[k][0], state[k][1]["frame"])
                mujoco.mj_forward(self.model, data)
                renderer.update_scene(data, camera=self.camera_at(data.qpos[lane.root_qpos : lane.root_qpos + 3], 0.0))
                self._decorate(renderer.scene, data, lane, k, state[k][1], disc=False)
                tile = renderer.render().copy()
            if self.cfg.overlay:
                text, alerts = self._lane_text(k, state[k], t)
                lines: list[Line] = [(text, WHITE, None)] + [(a, ALERT, None) for a in alerts]
                tile = draw_overlay(tile, lines, (4, 4), max(10, self.cfg.font_size - 3))
            row, col = divmod(k, cols)
            canvas[row * tile_h : (row + 1) * tile_h, col * tile_w : (col + 1) * tile_w] = tile
        if self.cfg.overlay:
            canvas = draw_overlay(canvas, [self._header(r, t)], (8, -8), self.cfg.font_size)
        return canvas

    # --- outputs ----------------------------------------------------------------------------------------------
    def summary(self) -> dict:
        """Per clip: the check fractions over all its frames (not only the rendered ones)."""
        clips = []
        for r, rnd in enumerate(self.rounds):
            for item in rnd:
                if item is not None:
                    clips.append(
                        {
                            "round": r,
                            "lane": item.lane,
                            "set": item.set_name,
                            "clip": item.clip.name,
                            **item.checks.summary(self.robot),
                        }
                    )
        return {
            "robot": self.robot.name,
            "layout": self.cfg.layout,
            "rounds": len(self.rounds),
            "lanes": self.num_lanes,
            "clips": clips,
        }

    def write(self, path: str | Path, show_progress: bool = True) -> RenderStats:
        """Render every round to ``path`` (.mp4 or .gif), atomically."""
        import time

        import imageio.v2 as imageio

        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in VIDEO_SUFFIXES:
            raise InputError(path, None, f"unsupported video type '{path.suffix}'", "use .mp4 or .gif")
        stats = RenderStats(rounds=len(self.rounds))
        start = time.perf_counter()
        with atomic_path(path) as tmp:
            if suffix == ".mp4":
                writer = imageio.get_writer(
                    tmp,
                    format="FFMPEG",
                    fps=self.cfg.fps,
                    codec="libx264",
                    quality=7,
                    macro_block_size=2,
                    pixelformat="yuv420p",
                )
            else:
                writer = imageio.get_writer(tmp, format="GIF", duration=1000.0 / self.cfg.fps, loop=0)
            try:
                for frame in progress(
                    self.frames(),
                    desc="render",
                    total=self.total_frames,
                    unit="frame",
                    disable=None if show_progress else True,
                ):
                    writer.append_data(frame)
                    stats.frames += 1
            finally:
                writer.close()
        stats.seconds = time.perf_counter() - start
        return stats

    def show(self) -> None:
        """Interactive window (needs a display): plays the rounds in a loop, in real time, in the passive MuJoCo
        viewer (scene layout; text in the window's corner, penetration markers; no geom recolouring)."""
        import time

        import mujoco
        import mujoco.viewer

        if self.cfg.layout != "scene":
            raise InputError(
                None,
                "--layout",
                "the interactive window shows the scene layout only",
                "use --layout scene or --out file.mp4",
            )
        data = self.datas[0]
        with mujoco.viewer.launch_passive(self.model, data) as handle:
            while handle.is_running():
                for r, rnd in enumerate(self.rounds):
                    start = time.perf_counter()
                    for f in range(self.round_frames(rnd)):
                        if not handle.is_running():
                            return
                        t = f * self.cfg.speed / self.cfg.fps
                        with handle.lock():
                            state = self.pose_lanes(data, rnd, t)
                            mujoco.mj_forward(self.model, data)
                            handle.user_scn.ngeom = 0
                            for k, lane in enumerate(self.lanes):
                                self._decorate(
                                    handle.user_scn,
                                    data,
                                    lane,
                                    k,
                                    None if state[k] is None else state[k][1],
                                    disc=self.num_lanes > 1,
                                )
                            text = "\n".join(self._lane_line(k, state[k], t)[0] for k in range(self.num_lanes))
                            handle.set_texts((None, None, self._header(r, t)[0], text))
                        handle.sync()
                        time.sleep(max(0.0, start + (f + 1) / self.cfg.fps - time.perf_counter()))
