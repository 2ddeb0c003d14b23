"""Serve the motion viewer's side-by-side comparison in a browser (viser), for headless machines.

The same lanes and rounds as :class:`~wildrobot_amp_ext.viewing.viewer.MotionViewer` (scene layout): every visual geom
of every robot copy becomes a viser mesh once, and each frame only moves them (poses from ``mj_forward`` on the
viewer's own MuJoCo model). The page has a legend (lane colour, motion set, clip), play / pause, the round and the
speed. Isaac Lab's own viser visualizer (``play.py --visualizer viser``) serves live policy playback the same way.

    python utils/motion_viewer.py walk.pkl data/g1.npz --robot unitree_g1_23dof --serve        # http://localhost:8080
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from wildrobot_amp_ext.motion.quat import multiply
from wildrobot_amp_ext.viewing.lanes import lane_colour, lane_prefix

DEFAULT_PORT = 8080
#: MuJoCo's default renderer shows geom groups 0-2; groups >= 3 hold collision-only shapes in most robot MJCFs
VISIBLE_GROUPS = 3
#: triangles per geom sent to the browser: the G1's meshes hold 393k triangles per robot, which a browser without a
#: GPU (software WebGL) takes tens of seconds to draw; ~1.5k per part keeps the silhouette and draws in well under 1 s
MAX_FACES_PER_GEOM = 1500


class ServedViewer(Protocol):
    """What the page reads from the :class:`~wildrobot_amp_ext.viewing.viewer.MotionViewer` it serves (named by its
    members, so the viewer, whose command line starts the server, and this module do not import each other)."""

    model: Any  # mujoco.MjModel: every lane's robot copy
    datas: list  # mujoco.MjData per lane (the scene layout poses every lane in datas[0])
    lanes: list  # LaneIndex per lane: root qpos address, joint addresses
    rounds: list  # per round, the LaneItem (or None) of each lane
    cfg: Any  # ViewerCfg: fps, speed
    num_lanes: int
    spacing: float
    extent: float

    def round_duration(self, rnd: list) -> float: ...

    def pose_lanes(self, data: Any, rnd: list, t: float) -> list: ...

    def camera_at(self, centre: np.ndarray, spread: float) -> Any: ...


@dataclass
class ServeCfg:
    port: int = DEFAULT_PORT
    host: str = "127.0.0.1"
    #: stop after this many seconds (None: until Ctrl-C)
    duration_s: float | None = None
    loop: bool = True


def geom_mesh(model, g: int):
    """Vertices and faces of geom ``g`` in its own frame (mesh geoms from the model, primitives from trimesh)."""
    import mujoco
    import trimesh

    kind, size = int(model.geom_type[g]), np.asarray(model.geom_size[g], dtype=np.float64)
    if kind == mujoco.mjtGeom.mjGEOM_MESH:
        m = int(model.geom_dataid[g])
        v0, nv = int(model.mesh_vertadr[m]), int(model.mesh_vertnum[m])
        f0, nf = int(model.mesh_faceadr[m]), int(model.mesh_facenum[m])
        return np.asarray(model.mesh_vert[v0 : v0 + nv]), np.asarray(model.mesh_face[f0 : f0 + nf])
    if kind == mujoco.mjtGeom.mjGEOM_BOX:
        mesh = trimesh.creation.box(extents=2 * size)
    elif kind == mujoco.mjtGeom.mjGEOM_SPHERE:
        mesh = trimesh.creation.icosphere(subdivisions=2, radius=size[0])
    elif kind == mujoco.mjtGeom.mjGEOM_CAPSULE:
        mesh = trimesh.creation.capsule(height=2 * size[1], radius=size[0], count=[12, 12])
    elif kind == mujoco.mjtGeom.mjGEOM_CYLINDER:
        mesh = trimesh.creation.cylinder(radius=size[0], height=2 * size[1], sections=16)
    elif kind == mujoco.mjtGeom.mjGEOM_ELLIPSOID:
        mesh = trimesh.creation.icosphere(subdivisions=2, radius=1.0)
        mesh.apply_scale(size)
    else:
        return None
    return np.asarray(mesh.vertices), np.asarray(mesh.faces)


def simplify_mesh(vertices: np.ndarray, faces: np.ndarray, max_faces: int = MAX_FACES_PER_GEOM):
    """Vertex-clustering decimation: vertices snapped to a grid and merged (cluster mean), collapsed and duplicate
    triangles dropped; the grid doubles until at most ``max_faces`` remain. Returns (vertices, faces)."""
    if len(faces) <= max_faces:
        return vertices, faces
    extent = float(np.ptp(vertices, axis=0).max()) or 1.0
    cell = extent / 64
    for _ in range(12):
        keys = np.floor(vertices / cell).astype(np.int64)
        _, inverse = np.unique(keys, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        count = np.bincount(inverse).astype(np.float64)
        merged = np.stack([np.bincount(inverse, weights=vertices[:, i]) for i in range(3)], axis=1) / count[:, None]
        tri = inverse[faces]
        tri = tri[(tri[:, 0] != tri[:, 1]) & (tri[:, 1] != tri[:, 2]) & (tri[:, 0] != tri[:, 2])]
        _, first = np.unique(np.sort(tri, axis=1), axis=0, return_index=True)
        tri = tri[np.sort(first)]
        if len(tri) <= max_faces:
            used, tri = np.unique(tri, return_inverse=True)
            return merged[used], tri.reshape(-1, 3)
        cell *= 2
    return vertices, faces


def robot_geoms(model) -> np.ndarray:
    """Visible geoms attached to a robot body (not the floor or world decorations)."""
    visible = (np.asarray(model.geom_group) < VISIBLE_GROUPS) & (np.asarray(model.geom_rgba)[:, 3] > 0)
    return np.flatnonzero(visible & (np.asarray(model.geom_bodyid) > 0))


def lane_geoms(model, num_lanes: int) -> np.ndarray:
    """(num_lanes, G) visible geoms of each robot copy, column j the same part in every lane (the copies are one
    robot attached under per-lane name prefixes, so their geoms come in the same order)."""
    import mujoco

    geoms = robot_geoms(model)
    body_names = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, int(b)) or "" for b in model.geom_bodyid[geoms]]
    lanes = [geoms[[n.startswith(lane_prefix(k)) for n in body_names]] for k in range(num_lanes)]
    table = np.stack(lanes)
    if not (model.geom_type[table] == model.geom_type[table[:1]]).all():
        raise RuntimeError("the robot copies' geoms are not in the same order")
    return table


def geom_world_quats(model, data, geoms: np.ndarray) -> np.ndarray:
    """World orientation (wxyz) of ``geoms``: body orientation times the geom's fixed offset (no per-geom loop)."""
    return multiply(np.asarray(data.xquat)[model.geom_bodyid[geoms]], np.asarray(model.geom_quat)[geoms])


