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

Highlights (per frame, from :mod:`wildrobot_amp_ext.eval.checks`): geoms moved by a joint outside its range turn
red, feet below the floor turn orange with a red sphere at each penetrating contact point, feet of a floating
frame turn light blue; the text overlay names the clip, frame, time and every flag.

Headless: :func:`~wildrobot_amp_ext.eval.gl.configure_gl` picks ``egl`` then ``osmesa``. Output ``.mp4``
(imageio-ffmpeg, H.264) or ``.gif``; written atomically.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from wildrobot_amp_ext.errors import InputError, OneLineParser, cli_entry
from wildrobot_amp_ext.eval.checks import CheckCfg, ClipChecks, check_clip, root_qpos_adr
from wildrobot_amp_ext.eval.gl import configure_gl, has_display
from wildrobot_amp_ext.eval.lanes import Rgba, lane_colour, lane_prefix
from wildrobot_amp_ext.eval.sources import MotionSet, load_motion_set
from wildrobot_amp_ext.eval.web import ServeCfg, serve
from wildrobot_amp_ext.motion import MotionClip
from wildrobot_amp_ext.robots import RobotSpec, load_robot
from wildrobot_amp_ext.robots.mjcf import build_mjspec, build_model, contact_site_name
from wildrobot_amp_ext.utils.atomic import atomic_path, save_json_atomic
from wildrobot_amp_ext.utils.progress import progress
from wildrobot_amp_ext.validation import NpzFile, check_outputs


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
# scene
# ----------------------------------------------------------------------------------------------------------------
def build_scene_spec(robot: RobotSpec, copies: int, shadows: bool = False):
    """MjSpec with a checker floor, sky, lights and ``copies`` robots (names prefixed ``lane<k>/``)."""
    import mujoco

    spec = mujoco.MjSpec()
    spec.modelname = f"{robot.name}_viewer"
    spec.visual.headlight.ambient = [0.35, 0.35, 0.35]
    spec.visual.headlight.diffuse = [0.5, 0.5, 0.5]
    spec.add_texture(
        name="sky",
        type=mujoco.mjtTexture.mjTEXTURE_SKYBOX,
        builtin=mujoco.mjtBuiltin.mjBUILTIN_GRADIENT,
        rgb1=[0.62, 0.74, 0.86],
        rgb2=[0.95, 0.96, 0.98],
        width=256,
        height=256,
    )
    spec.add_texture(
        name="grid",
        type=mujoco.mjtTexture.mjTEXTURE_2D,
        builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER,
        rgb1=[0.80, 0.82, 0.84],
        rgb2=[0.62, 0.65, 0.68],
        width=512,
        height=512,
    )
    grid_repeat = max(1.0, 2.0 / max(robot.init_root_height, 0.1))  # checker squares scale with the robot
    spec.add_material(
        name="grid", textures=["", "grid"], texrepeat=[grid_repeat, grid_repeat], texuniform=True, reflectance=0.0
    )
    spec.worldbody.add_geom(
        name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[0, 0, 0.05], material="grid", contype=1, conaffinity=1
    )
    spec.worldbody.add_light(
        pos=[0, 0, 4],
        dir=[0.3, 0.2, -1],
        type=int(mujoco.mjtLightType.mjLIGHT_DIRECTIONAL),
        castshadow=int(shadows),
        diffuse=[0.6, 0.6, 0.6],
    )
    for k in range(copies):
        child = build_mjspec(robot, with_floor=False)
        frame = spec.worldbody.add_frame()
        frame.attach_body(child.body(robot.root_body), lane_prefix(k), "")
    return spec


@dataclass
class LaneIndex:
    """Addresses of one robot copy in the scene model."""

    root_qpos: int
    joint_qpos: np.ndarray  # (J,)
    joint_geoms: list[np.ndarray]  # per joint: geoms of the body that joint moves
    foot_geoms: np.ndarray
    contact_sites: np.ndarray  # (P,)


