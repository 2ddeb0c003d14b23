"""The bad-input corpus: hostile and careless inputs for every entry point, generated (no committed binaries).

Each :class:`Case` names an entry point, the command line (paths relative to the case's own folder) and what must
happen: ``refuse`` (exit != 0, <= 3 lines on stderr, no traceback, nothing written) or ``accept`` (exit 0). The test
(``tests/test_bad_input.py``) runs most cases in-process and a sample through real subprocesses; extend the corpus by
adding a builder to ``CASES``.

Entry points: ``convert`` (convert_dataset), ``verify``, ``analyze``, ``mine``, ``view`` (motion viewer), ``robots``
(robot loader), ``train`` (train_amp.py), ``play`` (play.py).
"""

from __future__ import annotations

import copy
import io
import json
import os
import pickle
import shutil
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from wildrobot_amp_ext.motion import quat as Q
from wildrobot_amp_ext.robots.spec import ROBOTS_DIR

ROBOT = "wildrobot"


@dataclass
class Case:
    id: str
    entry: str
    argv: list[str]  # relative to the case folder (the test runs each case inside its own folder)
    expect: str = "refuse"  # or "accept"
    match: str | None = None  # a fragment the refusal line must contain
    files: dict[str, bytes] = field(default_factory=dict)
    subprocess: bool = False  # also run through a real subprocess
    links: dict[str, str] = field(default_factory=dict)  # symlink (relative to the case folder) -> its target
    fifos: tuple[str, ...] = ()  # named pipes: opening one for reading blocks until a writer comes
    sparse: dict[str, int] = field(default_factory=dict)  # files of this size that take no disk (all zeros)
    #: a known gap in a file another owner is fixing: reported, not failed (see /work/team/REQUESTS.md)
    xfail: str | None = None


# ----------------------------------------------------------------------------------------------------------------
# valid material the bad cases are derived from
# ----------------------------------------------------------------------------------------------------------------
def walk_dict(seconds: float = 1.0, fps: float = 30.0) -> dict:
    """A valid GMR dict for WildRobot (xyzw root quaternion, joints in RobotSpec order, no joint names)."""
    from wildrobot_amp_ext.motion.synthetic import synthetic_walk
    from wildrobot_amp_ext.robots import load_robot

    clip = synthetic_walk(load_robot(ROBOT), seconds, fps)
    return {
        "fps": fps,
        "root_pos": clip.root_pos.copy(),
        "root_rot": Q.wxyz_to_xyzw(clip.root_quat).copy(),
        "dof_pos": clip.joint_pos.copy(),
    }


def dataset_arrays(seconds: float = 1.5) -> dict[str, np.ndarray]:
    """The members of a valid reference dataset (built by the converter's own code)."""
    from wildrobot_amp_ext.dataset import build_dataset
    from wildrobot_amp_ext.dataset.schema import dataset_arrays as arrays_of
    from wildrobot_amp_ext.motion.synthetic import synthetic_walk
    from wildrobot_amp_ext.robots import load_robot

    robot = load_robot(ROBOT)
    return arrays_of(build_dataset([synthetic_walk(robot, seconds, 30.0)], robot, target_fps=30.0))


def npz_bytes(arrays: dict, compressed: bool = False, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    if allow_pickle:  # np.savez always allows pickles for object arrays
        np.savez(buf, **arrays)
    else:
        (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def pkl(obj, protocol: int = 4) -> bytes:
    return pickle.dumps(obj, protocol=protocol)


def _with(d: dict, **changes) -> dict:
    out = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in d.items()}
    for k, v in changes.items():
        if v is _DROP:
            out.pop(k, None)
        else:
            out[k] = v(out) if callable(v) and not isinstance(v, type) else v
    return out


_DROP = object()


class _Reduce:
    """Pickles as ``callable(*args)``: how attackers make a pickle call something."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def _npz_with_header(key: str, shape: tuple, dtype: str = "<f8", payload: bytes = b"") -> bytes:
    """An npz whose one member declares ``shape`` but holds only ``payload`` bytes."""
    header = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    member = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + payload
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"{key}.npy", member)
    return buf.getvalue()


def _complete(crafted: bytes, full: bytes) -> bytes:
    """The members of a valid npz ``full`` with those of ``crafted`` put in their place (so the crafted member,
    not a missing one, is what the reader meets)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(crafted)) as bad, zipfile.ZipFile(io.BytesIO(full)) as good:
        replaced = set(bad.namelist())
        with zipfile.ZipFile(buf, "w") as out:
            for info in good.infolist():
                if info.filename not in replaced:
                    out.writestr(info, good.read(info))
            for info in bad.infolist():
                out.writestr(info, bad.read(info))
    return buf.getvalue()


def _corrupt_member(data: bytes) -> bytes:
    """Flip bytes inside the first compressed member: the zip opens, the member's CRC / inflate fails."""
    raw = bytearray(data)
    for i in range(200, min(len(raw) - 200, 600)):
        raw[i] ^= 0x5A
    return bytes(raw)


def _mixed_quat(d: dict) -> np.ndarray:
    rot = d["root_rot"].copy()
    n = len(rot)
    idx = np.arange(n)[: int(0.4 * n)]
    rot[idx] = Q.xyzw_to_wxyz(rot[idx])  # 40 % of frames stored wxyz in an xyzw file
    return rot


def _yaw_walk(d: dict) -> dict:
    """The walk turning in place (yaw over +-180 deg) so the convention checks have something to see."""
    n = len(d["root_rot"])
    yaw = np.linspace(-np.pi, np.pi, n)
    d = dict(d)
    d["root_rot"] = np.stack([np.zeros(n), np.zeros(n), np.sin(yaw / 2), np.cos(yaw / 2)], axis=1)
    return d


# ----------------------------------------------------------------------------------------------------------------
# GMR pickles through the converter (and a sample through the viewer and the miner)
# ----------------------------------------------------------------------------------------------------------------
def convert_argv(inp: str = "in.pkl", out: str = "out/ref.npz", *extra: str) -> list[str]:
    return ["--robot", ROBOT, "--input", inp, "--output", out, "--quiet", *extra]