def _rgb(model, g: int) -> tuple[int, int, int]:
    mat = int(model.geom_matid[g])
    rgba = model.mat_rgba[mat] if mat >= 0 else model.geom_rgba[g]
    return tuple(int(255 * c) for c in np.clip(rgba[:3], 0, 1))  # type: ignore[return-value]


class ViserScene:
    """The viewer's MuJoCo scene mirrored into a viser server: meshes added once, poses updated per frame."""

    def __init__(self, viewer: ServedViewer, cfg: ServeCfg):
        import viser

        self.viewer, self.cfg = viewer, cfg
        self.server = viser.ViserServer(host=cfg.host, port=cfg.port, verbose=False)
        self.server.scene.set_up_direction("+z")
        # no shadow maps and no HDR environment: a browser without a GPU (software WebGL) draws the scene in a
        # fraction of the time, and the robots read as solid grey against the white page
        self.server.scene.configure_default_lights(enabled=True, cast_shadow=False)
        self.server.scene.configure_environment_map(None)
        # a light grid: everything darker than it on the page is robot (the browser test counts those pixels)
        self.server.scene.add_grid(
            "/floor",
            width=20,
            height=20,
            cell_size=0.25,
            plane="xy",
            cell_color=(225, 225, 225),
            section_color=(205, 205, 205),
        )
        model = viewer.model
        # one batched mesh per robot part, one instance per lane: a frame is one message per part, whatever the
        # number of lanes (a message per geom and lane floods a browser without a GPU and it shows stale parts)
        self.lane_geoms = lane_geoms(model, viewer.num_lanes)
        self.parts, self.handles = [], []
        for j, g in enumerate(self.lane_geoms[0]):
            mesh = geom_mesh(model, int(g))
            if mesh is None:
                continue
            vertices, faces = simplify_mesh(*mesh)
            lanes = self.lane_geoms[:, j]
            self.parts.append(j)
            self.handles.append(
                self.server.scene.add_batched_meshes_simple(
                    f"/robot/part{j}",
                    vertices,
                    faces,
                    batched_wxyzs=np.tile([1.0, 0.0, 0.0, 0.0], (len(lanes), 1)),
                    batched_positions=np.zeros((len(lanes), 3)),
                    batched_colors=_rgb(model, int(g)),
                    lod="off",
                    cast_shadow=False,
                    receive_shadow=False,
                )
            )
        self.colours = [lane_colour(k) for k in range(viewer.num_lanes)]
        # a disc in the lane's colour under each robot, matching the legend (as the video's floor discs)
        radius = 0.5 * min(viewer.spacing, viewer.extent) * 0.6
        import trimesh

        disc = trimesh.creation.cylinder(radius=radius, height=0.002, sections=32)
        # one batched mesh like the robot parts, so the discs move in the same messages as the robots they mark
        self.discs = self.server.scene.add_batched_meshes_simple(
            "/lanes",
            np.asarray(disc.vertices),
            np.asarray(disc.faces),
            batched_wxyzs=np.tile([1.0, 0.0, 0.0, 0.0], (viewer.num_lanes, 1)),
            batched_positions=np.zeros((viewer.num_lanes, 3)),
            batched_colors=np.array([[int(255 * c) for c in rgba[:3]] for rgba in self.colours], dtype=np.uint8),
            lod="off",
            cast_shadow=False,
            receive_shadow=False,
        )
        self._gui()

    def _gui(self) -> None:
        gui = self.server.gui
        self.legend = gui.add_markdown("")
        self.playing = gui.add_checkbox("play", initial_value=True)
        self.round = gui.add_slider("round", min=0, max=max(len(self.viewer.rounds) - 1, 0), step=1, initial_value=0)
        self.speed = gui.add_slider("speed", min=0.1, max=4.0, step=0.1, initial_value=float(self.viewer.cfg.speed))
        self.follow = gui.add_checkbox("camera follows", initial_value=True)

    def _aim(self, roots: np.ndarray) -> None:
        """Every browser's camera onto the robots, as the video's tracking camera (azimuth, elevation, distance)."""
        spread = float(np.ptp(roots[:, 1])) if len(roots) > 1 else 0.0
        cam = self.viewer.camera_at(roots.mean(axis=0), spread)
        az, el = np.radians(cam.azimuth), np.radians(cam.elevation)
        forward = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
        look = np.asarray(cam.lookat, dtype=np.float64)
        initial = self.server.initial_camera  # what a browser that connects next starts with
        initial.position, initial.look_at, initial.up = look - cam.distance * forward, look, (0.0, 0.0, 1.0)
        for client in self.server.get_clients().values():
            with client.atomic():
                client.camera.position, client.camera.look_at = look - cam.distance * forward, look

    @property
    def url(self) -> str:
        host = "localhost" if self.cfg.host in ("127.0.0.1", "0.0.0.0") else self.cfg.host
        return f"http://{host}:{self.server.get_port()}"

    def show(self, r: int, t: float) -> None:
        """Pose every lane at motion time ``t`` of round ``r`` and push the geom poses to the browser."""
        import mujoco

        v = self.viewer
        data = v.datas[0]
        state = v.pose_lanes(data, v.rounds[r], t)
        mujoco.mj_kinematics(v.model, data)
        geoms = self.lane_geoms[:, self.parts]  # (lanes, parts)
        positions = np.asarray(data.geom_xpos)[geoms]
        quats = geom_world_quats(v.model, data, geoms.reshape(-1)).reshape(*geoms.shape, 4)
        with self.server.atomic():
            for p, handle in enumerate(self.handles):
                handle.batched_positions, handle.batched_wxyzs = positions[:, p], quats[:, p]
            roots = np.array([data.qpos[lane.root_qpos : lane.root_qpos + 3] for lane in v.lanes])
            self.discs.batched_positions = roots * (1.0, 1.0, 0.0) + (0.0, 0.0, 0.001)
            shown = [k for k in range(len(v.lanes)) if state[k] is not None]
            if self.follow.value and shown:
                self._aim(roots[shown])
        self.legend.content = self._legend(r, t, state)

    def _legend(self, r: int, t: float, state) -> str:
        lines = [f"**round {r + 1}/{len(self.viewer.rounds)}**, t = {t:.2f} s"]
        for k, entry in enumerate(state):
            rgb = "#" + "".join(f"{int(255 * c):02x}" for c in self.colours[k][:3])
            what = "(empty)" if entry is None else f"{entry[0].set_name}: {entry[0].clip.name}"
            lines.append(f"- <span style='color:{rgb}'>■</span> lane {k}: {what}")
        return "\n".join(lines)

    def run(self) -> int:
        """Play the rounds in real time (browser controls: play, round, speed) until Ctrl-C or ``duration_s``."""
        v, start, frames = self.viewer, time.perf_counter(), 0
        t = 0.0
        try:
            while self.cfg.duration_s is None or time.perf_counter() - start < self.cfg.duration_s:
                tick = time.perf_counter()
                r = int(self.round.value)
                try:
                    self.show(r, t)
                    frames += 1
                except RuntimeError as err:
                    # viser sets an asyncio.Event from this thread while its event loop may be waiting on it
                    # ("deque mutated during iteration"); the frame's messages are queued, the next push wakes it
                    if "mutated during iteration" not in str(err):
                        raise
                if self.playing.value:
                    t += float(self.speed.value) / v.cfg.fps
                    if t > v.round_duration(v.rounds[r]):
                        t = 0.0
                        self.round.value = (r + 1) % len(v.rounds) if self.cfg.loop else r
                time.sleep(max(0.0, tick + 1.0 / v.cfg.fps - time.perf_counter()))
        except KeyboardInterrupt:
            pass
        finally:
            self.server.stop()
        return frames


def serve(viewer: ServedViewer, cfg: ServeCfg | None = None) -> int:
    """Serve ``viewer``'s lanes in the browser; prints the URL; returns the number of frames pushed."""
    scene = ViserScene(viewer, cfg or ServeCfg())
    print(
        f"[viewer] serving {viewer.num_lanes} lane(s), {len(viewer.rounds)} round(s) at {scene.url} (Ctrl-C stops)",
        flush=True,
    )
    frames = scene.run()
    print(f"[viewer] server stopped after {frames} frames", flush=True)
    return frames