def index_lane(model, robot: RobotSpec, prefix: str) -> LaneIndex:
    joint_ids = [model.joint(prefix + n).id for n in robot.joint_names]
    geom_body = np.asarray(model.geom_bodyid)

    def subtree_geoms(body_id: int) -> np.ndarray:
        # geoms of the body and its descendants: a violated knee colours the shin and the foot
        bodies = {body_id}
        for b in range(body_id + 1, model.nbody):
            if int(model.body_parentid[b]) in bodies:
                bodies.add(b)
        return np.flatnonzero(np.isin(geom_body, list(bodies)))

    foot_bodies = [model.body(prefix + f.body).id for f in robot.feet]
    return LaneIndex(
        root_qpos=root_qpos_adr(model, robot, prefix),
        joint_qpos=np.array([model.jnt_qposadr[j] for j in joint_ids]),
        joint_geoms=[np.flatnonzero(geom_body == int(model.jnt_bodyid[j])) for j in joint_ids],
        foot_geoms=np.concatenate([subtree_geoms(b) for b in foot_bodies]),
        contact_sites=np.array(
            [model.site(prefix + contact_site_name(f.name, p)).id for f in robot.feet for p in ("toe", "heel")]
        ),
    )


# ----------------------------------------------------------------------------------------------------------------
# overlay
# ----------------------------------------------------------------------------------------------------------------
def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


Line = tuple[str, Rgba, Rgba | None]  # text, text colour, swatch colour (None: no swatch)
WHITE: Rgba = (1.0, 1.0, 1.0, 1.0)
ALERT: Rgba = (1.0, 0.55, 0.5, 1.0)


def _rgb255(rgba: Rgba, alpha: int = 255) -> tuple[int, int, int, int]:
    return tuple(int(round(255 * c)) for c in rgba[:3]) + (alpha,)  # type: ignore[return-value]


def draw_overlay(
    image: np.ndarray,
    lines: Sequence[Line],
    origin: tuple[int, int],
    font_size: int,
    tags: Sequence[tuple[str, Rgba, tuple[int, int]]] = (),
) -> np.ndarray:
    """Text lines (with an optional colour swatch each) on a translucent box whose top-left is ``origin`` (a
    negative y counts from the bottom), plus small coloured tags centred at pixel positions; returns a new image."""
    from PIL import Image, ImageDraw

    base = Image.fromarray(image).convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = _font(font_size)
    line_h = int(font_size * 1.35)
    swatch = int(font_size * 0.8)
    if lines:
        indent = swatch + 6 if any(sw is not None for _, _, sw in lines) else 0
        width = max(draw.textlength(text, font=font) for text, _, _ in lines) + indent
        height = line_h * len(lines) + 8
        x0, y0 = origin
        if y0 < 0:
            y0 = base.size[1] + y0 - height
        draw.rectangle([x0, y0, x0 + width + 12, y0 + height], fill=(0, 0, 0, 150))
        for i, (text, rgba, sw) in enumerate(lines):
            y = y0 + 4 + i * line_h
            if sw is not None:
                top = y + (line_h - swatch) // 2
                draw.rectangle([x0 + 6, top, x0 + 6 + swatch, top + swatch], fill=_rgb255(sw))
            draw.text((x0 + 6 + indent, y), text, font=font, fill=_rgb255(rgba))
    for text, rgba, (x, y) in tags:
        w = draw.textlength(text, font=font)
        draw.rectangle([x - w / 2 - 4, y, x + w / 2 + 4, y + line_h], fill=_rgb255(rgba, 220))
        draw.text((x - w / 2, y + 1), text, font=font, fill=(0, 0, 0, 255))
    return np.asarray(Image.alpha_composite(base, layer).convert("RGB"))