def gmr_cases(base: dict) -> list[Case]:
    n = len(base["root_pos"])
    bad: dict[str, tuple[object, str | None]] = {
        # fps: a bool or a string is not a frame rate; physical range 1..1000 Hz
        "fps_true": (_with(base, fps=True), "fps"),
        "fps_string": (_with(base, fps="30"), "fps"),
        "fps_complex": (_with(base, fps=complex(30, 0)), "fps"),
        "fps_zero": (_with(base, fps=0), "fps"),
        "fps_negative": (_with(base, fps=-30.0), "fps"),
        "fps_nan": (_with(base, fps=float("nan")), "fps"),
        "fps_inf": (_with(base, fps=float("inf")), "fps"),
        "fps_1e9": (_with(base, fps=1e9), "fps"),
        "fps_0.01": (_with(base, fps=0.01), "fps"),
        "fps_1e-6": (_with(base, fps=1e-6), "fps"),
        "fps_list": (_with(base, fps=[30.0, 30.0]), "fps"),
        "fps_none": (_with(base, fps=None), "fps"),
        "fps_missing": (_with(base, fps=_DROP), "fps"),
        "fps_huge_int": (_with(base, fps=10**400), "fps"),
        "fps_bytes": (_with(base, fps=b"30"), "fps"),
        # arrays
        "dof_complex": (_with(base, dof_pos=lambda d: d["dof_pos"].astype(np.complex128)), "dof_pos"),
        "dof_strings": (_with(base, dof_pos=lambda d: d["dof_pos"].astype(str)), "dof_pos"),
        "dof_bool": (_with(base, dof_pos=lambda d: d["dof_pos"] > 0), "dof_pos"),
        "dof_1e30": (_with(base, dof_pos=lambda d: d["dof_pos"] + 1e30), "dof_pos"),
        "root_pos_1e30": (_with(base, root_pos=lambda d: d["root_pos"] * 1e30), "root_pos"),
        "root_pos_bigint": (_with(base, root_pos=[[10**400, 0, 0]] * n), "root_pos"),
        "root_pos_nan": (
            _with(base, root_pos=lambda d: np.where(np.arange(n)[:, None] == 5, np.nan, d["root_pos"])),
            "root_pos",
        ),
        "root_pos_1d": (_with(base, root_pos=lambda d: d["root_pos"][:, 0]), "root_pos"),
        "root_pos_ragged": (_with(base, root_pos=[[0.0, 0.0, 0.3], [0.0, 0.3]] * (n // 2)), "root_pos"),
        "root_pos_object": (_with(base, root_pos=np.array([None] * n)), None),
        "quat_mixed_orders": (_with(_yaw_walk(base), root_rot=_mixed_quat), "root_rot"),
        "quat_all_wxyz": (_with(base, root_rot=lambda d: Q.xyzw_to_wxyz(d["root_rot"])), "root_rot"),
        "quat_norm_2": (_with(base, root_rot=lambda d: d["root_rot"] * 2), "root_rot"),
        "quat_zeros": (_with(base, root_rot=lambda d: d["root_rot"] * 0), "root_rot"),
        "quat_width_3": (_with(base, root_rot=lambda d: d["root_rot"][:, :3]), "root_rot"),
        "frames_mismatch": (_with(base, dof_pos=lambda d: d["dof_pos"][:-3]), None),
        "one_frame": ({k: (v[:1] if isinstance(v, np.ndarray) else v) for k, v in base.items()}, None),
        "zero_frames": ({k: (v[:0] if isinstance(v, np.ndarray) else v) for k, v in base.items()}, None),
        "joint_count_wrong": (_with(base, dof_pos=lambda d: d["dof_pos"][:, :5]), "dof_pos"),
        "joint_names_count": (_with(base, joint_names=["a", "b"]), "joint_names"),
        "joint_names_ints": (_with(base, joint_names=list(range(9))), "joint_names"),
        "joint_names_dupes": (_with(base, joint_names=["left_hip_pitch"] * 9), "joint_names"),
        "link_body_list_int": (_with(base, link_body_list=5), "link_body_list"),
        "link_body_list_nested": (_with(base, link_body_list=[["a"], ["b"]]), "link_body_list"),
        "local_body_pos_frames": (_with(base, local_body_pos=np.zeros((3, 2, 3))), "local_body_pos"),
        "top_level_list": ([base["fps"], base["root_pos"]], "dict"),
        "top_level_none": (None, "dict"),
        "object_array": (_with(base, dof_pos=np.array([1, "a"], dtype=object)), None),
    }
    cases = [
        Case(f"gmr_{name}", "convert", convert_argv(), match=match, files={"in.pkl": pkl(obj)})
        for name, (obj, match) in bad.items()
    ]
    # crafted byte streams
    proto2 = pkl(base, 2)
    crafted = {
        "empty_file": b"",
        "truncated": proto2[: len(proto2) // 2],
        "random_bytes": bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)),
        "npz_renamed_pkl": npz_bytes({"a": np.zeros(3)}),
        "os_system": pkl(_Reduce(os.system, ("touch pwned",))),
        "eval": pkl(_Reduce(eval, ("__import__('os').system('touch pwned')",))),
        "memo_index_2e9": b"\x80\x02N" + b"r" + (2_000_000_000).to_bytes(4, "little") + b".",
        "bytearray_8gb": b"\x80\x02c__builtin__\nbytearray\nJ\x00\x00\x00\x7f\x85R.",
        "bytes_8gb": b"\x80\x02c__builtin__\nbytes\nJ\x00\x00\x00\x7f\x85R.",
        "ndarray_alloc": pkl(_Reduce(np.ndarray, ((100_000, 100_000),))),
        "reconstruct_huge": pkl(_Reduce(np.core.multiarray._reconstruct, (np.ndarray, (10**10,), b"b"))),
        "shared_refs": pkl(_with(base, dof_pos=[[[0.0] * 1000] * 1000] * 1000)),
        "cycle": _cycle_pickle(),
        "deep_nesting": b"(" * 100_000 + b"l" * 100_000 + b".",
        "str_of_shared": pkl(_Reduce(str, ([[0] * 1000] * 1000,))),
        "persistent_id": b"\x80\x02P1\n.",
        "frame_8gb": b"\x80\x04\x95" + (8 << 30).to_bytes(8, "little") + b"N.",
        "binbytes8_8gb": b"\x80\x04\x8e" + (8 << 30).to_bytes(8, "little") + b".",
        "object_dtype": pkl(_Reduce(np.dtype, ("O",))),
    }
    cases += [
        Case(f"pickle_{name}", "convert", convert_argv(), files={"in.pkl": data}) for name, data in crafted.items()
    ]
    return cases


def _cycle_pickle() -> bytes:
    loop: list = []
    loop.append(loop)
    return pkl({"fps": 30.0, "root_pos": loop, "root_rot": loop, "dof_pos": loop})


def _numpy1_pickle(obj) -> bytes:
    """Protocol 2 with numpy 1.x global names (``numpy.core.multiarray``) as numpy 1.x writes them."""
    return pkl(obj, 2).replace(b"numpy._core.multiarray", b"numpy.core.multiarray")


def valid_gmr_cases(base: dict) -> list[Case]:
    unit = base["root_rot"] * 1.0005  # |q| = 1.0005: renormalised, not refused
    variants = {
        "protocol0": pkl(base, 0),
        "protocol2": pkl(base, 2),
        "protocol5": pkl(base, 5),
        "numpy1_names": _numpy1_pickle(base),
        "fps_49.5": pkl(_with(base, fps=49.5)),
        "fps_numpy_scalar": pkl(_with(base, fps=np.float32(30.0))),
        "fps_numpy_int": pkl(_with(base, fps=np.int64(30))),
        "fps_0d_array": pkl(_with(base, fps=np.array(30.0))),
        "quat_norm_1.0005": pkl(_with(base, root_rot=unit)),
        "lists_not_arrays": pkl({k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in base.items()}),
        "bytes_and_sets": pkl(_with(base, extra={b"x": {1, 2}, "y": bytearray(b"ab"), "z": frozenset([3])}), 2),
    }
    return [
        Case(f"valid_{name}", "convert", convert_argv(), expect="accept", files={"in.pkl": data})
        for name, data in variants.items()
    ]


# ----------------------------------------------------------------------------------------------------------------
# npz motion files through the converter
# ----------------------------------------------------------------------------------------------------------------
def npz_motion_cases(base: dict) -> list[Case]:
    good = {
        "fps": np.array(30.0),
        "root_pos": base["root_pos"],
        "root_quat": Q.xyzw_to_wxyz(base["root_rot"]),
        "joint_pos": base["dof_pos"],
        "joint_names": np.array(_joint_names()),
    }
    full = npz_bytes(good, compressed=True)
    files = {
        "empty": b"",
        "truncated": full[: len(full) // 2],
        "pickle_renamed": pkl(base),
        "object_member": npz_bytes({**good, "joint_pos": np.array([None, 1], dtype=object)}, allow_pickle=True),
        "huge_declared_shape": _npz_with_header("joint_pos", (10**6, 10**6)),
        "shape_vs_bytes": _npz_with_header("joint_pos", (1000, 9), payload=b"\0" * 80),
        "corrupt_member": _corrupt_member(full),
        "missing_keys": npz_bytes({"fps": np.array(30.0)}),
        "fps_string": npz_bytes({**good, "fps": np.array("30")}),
        "fps_bool": npz_bytes({**good, "fps": np.array(True)}),
        "fps_complex": npz_bytes({**good, "fps": np.array(30 + 0j)}),
        "joint_names_numbers": npz_bytes({**good, "joint_names": np.arange(9)}),
        "not_a_zip_member": _npz_member("fps", b"\x93NUMPX\x01\x00" + struct.pack("<H", 6) + b"{}   \n" + bytes(8)),
        "bad_header_dtype": _npz_with_header("fps", (), "<q8", b"\0" * 8),
    }
    for name in ("huge_declared_shape", "shape_vs_bytes", "not_a_zip_member", "bad_header_dtype"):
        files[name] = _complete(files[name], full)
    return [
        Case(f"npz_{name}", "convert", convert_argv("in.npz"), files={"in.npz": data}) for name, data in files.items()
    ]


def _joint_names() -> list[str]:
    return yaml.safe_load((ROBOTS_DIR / ROBOT / "robot.yaml").read_text())["joints"]


# ----------------------------------------------------------------------------------------------------------------
# reference datasets through verify / analyze / the viewer / training
# ----------------------------------------------------------------------------------------------------------------
def dataset_cases(arrays: dict[str, np.ndarray]) -> list[Case]:
    def change(**kw) -> bytes:
        out = dict(arrays)
        for k, v in kw.items():
            if v is _DROP:
                out.pop(k)
            else:
                out[k] = v(out[k]) if callable(v) else v
        return npz_bytes(out, allow_pickle=any(isinstance(v, np.ndarray) and v.dtype == object for v in out.values()))

    n = len(arrays["features"])
    bad = {
        "feature_spec_list": change(feature_spec=np.array("[1, 2]")),
        "feature_spec_not_json": change(feature_spec=np.array("{oops")),
        "fps_zero": change(fps=np.array(0.0)),
        "fps_string": change(fps=np.array("50")),
        "fps_true": change(fps=np.array(True)),
        "fps_1e9": change(fps=np.array(1e9)),
        "object_features": change(features=lambda a: a.astype(object)),
        "zero_frames": npz_bytes({k: (v[:0] if v.ndim and len(v) == n else v) for k, v in arrays.items()}),
        "rows_disagree": change(features=lambda a: a[:-2]),
        "huge_declared_shape": _complete(_npz_with_header("features", (10**7, 10**5), "<f4"), npz_bytes(arrays)),
        "truncated": npz_bytes(arrays, compressed=True)[:5000],
        "nan_joint_vel": change(joint_vel=lambda a: np.where(np.arange(n)[:, None] == 3, np.nan, a)),
        "root_pos_1e30": change(root_pos=lambda a: a * 1e30),
        "missing_keys": change(features=_DROP, states=_DROP),
        "robot_path_escape": change(robot=np.array("../../x")),
        "clip_start_false": change(clip_start=lambda a: np.zeros_like(a)),
        "motion_id_float_bytes": change(motion_id=lambda a: a.astype(np.float64)),
        "joint_names_numbers": change(joint_names=np.arange(9)),
        "empty_file": b"",
        "pickle_renamed": pkl({"features": arrays["features"]}),
    }
    cases = []
    for name, data in bad.items():
        files = {"ds.npz": data}
        cases.append(Case(f"dataset_{name}_verify", "verify", ["ds.npz"], files=files))
        if name in (
            "fps_zero",
            "zero_frames",
            "object_features",
            "feature_spec_list",
            "truncated",
            "huge_declared_shape",
            "robot_path_escape",
            "nan_joint_vel",
        ):
            cases.append(
                Case(f"dataset_{name}_analyze", "analyze", ["ds.npz", "--out", "an", "--no-video"], files=files)
            )
            cases.append(
                Case(f"dataset_{name}_view", "view", ["ds.npz", "--robot", ROBOT, "--out", "v.mp4"], files=files)
            )
        if name in ("fps_zero", "fps_string", "object_features", "zero_frames"):
            cases.append(
                Case(
                    f"dataset_{name}_train",
                    "train",
                    ["--task", "WildRobot-AMP-Flat-v0", "--dataset", "ds.npz", "--device", "cpu"],
                    files=files,
                )
            )
        if name in ("fps_zero", "zero_frames", "huge_declared_shape"):
            cases.append(
                Case(
                    f"dataset_{name}_mine",
                    "mine",
                    ["--robot", ROBOT, "--input", "ds.npz", "--output", "t.npz", "--workers", "1", "--no-progress"],
                    files=files,
                )
            )
    cases.append(
        Case("dataset_valid_verify", "verify", ["ds.npz"], expect="accept", files={"ds.npz": npz_bytes(arrays)})
    )
    return cases


# ----------------------------------------------------------------------------------------------------------------
# robot YAML / MJCF through the robot loader
# ----------------------------------------------------------------------------------------------------------------
def robot_cases() -> list[Case]:
    raw = yaml.safe_load((ROBOTS_DIR / ROBOT / "robot.yaml").read_text())
    xml = (ROBOTS_DIR / ROBOT / "wildrobot.xml").read_bytes()

    def mutated(fn: Callable[[dict], object]) -> bytes:
        d = copy.deepcopy(raw)
        fn(d)
        return yaml.safe_dump(d).encode()

    def act(key, value):
        return lambda d: d["actuators"][0].__setitem__(key, value)

    bad = {
        "bad_regex": mutated(lambda d: d["default_joint_pos"].__setitem__("(unclosed", 0.1)),
        "gain_string": mutated(act("kp", "stiff")),
        "gain_nan": mutated(act("kp", float("nan"))),
        "gain_bool": mutated(act("kd", True)),
        "effort_negative": mutated(act("effort_limit", -4.0)),
        "armature_negative": mutated(act("armature", -0.1)),
        "velocity_zero": mutated(act("velocity_limit", 0.0)),
        "gain_1e30": mutated(act("kp", 1e30)),
        "actuators_scalar": mutated(lambda d: d.__setitem__("actuators", [5])),
        "actuators_not_list": mutated(lambda d: d.__setitem__("actuators", 5)),
        "actuator_regex_list": mutated(act("joints", ["a", "b"])),
        "default_pose_list": mutated(lambda d: d.__setitem__("default_joint_pos", [0.1, 0.2])),
        "default_pose_string": mutated(lambda d: d["default_joint_pos"].__setitem__(".*_knee_pitch", "bent")),
        "default_pose_1e3": mutated(lambda d: d["default_joint_pos"].__setitem__(".*_knee_pitch", 1e3)),
        "one_sided_prefix": mutated(lambda d: d["symmetry"].__setitem__("swap_prefixes", ["left_", "rgt_"])),
        "prefix_scalar": mutated(lambda d: d["symmetry"].__setitem__("swap_prefixes", "left_")),
        "negate_not_list": mutated(lambda d: d["symmetry"].__setitem__("negate", 5)),
        "duplicated_foot": mutated(lambda d: d["feet"]["right"].__setitem__("body", d["feet"]["left"]["body"])),
        "foot_body_list": mutated(lambda d: d["feet"]["right"].__setitem__("body", ["x"])),
        "contact_points_nan": mutated(
            lambda d: d["feet"]["left"].__setitem__("contact_points", [[float("nan"), 0, 0], [0, 0, 0]])
        ),
        "name_escape": mutated(lambda d: d.__setitem__("name", "../../x")),
        "name_slash": mutated(lambda d: d.__setitem__("name", "a/b")),
        "self_collision_string": mutated(lambda d: d.__setitem__("self_collision", "yes")),
        "total_mass_string": mutated(lambda d: d.__setitem__("total_mass", "3.4kg")),
        "init_height_nan": mutated(lambda d: d.__setitem__("init_root_height", float("nan"))),
        "top_level_list": b"- a\n- b\n",
        "yaml_syntax": b"name: [unclosed\n",
        "not_utf8": b"name: \xff\xfe\n",
        "mjcf_missing": mutated(lambda d: d.__setitem__("mjcf", "nope.xml")),
        "joints_dupe": mutated(lambda d: d["joints"].append(d["joints"][0])),
    }
    cases = [
        Case(f"robot_{name}", "robots", ["r/robot.yaml"], files={"r/robot.yaml": data, "r/wildrobot.xml": xml})
        for name, data in bad.items()
    ]
    ball = xml.replace(
        b'<freejoint name="floating_base_joint"/>',
        b'<freejoint name="floating_base_joint"/>\n'
        b'<body name="tail"><joint name="tail_ball" type="ball"/><geom type="sphere" size="0.01" mass="0.01"/></body>',
    )
    cases.append(
        Case(
            "robot_unlisted_ball_joint",
            "robots",
            ["r/robot.yaml"],
            match="ball",
            files={"r/robot.yaml": yaml.safe_dump(raw).encode(), "r/wildrobot.xml": ball},
        )
    )
    cases.append(
        Case(
            "robot_mjcf_not_xml",
            "robots",
            ["r/robot.yaml"],
            files={"r/robot.yaml": yaml.safe_dump(raw).encode(), "r/wildrobot.xml": b"<mujoco><oops"},
        )
    )
    cases.append(Case("robot_registry_escape", "robots", ["../../etc"]))
    cases.append(Case("robot_export_under_file", "robots", [ROBOT, "--export-mjcf", "f/sub"], files={"f": b"x"}))
    cases.append(
        Case(
            "robot_valid_copy",
            "robots",
            ["r/robot.yaml"],
            expect="accept",
            files={"r/robot.yaml": yaml.safe_dump(raw).encode(), "r/wildrobot.xml": xml},
        )
    )
    return cases


# ----------------------------------------------------------------------------------------------------------------
# checkpoints through train_amp.py --checkpoint and play.py
# ----------------------------------------------------------------------------------------------------------------
def checkpoint_cases() -> list[Case]:
    import torch

    def saved(obj) -> bytes:
        buf = io.BytesIO()
        torch.save(obj, buf)
        return buf.getvalue()

    good_policy = {"net.0.weight": torch.zeros(4, 3), "net.0.bias": torch.zeros(4), "mean.weight": torch.zeros(2, 4)}
    bad = {
        "empty": b"",
        "random_bytes": bytes(range(256)) * 8,
        "os_system": saved({"policy": good_policy, "x": _Reduce(os.system, ("touch pwned",))}),
        "no_policy": saved({"value": good_policy}),
        "policy_not_dict": saved({"policy": [1, 2]}),
        "nan_weights": saved({"policy": {**good_policy, "net.0.weight": torch.full((4, 3), float("nan"))}}),
        "truncated": saved({"policy": good_policy})[:300],
        "a_pickle": pkl({"policy": {}}),
    }
    cases = []
    for name, data in bad.items():
        files = {"agent.pt": data}
        cases.append(
            Case(
                f"ckpt_{name}_train",
                "train",
                ["--task", "WildRobot-AMP-Flat-v0", "--checkpoint", "agent.pt", "--device", "cpu"],
                files=files,
            )
        )
        cases.append(
            Case(
                f"ckpt_{name}_play",
                "play",
                ["--task", "WildRobot-AMP-Flat-Play-v0", "--checkpoint", "agent.pt", "--headless", "--device", "cpu"],
                files=files,
            )
        )
    cases.append(
        Case(
            "ckpt_folder_train",
            "train",
            ["--task", "WildRobot-AMP-Flat-v0", "--checkpoint", "d", "--device", "cpu"],
            files={"d/x": b""},
        )
    )
    return cases


# ----------------------------------------------------------------------------------------------------------------
# command lines and output paths (the user's own files)
# ----------------------------------------------------------------------------------------------------------------
def path_cases(base: dict) -> list[Case]:
    motion = {"in.pkl": pkl(base)}
    nonutf8 = {"m/" + b"walk\xff".decode("utf-8", "surrogateescape") + ".pkl": pkl(base)}
    mine = ["--robot", ROBOT, "--workers", "1", "--no-progress"]
    return [
        Case("out_is_folder", "convert", convert_argv("in.pkl", "outdir"), files={**motion, "outdir/keep": b"x"}),
        Case("out_is_folder_npz", "convert", convert_argv("in.pkl", "d.npz"), files={**motion, "d.npz/keep": b"x"}),
        Case("out_under_file", "convert", convert_argv("in.pkl", "f/ref.npz"), files={**motion, "f": b"x"}),
        Case(
            "out_equals_input_npz",
            "convert",
            convert_argv("ref.npz", "ref.npz"),
            match="input",
            files={
                "ref.npz": npz_bytes(
                    {
                        "fps": np.array(30.0),
                        "root_pos": base["root_pos"],
                        "root_quat": Q.xyzw_to_wxyz(base["root_rot"]),
                        "joint_pos": base["dof_pos"],
                        "joint_names": np.array(_joint_names()),
                    }
                )
            },
        ),
        Case(
            "export_pkl_equals_input",
            "convert",
            convert_argv("in.pkl", "ref.npz", "--export-pkl", "in.pkl"),
            match="input",
            files=motion,
            subprocess=True,
        ),
        Case(
            "export_pkl_under_file",
            "convert",
            convert_argv("in.pkl", "ref.npz", "--export-pkl", "f/x.pkl"),
            files={**motion, "f": b"x"},
        ),
        Case(
            "two_outputs_same_file", "convert", convert_argv("in.pkl", "a.npz", "--export-pkl", "a.npz"), files=motion
        ),
        Case("out_inside_input_folder", "convert", convert_argv("m", "m/ref.npz"), files={"m/in.pkl": pkl(base)}),
        Case("target_fps_1e5", "convert", convert_argv("in.pkl", "ref.npz", "--target-fps", "1e5"), files=motion),
        Case("target_fps_negative", "convert", convert_argv("in.pkl", "ref.npz", "--target-fps", "-1"), files=motion),
        Case("target_fps_nan", "convert", convert_argv("in.pkl", "ref.npz", "--target-fps", "nan"), files=motion),
        Case("input_missing", "convert", convert_argv("nope.pkl", "ref.npz")),
        Case("input_empty_folder", "convert", convert_argv("m", "ref.npz"), files={"m/readme.txt": b"x"}),
        Case("input_wrong_suffix", "convert", convert_argv("in.txt", "ref.npz"), files={"in.txt": pkl(base)}),
        Case(
            "robot_unknown", "convert", ["--robot", "../../etc", "--input", "in.pkl", "--output", "r.npz"], files=motion
        ),
        Case("output_not_npz", "convert", convert_argv("in.pkl", "ref.txt"), files=motion),
        Case(
            "mine_output_equals_input",
            "mine",
            [*mine, "--input", "in.npz", "--output", "in.npz"],
            match="input",
            files={
                "in.npz": npz_bytes(
                    {
                        "fps": np.array(30.0),
                        "root_pos": base["root_pos"],
                        "root_quat": Q.xyzw_to_wxyz(base["root_rot"]),
                        "joint_pos": base["dof_pos"],
                        "joint_names": np.array(_joint_names()),
                    }
                )
            },
        ),
        Case(
            "mine_cache_dir_is_file",
            "mine",
            [*mine, "--input", "in.pkl", "--output", "t.npz", "--cache-dir", "c"],
            files={**motion, "c": b"x"},
            subprocess=True,
        ),
        Case(
            "mine_report_dir_is_file",
            "mine",
            [*mine, "--input", "in.pkl", "--output", "t.npz", "--report-dir", "rep"],
            files={**motion, "rep": b"x"},
        ),
        Case("mine_non_utf8_name", "mine", [*mine, "--input", "m", "--output", "t.npz"], files=nonutf8),
        Case(
            "mine_two_frame_clip",
            "mine",
            [*mine, "--input", "in.pkl", "--output", "t.npz"],
            files={"in.pkl": pkl({k: (v[:2] if isinstance(v, np.ndarray) else v) for k, v in base.items()})},
        ),
        Case(
            "mine_fps_1e9",
            "mine",
            [*mine, "--input", "in.pkl", "--output", "t.npz"],
            files={"in.pkl": pkl(_with(base, fps=1e9))},
        ),
        Case(
            "mine_1e30_values",
            "mine",
            [*mine, "--input", "in.pkl", "--output", "t.npz"],
            files={"in.pkl": pkl(_with(base, root_pos=lambda d: d["root_pos"] * 1e30))},
        ),
        Case(
            "analyze_out_is_file", "analyze", ["ds.npz", "--out", "f", "--no-video"], files={"f": b"x", "ds.npz": b""}
        ),
        Case(
            "view_out_is_folder",
            "view",
            ["in.pkl", "--robot", ROBOT, "--out", "v.mp4"],
            files={**motion, "v.mp4/x": b""},
        ),
        Case("view_out_equals_input", "view", ["in.pkl", "--robot", ROBOT, "--out", "in.pkl"], files=motion),
        Case(
            "view_fps_true",
            "view",
            ["in.pkl", "--robot", ROBOT, "--out", "v.mp4"],
            files={"in.pkl": pkl(_with(base, fps=True))},
        ),
        Case(
            "view_shared_refs",
            "view",
            ["in.pkl", "--robot", ROBOT, "--out", "v.mp4"],
            files={"in.pkl": pkl(_with(base, dof_pos=[[[0.0] * 1000] * 1000] * 1000))},
            subprocess=True,
        ),
        Case(
            "view_memo_bomb",
            "view",
            ["in.pkl", "--robot", ROBOT, "--out", "v.mp4"],
            files={"in.pkl": b"\x80\x02N" + b"r" + (2_000_000_000).to_bytes(4, "little") + b"."},
        ),
    ]


# ----------------------------------------------------------------------------------------------------------------
# beyond the list: special files, crafted pickles and npz headers, non-finite values in every float field,
# name tricks, sizes, robot models that allocate or backtrack without bound
# ----------------------------------------------------------------------------------------------------------------
MINE = ["--robot", ROBOT, "--workers", "1", "--no-progress"]
TRAIN = ["--task", "WildRobot-AMP-Flat-v0", "--device", "cpu"]
PLAY = ["--task", "WildRobot-AMP-Flat-Play-v0", "--headless", "--device", "cpu"]


def motion_npz(base: dict, **changes) -> bytes:
    """A project motion npz (wxyz root, joint names) with some members replaced."""
    good = {
        "fps": np.array(30.0),
        "root_pos": base["root_pos"],
        "root_quat": Q.xyzw_to_wxyz(base["root_rot"]),
        "joint_pos": base["dof_pos"],
        "joint_names": np.array(_joint_names()),
    }
    return npz_bytes({**good, **changes})


def dataset_npz(arrays: dict, **changes) -> bytes:
    out = dict(arrays)
    for k, v in changes.items():
        out[k] = v(out[k]) if callable(v) else v
    return npz_bytes(out)


def _entries(name: str, files: dict | None = None, **special) -> list[Case]:
    """The same bad input (``in`` = a motion, ``ds.npz`` = a dataset, ``agent.pt``) through several entry points."""
    return [
        Case(f"{name}_{entry}", entry, argv, files=dict(files or {}), **special)
        for entry, argv in (
            ("convert", convert_argv("in.pkl")),
            ("view", ["in.pkl", "--robot", ROBOT, "--out", "v.mp4"]),
            ("mine", [*MINE, "--input", "in.pkl", "--output", "t.npz"]),
        )
    ]


def special_file_cases(base: dict, arrays: dict) -> list[Case]:
    motion = {"in.pkl": pkl(base)}
    ds = {"ds.npz": npz_bytes(arrays)}
    cases = []
    # a motion that is /dev/zero, a FIFO, a link to a system file, a 3 GiB file: refused before it is read
    cases += _entries("devzero_link", links={"in.pkl": "/dev/zero"})
    cases += _entries("fifo", fifos=("in.pkl",))
    cases += _entries("sparse_3gib", sparse={"in.pkl": 3 << 30})
    cases += [
        Case("input_dev_zero", "convert", convert_argv("/dev/zero")),
        Case("link_to_etc_passwd", "convert", convert_argv("in.pkl"), links={"in.pkl": "/etc/passwd"}),
        Case("folder_symlink_loop", "convert", convert_argv("m"), files={"m/notes.txt": b"x"}, links={"m/loop": "."}),
        Case("folder_link_outside_only", "convert", convert_argv("m"), links={"m/etc": "/etc"}),
        # outputs that are not regular files, or links onto the input
        Case("out_is_fifo", "convert", convert_argv("in.pkl", "out.npz"), files=motion, fifos=("out.npz",)),
        Case(
            "out_link_to_input",
            "convert",
            convert_argv("in.npz", "out.npz"),
            match="input",
            files={"in.npz": motion_npz(base)},
            links={"out.npz": "in.npz"},
        ),
        Case(
            "export_pkl_link_to_input",
            "convert",
            convert_argv("in.pkl", "ref.npz", "--export-pkl", "x.pkl"),
            match="input",
            files=motion,
            links={"x.pkl": "in.pkl"},
        ),
        Case("out_dotdot", "convert", convert_argv("in.pkl", ".."), files=motion),
        Case("out_empty_name", "convert", convert_argv("in.pkl", ""), files=motion),
        Case(
            "mine_out_is_fifo",
            "mine",
            [*MINE, "--input", "in.pkl", "--output", "t.npz"],
            files=motion,
            fifos=("t.npz",),
        ),
        Case(
            "view_out_link_to_input",
            "view",
            ["in.pkl", "--robot", ROBOT, "--out", "v.mp4"],
            files=motion,
            links={"v.mp4": "in.pkl"},
        ),
        # datasets
        Case("dataset_devzero_verify", "verify", ["ds.npz"], links={"ds.npz": "/dev/zero"}),
        Case("dataset_fifo_verify", "verify", ["ds.npz"], fifos=("ds.npz",)),
        Case("dataset_sparse_3gib_verify", "verify", ["ds.npz"], sparse={"ds.npz": 3 << 30}),
        Case("dataset_folder_verify", "verify", ["ds.npz"], files={"ds.npz/x": b""}),
        Case("dataset_fifo_analyze", "analyze", ["ds.npz", "--out", "an", "--no-video"], fifos=("ds.npz",)),
        Case("analyze_out_is_fifo", "analyze", ["ds.npz", "--out", "an", "--no-video"], files=ds, fifos=("an",)),
        Case("dataset_devzero_train", "train", [*TRAIN, "--dataset", "ds.npz"], links={"ds.npz": "/dev/zero"}),
        Case("dataset_fifo_train", "train", [*TRAIN, "--dataset", "ds.npz"], fifos=("ds.npz",)),
        Case("dataset_motion_npz_train", "train", [*TRAIN, "--dataset", "ds.npz"], files={"ds.npz": motion_npz(base)}),
        # checkpoints
        Case("ckpt_devzero_train", "train", [*TRAIN, "--checkpoint", "agent.pt"], links={"agent.pt": "/dev/zero"}),
        Case("ckpt_fifo_play", "play", [*PLAY, "--checkpoint", "agent.pt"], fifos=("agent.pt",)),
        Case("ckpt_sparse_3gib_play", "play", [*PLAY, "--checkpoint", "agent.pt"], sparse={"agent.pt": 3 << 30}),
        Case("ckpt_is_a_dataset_play", "play", [*PLAY, "--checkpoint", "agent.pt"], files={"agent.pt": ds["ds.npz"]}),
        Case("ckpt_is_a_motion_train", "train", [*TRAIN, "--checkpoint", "agent.pt"], files={"agent.pt": pkl(base)}),
        # robot descriptions
        Case("robot_yaml_fifo", "robots", ["r/robot.yaml"], fifos=("r/robot.yaml",)),
        Case("robot_yaml_sparse_2mib", "robots", ["r/robot.yaml"], sparse={"r/robot.yaml": 2 << 20}),
        Case("robot_yaml_devzero", "robots", ["r/robot.yaml"], links={"r/robot.yaml": "/dev/zero"}),
        Case("robot_export_is_fifo", "robots", [ROBOT, "--export-mjcf", "out"], fifos=("out",)),
    ]
    return cases


def _dtype_flags_pickle() -> bytes:
    """An object array re-labelled as a void dtype whose state claims the object flags (numpy's setstate fails
    inside C: a SystemError, not a ValueError)."""
    data = pickle.dumps(np.array([1, "x"], dtype=object), 2).replace(b"X\x02\x00\x00\x00O8", b"X\x02\x00\x00\x00V8")
    return data.replace(b"J\xff\xff\xff\xffJ\xff\xff\xff\xffK?", b"K\x08K\x01K?")


def _setstate_shape_pickle() -> bytes:
    """A one-element array whose state claims shape (100000, 100000) with 8 bytes of data."""
    data = pickle.dumps(np.zeros(1), 2)
    return data.replace(b"K\x01\x85", b"J\xa0\x86\x01\x00J\xa0\x86\x01\x00\x86", 1)


def _nested(depth: int):
    value: list = [0.0]
    for _ in range(depth):
        value = [value]
    return value


def attacker_pickle_cases(base: dict) -> list[Case]:
    import codecs

    from numpy._core import multiarray

    crafted = {
        "dtype_object_flags": _dtype_flags_pickle(),
        "setstate_huge_shape": _setstate_shape_pickle(),
        "dtype_void_2gb": pkl(_with(base, extra=_Reduce(np.dtype, ("V2000000000",)))),
        "dtype_unicode_2gb": pkl(_with(base, extra=_Reduce(np.dtype, ("U500000000",)))),
        "codecs_rot13": pkl(_with(base, extra=_Reduce(codecs.encode, ("x", "rot13")))),
        "int_of_4000_digits": pkl(_with(base, fps=_Reduce(int, ("9" * 4000,)))),
        "str_of_list": pkl(_with(base, extra=_Reduce(str, ([1, 2],)))),
        "dict_of_generator_args": pkl(_with(base, extra=_Reduce(dict, ({"a": 1}, {"b": 2})))),
        "bytearray_of_int": pkl(_with(base, extra=_Reduce(bytearray, (10**9,)))),
        "nested_70_deep": pkl(_with(base, dof_pos=_nested(70))),
        # 2 bytes per object: EMPTY_DICT, APPEND (a 2 MB file making a million dicts, ~330 MB)
        "empty_dicts_1m": b"\x80\x02]" + b"}a" * 1_000_001 + b".",
        "builtins_getattr": pkl(_with(base, extra=_Reduce(getattr, (_Reduce(__import__, ("os",)), "system")))),
        "numpy_load": pkl(_with(base, extra=_Reduce(np.load, ("/etc/passwd",)))),
        "subclass_array": pkl(_with(base, dof_pos=base["dof_pos"].view(np.matrix))),
        "structured_dtype": pkl(_with(base, dof_pos=np.zeros(len(base["dof_pos"]), dtype=[("a", "f8"), ("b", "i4")]))),
        "fps_scalar_complex": pkl(_with(base, fps=np.complex128(30))),
    }
    cases = [
        Case(f"pickle_{name}", "convert", convert_argv(), files={"in.pkl": data}) for name, data in crafted.items()
    ]
    # a numpy scalar rebuilt through the allowed 'scalar' global is a valid fps
    scalar = pkl(_with(base, fps=_Reduce(multiarray.scalar, (np.dtype("f8"), np.float64(30.0).tobytes()))))
    cases.append(
        Case("valid_fps_via_scalar_global", "convert", convert_argv(), expect="accept", files={"in.pkl": scalar})
    )
    cases.append(
        Case(
            "valid_fortran_order",
            "convert",
            convert_argv(),
            expect="accept",
            files={
                "in.pkl": pkl({k: (np.asfortranarray(v) if isinstance(v, np.ndarray) else v) for k, v in base.items()})
            },
        )
    )
    return cases


def _npz_raw_header(key: str, header: bytes, version: bytes = b"\x01\x00", payload: bytes = b"") -> bytes:
    size = struct.pack("<H" if version == b"\x01\x00" else "<I", len(header))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"{key}.npy", b"\x93NUMPY" + version + size + header + payload)
    return buf.getvalue()


def _npz_member(key: str, member: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"{key}.npy", member)
    return buf.getvalue()


def _zip_bomb(key: str, mib: int) -> bytes:
    """A real deflate bomb: a valid .npy of ``mib`` MiB of zeros in a ~``mib`` KiB member."""
    header = repr({"descr": "<f8", "fortran_order": False, "shape": (mib << 17,)}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        with z.open(f"{key}.npy", "w", force_zip64=True) as f:
            f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header)
            chunk = bytes(1 << 20)
            for _ in range(mib):
                f.write(chunk)
    return buf.getvalue()


def _many_members(count: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k in range(count):
            z.writestr(f"m{k}.npy", b"")
    return buf.getvalue()


def npz_header_cases(base: dict) -> list[Case]:
    nested = b"{'descr': '<f8', 'fortran_order': False, 'shape': " + b"(" * 3000 + b")" * 3000 + b"}\n"
    files = {
        "negative_shape": _npz_with_header("joint_pos", (-1, 9)),
        "seventy_dims": _npz_with_header("joint_pos", (1,) * 70, payload=b"\0" * 8),
        "int64_max_dim": _npz_with_header("joint_pos", (2**63 - 1, 2)),
        "header_nested_3000": _npz_raw_header("fps", nested),
        "header_v2_4gb_length": _npz_member("fps", b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFF0) + b"{}"),
        "header_not_a_dict": _npz_raw_header("fps", b"[1, 2, 3]\n"),
        "header_code": _npz_raw_header("fps", b"__import__('os').system('touch pwned')\n"),
        "version_9": _npz_raw_header("fps", b"{}\n", version=b"\x09\x00"),
        "compression_bomb_300mib": _zip_bomb("joint_pos", 300),
        "10001_members": _many_members(10_001),
        "fortran_object": _npz_with_header("joint_pos", (2, 2), dtype="|O"),
        "dtype_void": _npz_with_header("fps", (), dtype="|V8", payload=b"\0" * 8),
        "dtype_datetime": motion_npz(base, root_pos=np.zeros((len(base["root_pos"]), 3), "datetime64[s]")),
    }
    full = motion_npz(base)
    for name in list(files):
        if name not in ("compression_bomb_300mib", "10001_members", "dtype_datetime"):
            files[name] = _complete(files[name], full)
    return [
        Case(f"npz_{name}", "convert", convert_argv("in.npz"), files={"in.npz": data}) for name, data in files.items()
    ]


def non_finite_cases(base: dict, arrays: dict) -> list[Case]:
    """NaN / Inf in every float field of every format."""
    n = len(base["root_pos"])
    rows = len(arrays["features"])

    def poison(a: np.ndarray, value: float) -> np.ndarray:
        a = a.astype(np.float64).copy() if a.dtype.kind != "f" else a.copy()
        a.reshape(len(a), -1)[len(a) // 2, 0] = value
        return a

    cases = []
    for key, value in (("root_rot", np.nan), ("dof_pos", np.inf), ("root_pos", -np.inf), ("local_body_pos", np.nan)):
        obj = _with(base, local_body_pos=np.zeros((n, 2, 3))) if key == "local_body_pos" else base
        cases.append(
            Case(
                f"gmr_{key}_{value}",
                "convert",
                convert_argv(),
                match=key,
                files={"in.pkl": pkl(_with(obj, **{key: lambda d, k=key, v=value: poison(d[k], v)}))},
            )
        )
    cases.append(
        Case("gmr_fps_neg_inf", "convert", convert_argv(), match="fps", files={"in.pkl": pkl(_with(base, fps=-np.inf))})
    )
    for key in ("root_quat", "joint_pos", "fps"):
        good = {"root_quat": Q.xyzw_to_wxyz(base["root_rot"]), "joint_pos": base["dof_pos"], "fps": np.array(30.0)}
        bad = np.array(np.nan) if key == "fps" else poison(good[key], np.nan)
        cases.append(
            Case(
                f"npz_{key}_nan",
                "convert",
                convert_argv("in.npz"),
                match=key,
                files={"in.npz": motion_npz(base, **{key: bad})},
            )
        )
    float_members = [k for k, v in arrays.items() if v.dtype.kind == "f" and v.ndim >= 1 and len(v) == rows]
    for key in float_members + ["clip_source_fps", "segment_scores"]:
        src = arrays.get(key, np.ones(1))
        cases.append(
            Case(
                f"dataset_{key}_nan_verify",
                "verify",
                ["ds.npz"],
                match=key,
                files={"ds.npz": dataset_npz(arrays, **{key: poison(src, np.nan)})},
            )
        )
    cases.append(
        Case(
            "dataset_features_inf_train",
            "train",
            [*TRAIN, "--dataset", "ds.npz"],
            files={"ds.npz": dataset_npz(arrays, features=lambda a: poison(a, np.inf))},
        )
    )
    cases.append(
        Case(
            "dataset_joint_vel_1e30_analyze",
            "analyze",
            ["ds.npz", "--out", "an", "--no-video"],
            files={"ds.npz": dataset_npz(arrays, joint_vel=lambda a: poison(a, 1e30))},
        )
    )
    spec = json.loads(str(arrays["feature_spec"]))
    for key, value in (("contact_height", "NaN"), ("lin_vel_clip", "Infinity"), ("contact_speed", "-Infinity")):
        text = json.dumps({**spec, key: 0.0}).replace(f'"{key}": 0.0', f'"{key}": {value}')
        cases.append(
            Case(
                f"dataset_spec_{key}_{value}_verify",
                "verify",
                ["ds.npz"],
                match=key,
                files={"ds.npz": dataset_npz(arrays, feature_spec=np.array(text))},
            )
        )
    # command-line floats
    motion = {"in.pkl": pkl(base)}
    for flag, value in (
        ("--target-fps", "inf"),
        ("--target-fps", "1e-9"),
        ("--contact-height", "nan"),
        ("--lin-vel-clip", "-inf"),
        ("--contact-speed", "-1"),
    ):
        cases.append(
            Case(
                f"cli_{flag.strip('-')}_{value}",
                "convert",
                convert_argv("in.pkl", "ref.npz", flag, value),
                files=motion,
            )
        )
    for flag, value in (("--fps", "nan"), ("--speed", "inf"), ("--width", "0")):
        cases.append(
            Case(
                f"view_{flag.strip('-')}_{value}",
                "view",
                ["in.pkl", "--robot", ROBOT, "--out", "v.mp4", flag, value],
                files=motion,
                xfail=None if value == "0" else "eval/viewer.py checks `value <= 0`, which NaN passes",
            )
        )
    cases.append(
        Case(
            "analyze_command_speed_nan",
            "analyze",
            ["ds.npz", "--out", "an", "--no-video", "--command-speed", "nan", "nan"],
            files={"ds.npz": npz_bytes(arrays)},
        )
    )
    return cases


def name_trick_cases(base: dict, arrays: dict) -> list[Case]:
    names = _joint_names()
    homoglyph = [names[0].replace("i", "\u0456", 1)] + names[1:]  # Cyrillic i: looks the same, is not
    nfd = ["left_hip_pitch\u0301"] + names[1:]  # a combining accent
    cases = [
        Case(
            "gmr_joint_names_homoglyph",
            "convert",
            convert_argv(),
            match="joint_names",
            files={"in.pkl": pkl(_with(base, joint_names=homoglyph))},
        ),
        Case(
            "gmr_joint_names_combining", "convert", convert_argv(), files={"in.pkl": pkl(_with(base, joint_names=nfd))}
        ),
        Case(
            "gmr_joint_names_nul",
            "convert",
            convert_argv(),
            files={"in.pkl": pkl(_with(base, joint_names=[names[0] + "\x00"] + names[1:]))},
        ),
        Case(
            "gmr_joint_name_10k_chars",
            "convert",
            convert_argv(),
            match="joint_names",
            files={"in.pkl": pkl(_with(base, joint_names=["x" * 10_000] + names[1:]))},
        ),
        Case(
            "npz_joint_names_dupes",
            "convert",
            convert_argv("in.npz"),
            match="joint_names",
            files={"in.npz": motion_npz(base, joint_names=np.array([names[0]] * len(names)))},
        ),
        Case(
            "dataset_joint_names_dupes_verify",
            "verify",
            ["ds.npz"],
            files={"ds.npz": dataset_npz(arrays, joint_names=np.array([names[0]] * len(names)))},
        ),
        Case(
            "dataset_joint_names_homoglyph_verify",
            "verify",
            ["ds.npz"],
            files={"ds.npz": dataset_npz(arrays, joint_names=np.array(homoglyph))},
        ),
        Case(
            "dataset_robot_homoglyph_verify",
            "verify",
            ["ds.npz"],
            files={"ds.npz": dataset_npz(arrays, robot=np.array("w\u0456ldrobot"))},
        ),
        Case(
            "dataset_robot_rtl_override_view",
            "view",
            ["ds.npz", "--out", "v.mp4"],
            files={"ds.npz": dataset_npz(arrays, robot=np.array("wild\u202erobot"))},
        ),
        Case(
            "dataset_contact_names_dupes_verify",
            "verify",
            ["ds.npz"],
            files={"ds.npz": dataset_npz(arrays, contact_point_names=lambda a: np.array([a[0]] * len(a)))},
        ),
        Case(
            "robot_unknown_homoglyph",
            "convert",
            ["--robot", "w\u0456ldrobot", "--input", "in.pkl", "--output", "r.npz"],
            files={"in.pkl": pkl(base)},
        ),
        Case(
            "source_robot_escape",
            "convert",
            convert_argv("in.pkl", "r.npz", "--source-robot", "../../etc"),
            files={"in.pkl": pkl(base)},
        ),
    ]
    # file names that would rewrite the terminal or hide the real name (the refusal shows them escaped)
    for label, name in (
        ("ansi_escape", "walk\x1b[2J\x1b[31m.pkl"),
        ("rtl_override", "walk\u202elkp.pkl"),
        ("newline", "walk\nerror: fake.pkl"),
    ):
        cases.append(Case(f"file_name_{label}", "convert", convert_argv("m"), files={f"m/{name}": b"not a pickle"}))
    return cases


def size_cases(base: dict, arrays: dict) -> list[Case]:
    """Zero and negative sizes, empty arrays, counts that do not match."""
    n = len(base["root_pos"])
    rows = len(arrays["features"])
    motion = {"in.pkl": pkl(base)}
    ds = {"ds.npz": npz_bytes(arrays)}
    return [
        Case(
            "gmr_dof_zero_columns",
            "convert",
            convert_argv(),
            files={"in.pkl": pkl(_with(base, dof_pos=np.zeros((n, 0))))},
        ),
        Case(
            "gmr_root_rot_zero_width",
            "convert",
            convert_argv(),
            files={"in.pkl": pkl(_with(base, root_rot=np.zeros((n, 0))))},
        ),
        Case("gmr_scalar_arrays", "convert", convert_argv(), files={"in.pkl": pkl(_with(base, root_pos=1.0))}),
        Case(
            "dataset_features_zero_columns_verify",
            "verify",
            ["ds.npz"],
            files={"ds.npz": dataset_npz(arrays, features=np.zeros((rows, 0), np.float32))},
        ),
        Case(
            "dataset_motion_id_negative_verify",
            "verify",
            ["ds.npz"],
            files={"ds.npz": dataset_npz(arrays, motion_id=lambda a: a - 5)},
        ),
        Case(
            "dataset_segment_scores_count_verify",
            "verify",
            ["ds.npz"],
            files={"ds.npz": dataset_npz(arrays, segment_scores=np.ones(7))},
        ),
        Case(
            "dataset_history_1e6_train",
            "train",
            [*TRAIN, "--dataset", "ds.npz"],
            files={
                "ds.npz": dataset_npz(
                    arrays,
                    feature_spec=np.array(
                        json.dumps({**json.loads(str(arrays["feature_spec"])), "history": 1_000_000})
                    ),
                )
            },
        ),
        Case(
            "dataset_spec_deep_json_verify",
            "verify",
            ["ds.npz"],
            files={"ds.npz": dataset_npz(arrays, feature_spec=np.array("[" * 100_000 + "]" * 100_000))},
        ),
        Case(
            "dataset_meta_deep_json_verify",
            "verify",
            ["ds.npz"],
            files={"ds.npz": dataset_npz(arrays, meta=np.array('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"))},
        ),
        Case("cli_history_0", "convert", convert_argv("in.pkl", "r.npz", "--history", "0"), files=motion),
        Case("cli_history_negative", "convert", convert_argv("in.pkl", "r.npz", "--history", "-3"), files=motion),
        Case("cli_history_1e6", "convert", convert_argv("in.pkl", "r.npz", "--history", "1000000"), files=motion),
        Case(
            "mine_workers_0",
            "mine",
            [*MINE[:2], "--workers", "0", "--input", "in.pkl", "--output", "t.npz"],
            files=motion,
        ),
        Case(
            "mine_workers_negative",
            "mine",
            [*MINE[:2], "--workers", "-4", "--input", "in.pkl", "--output", "t.npz"],
            files=motion,
        ),
        Case("train_num_envs_0", "train", [*TRAIN, "--num_envs", "0"]),
        Case("train_max_iterations_negative", "train", [*TRAIN, "--max_iterations", "-1"]),
        Case("play_num_envs_0", "play", [*PLAY, "--zero_policy", "--num_envs", "0"]),
        Case("play_video_out_txt", "play", [*PLAY, "--zero_policy", "--video_out", "v.txt"]),
        Case("analyze_clip_negative", "analyze", ["ds.npz", "--out", "an", "--no-video", "--clip", "-1"], files=ds),
        Case("analyze_clip_past_end", "analyze", ["ds.npz", "--out", "an", "--no-video", "--clip", "999"], files=ds),
    ]


def robot_attack_cases() -> list[Case]:
    raw = yaml.safe_load((ROBOTS_DIR / ROBOT / "robot.yaml").read_text())
    xml = (ROBOTS_DIR / ROBOT / "wildrobot.xml").read_bytes()

    def mutated(fn) -> bytes:
        d = copy.deepcopy(raw)
        fn(d)
        return yaml.safe_dump(d).encode()

    def act(key, value):
        return lambda d: d["actuators"][0].__setitem__(key, value)

    def robot(yaml_bytes: bytes, model: bytes = xml, **special) -> dict:
        return {"files": {"r/robot.yaml": yaml_bytes, "r/wildrobot.xml": model}, **special}

    def asset(snippet: bytes) -> bytes:
        return xml.replace(b"<worldbody>", snippet + b"\n<worldbody>", 1)

    same = yaml.safe_dump(raw).encode()
    bad = {
        "kd_inf": robot(mutated(act("kd", float("inf")))),
        "effort_nan": robot(mutated(act("effort_limit", float("nan")))),
        "velocity_inf": robot(mutated(act("velocity_limit", float("inf")))),
        "armature_nan": robot(mutated(act("armature", float("nan")))),
        "default_pose_nan": robot(mutated(lambda d: d["default_joint_pos"].__setitem__(".*_knee_pitch", float("nan")))),
        "init_height_inf": robot(mutated(lambda d: d.__setitem__("init_root_height", float("inf")))),
        "total_mass_nan": robot(mutated(lambda d: d.__setitem__("total_mass", float("nan")))),
        "contact_point_inf": robot(
            mutated(lambda d: d["feet"]["left"].__setitem__("contact_points", [[float("inf"), 0, 0], [0, 0, 0]]))
        ),
        "regex_catastrophic": robot(mutated(act("joints", "(.*)*x"))),
        "regex_nested_plus": robot(mutated(lambda d: d["default_joint_pos"].__setitem__("(a+)+b", 0.1))),
        "regex_10k_chars": robot(mutated(act("joints", "a" * 10_000))),
        "yaml_nested_10000": robot(b"name: " + b"[" * 10_000 + b"]" * 10_000 + b"\n"),
        "yaml_billion_laughs": robot(
            b"a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
            b"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\njoints: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
        ),
        "yaml_python_tag": robot(b"name: !!python/object/apply:os.system ['touch pwned']\n"),
        "name_rtl_override": robot(mutated(lambda d: d.__setitem__("name", "wild\u202erobot"))),
        "name_nul": robot(mutated(lambda d: d.__setitem__("name", "wild\x00robot"))),
        "name_dot": robot(mutated(lambda d: d.__setitem__("name", "."))),
        "name_empty": robot(mutated(lambda d: d.__setitem__("name", ""))),
        "three_feet": robot(mutated(lambda d: d["feet"].__setitem__("third", dict(d["feet"]["left"])))),
        "contact_points_3x3": robot(
            mutated(lambda d: d["feet"]["left"].__setitem__("contact_points", [[0, 0, 0]] * 3))
        ),
        "prefixes_identical": robot(mutated(lambda d: d["symmetry"].__setitem__("swap_prefixes", ["left_", "left_"]))),
        "joint_homoglyph": robot(
            mutated(lambda d: d["joints"].__setitem__(0, d["joints"][0].replace("i", "\u0456", 1)))
        ),
        "mjcf_dev_zero": robot(mutated(lambda d: d.__setitem__("mjcf", "/dev/zero"))),
        "mjcf_etc_passwd": robot(mutated(lambda d: d.__setitem__("mjcf", "/etc/passwd"))),
        "mjcf_fifo": robot(mutated(lambda d: d.__setitem__("mjcf", "pipe.xml")), fifos=("r/pipe.xml",)),
        "mjcf_folder": robot(mutated(lambda d: d.__setitem__("mjcf", "."))),
        "mjcf_hfield_40gb": robot(
            same, asset(b'<asset><hfield name="h" nrow="100000" ncol="100000" size="1 1 1 1"/></asset>')
        ),
        "mjcf_texture_30gb": robot(
            same,
            asset(b'<asset><texture name="t" type="2d" builtin="checker" width="100000" height="100000"/></asset>'),
        ),
        "mjcf_size_memory_200g": robot(same, asset(b'<size memory="200G"/>')),
        "mjcf_include_dev_zero": robot(same, asset(b'<include file="/dev/zero"/>')),
        "mjcf_mesh_dev_zero": robot(same, asset(b'<asset><mesh name="z" file="/dev/zero"/></asset>')),
        "mjcf_entity_expansion": robot(
            same,
            b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
            b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><mujoco model="&c;"/>',
        ),
    }
    cases = [Case(f"robot_{name}", "robots", ["r/robot.yaml"], **kw) for name, kw in bad.items()]
    cases.append(
        Case(
            "robot_yaml_via_convert",
            "convert",
            ["--robot", "r/robot.yaml", "--input", "in.pkl", "--output", "o.npz"],
            **robot(mutated(act("kp", float("nan")))),
        )
    )
    return cases


def build_cases() -> list[Case]:
    base = walk_dict()
    arrays = dataset_arrays()
    cases = (
        gmr_cases(base)
        + valid_gmr_cases(base)
        + npz_motion_cases(base)
        + dataset_cases(arrays)
        + robot_cases()
        + checkpoint_cases()
        + path_cases(base)
        + special_file_cases(base, arrays)
        + attacker_pickle_cases(base)
        + npz_header_cases(base)
        + non_finite_cases(base, arrays)
        + name_trick_cases(base, arrays)
        + size_cases(base, arrays)
        + robot_attack_cases()
    )
    # a sample through real subprocesses (exit codes as a user sees them)
    for case in cases:
        if case.id in (
            "pickle_memo_index_2e9",
            "gmr_fps_true",
            "dataset_fps_zero_verify",
            "robot_name_escape",
            "ckpt_os_system_train",
            "valid_protocol0",
            "fifo_convert",
            "robot_mjcf_hfield_40gb",
            "npz_compression_bomb_300mib",
        ):
            case.subprocess = True
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return cases


def write_case(case: Case, root: Path) -> Path:
    folder = root / case.id
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for rel, data in case.files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for rel, size in case.sparse.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            f.truncate(size)
    for rel in case.fifos:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(folder / rel)
    for rel, target in case.links.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, folder / rel)
    return folder


if __name__ == "__main__":  # write the corpus to a folder for manual runs: python tests/bad_input_corpus.py /tmp/corpus
    import sys

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "bad_input_corpus")
    built = build_cases()
    for c in built:
        write_case(c, target)
    (target / "cases.json").write_text(
        json.dumps([{"id": c.id, "entry": c.entry, "argv": c.argv, "expect": c.expect} for c in built], indent=1)
    )
    print(f"{len(built)} cases -> {target}")