def project(scene, points: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pixel (x, y) of world points through the scene's (mono) GL camera; (K, 2)."""
    cam = scene.camera[0]
    pos, fwd, up = np.asarray(cam.pos), np.asarray(cam.forward), np.asarray(cam.up)
    right = np.cross(fwd, up)
    rel = np.atleast_2d(points) - pos
    depth = np.maximum(rel @ fwd, 1e-6)
    x_near = (rel @ right) * cam.frustum_near / depth
    y_near = (rel @ up) * cam.frustum_near / depth
    half_w = (
        cam.frustum_width / 2 if cam.frustum_width > 0 else (cam.frustum_top - cam.frustum_bottom) * width / height / 2
    )
    u = (x_near - (cam.frustum_center - half_w)) / (2 * half_w) * width
    v = (cam.frustum_top - y_near) / (cam.frustum_top - cam.frustum_bottom) * height
    return np.stack([u, v], axis=-1)


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


VIDEO_SUFFIXES = (".mp4", ".gif")


# ----------------------------------------------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------------------------------------------
def build_parser():
    d, c = ViewerCfg(), CheckCfg()
    p = OneLineParser(
        description="Play motion sets (GMR .pkl, dataset / Tier 0+ segments .npz, policy rollout .npz) on the robot in "
        "MuJoCo, side by side, highlighting joint-limit violations, foot penetration and floating frames.",
    )
    p.add_argument("motions", nargs="+", help="motion files; several files play side by side (lane per file)")
    p.add_argument(
        "--robot", default=None, help="robot name or robot.yaml (default: the rollout's robot, else wildrobot)"
    )
    p.add_argument("--out", default=None, help="video file (.mp4 or .gif); without it a window opens (needs a display)")
    p.add_argument(
        "--serve", action="store_true", help="serve the lanes in a browser (viser) instead: for headless machines"
    )
    p.add_argument("--port", type=int, default=8080, help="--serve: local port of the web viewer")
    p.add_argument(
        "--serve-seconds", type=float, default=None, help="--serve: stop after this many seconds (default: Ctrl-C)"
    )
    p.add_argument("--summary", default=None, help="JSON of per-clip check fractions (default: <out>.checks.json)")
    p.add_argument(
        "--layout",
        choices=("scene", "tiles"),
        default=d.layout,
        help="one scene with offset copies, or one tile per lane",
    )
    p.add_argument(
        "--lanes", choices=("auto", "sets", "clips"), default=d.lanes, help="lane per file (sets) or per clip (clips)"
    )
    p.add_argument("--max-lanes", type=int, default=d.max_lanes)
    p.add_argument(
        "--max-rounds",
        type=int,
        default=None,
        help=f"stop after this many rounds (default: all in a window, {DEFAULT_FILE_ROUNDS} to a file; 0 = all)",
    )
    p.add_argument("--max-clips", type=int, default=None, help="read at most this many clips per file")
    p.add_argument("--max-seconds", type=float, default=None, help="cap each round at this many seconds of motion")
    p.add_argument("--fps", type=float, default=d.fps, help="output frames per second")
    p.add_argument("--speed", type=float, default=d.speed, help="playback speed factor")
    p.add_argument("--width", type=int, default=d.width)
    p.add_argument("--height", type=int, default=d.height)
    p.add_argument("--spacing", type=float, default=None, help="m between copies (scene layout)")
    p.add_argument("--no-align", action="store_true", help="keep each clip's world xy (default: start at the origin)")
    p.add_argument("--azimuth", type=float, default=d.camera_azimuth)
    p.add_argument("--elevation", type=float, default=d.camera_elevation)
    p.add_argument("--distance", type=float, default=None)
    p.add_argument("--no-overlay", action="store_true", help="no text overlay")
    p.add_argument("--shadows", action="store_true", help="cast shadows (slower on software GL)")
    p.add_argument(
        "--joint-limit-tol", type=float, default=c.joint_limit_tol, help="rad outside the range before flagging"
    )
    p.add_argument("--penetration-tol", type=float, default=c.penetration_tol, help="m below the floor before flagging")
    p.add_argument("--float-height", type=float, default=c.float_height, help="m: all contact points above this ...")
    p.add_argument(
        "--low-root-ratio", type=float, default=c.low_root_ratio, help="... while root z < ratio x standing root z"
    )
    return p


def _infer_robot(paths: Sequence[str]) -> str:
    for path in paths:
        if str(path).endswith(".npz") and Path(path).is_file():
            with NpzFile(path) as data:  # checked reader: a bad file is refused in one line, not read blindly
                if "robot" in data.files and data.text("robot"):
                    return data.text("robot")
    return "wildrobot"


DEFAULT_FILE_ROUNDS = 3  # a Tier 0+ file holds hundreds of segments: a video of all of them takes many minutes


def _rounds(args: argparse.Namespace) -> int | None:
    if args.max_rounds is None:
        return DEFAULT_FILE_ROUNDS if args.out else None
    return args.max_rounds or None


def run_cli(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.out is None and not args.serve and not has_display():
        raise InputError(
            None,
            "--out",
            "no display to open a window on",
            "pass --out video.mp4 (or .gif) to render offscreen, or --serve",
        )
    if args.out is not None and Path(args.out).suffix.lower() not in VIDEO_SUFFIXES:
        raise InputError(args.out, None, f"unsupported video type '{Path(args.out).suffix}'", "use .mp4 or .gif")
    if args.out is not None:  # output problems (a folder, under a file, an input) before any rendering
        checks_json = Path(args.summary) if args.summary else Path(args.out).with_suffix(".checks.json")
        check_outputs({"--out": args.out, "--summary": checks_json}, inputs=args.motions)
    for name in ("fps", "speed", "width", "height", "max_lanes", "port"):
        value = getattr(args, name)
        if not (math.isfinite(value) and value > 0):  # NaN passes a plain "<= 0" test
            raise InputError(None, f"--{name.replace('_', '-')}", f"must be a positive number, got {value}", None)
    if args.serve_seconds is not None and not (math.isfinite(args.serve_seconds) and args.serve_seconds > 0):
        raise InputError(None, "--serve-seconds", f"must be a positive number, got {args.serve_seconds}", None)
    robot = load_robot(args.robot or _infer_robot(args.motions))
    sets = [load_motion_set(p, robot, max_clips=args.max_clips) for p in args.motions]
    names = [s.name for s in sets]
    for i, s in enumerate(sets):  # the same file twice: keep lanes distinguishable
        if names.count(s.name) > 1:
            s.name = f"{s.name}#{i}"
    cfg = ViewerCfg(
        width=args.width,
        height=args.height,
        fps=args.fps,
        speed=args.speed,
        layout="scene" if args.serve else args.layout,
        lanes=args.lanes,
        max_lanes=args.max_lanes,
        max_rounds=_rounds(args),
        max_seconds=args.max_seconds,
        spacing=args.spacing,
        align_start=not args.no_align,
        camera_azimuth=args.azimuth,
        camera_elevation=args.elevation,
        camera_distance=args.distance,
        overlay=not args.no_overlay,
        shadows=args.shadows,
        checks=CheckCfg(args.joint_limit_tol, args.penetration_tol, args.float_height, args.low_root_ratio),
    )
    backend = configure_gl() if args.out else None
    with MotionViewer(robot, sets, cfg) as viewer:
        summary = viewer.summary()
        for clip in summary["clips"]:
            print(
                f"[check] {clip['set']}: {clip['clip']}: {clip['frames']} frames, "
                f"joint-limit {100 * clip['joint_limit_frames']:.1f}%, "
                f"penetration {100 * clip['penetration_frames']:.1f}% (max {clip['penetration_max_mm']:.0f} mm), "
                f"floating {100 * clip['floating_frames']:.1f}%"
            )
        if args.serve:
            serve(viewer, ServeCfg(port=args.port, duration_s=args.serve_seconds))
            return 0
        if args.out is None:
            viewer.show()
            return 0
        stats = viewer.write(args.out)
    summary_path = Path(args.summary) if args.summary else Path(args.out).with_suffix(".checks.json")
    save_json_atomic(summary_path, {**summary, "gl_backend": backend, "video": str(args.out)})
    print(
        f"[viewer] {stats.frames} frames, {stats.rounds} round(s) in {stats.seconds:.1f} s "
        f"({stats.frames / max(stats.seconds, 1e-9):.1f} fps, GL {backend}) -> {args.out}; checks -> {summary_path}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli_entry(run_cli)(argv)


if __name__ == "__main__":
    raise SystemExit(main())
