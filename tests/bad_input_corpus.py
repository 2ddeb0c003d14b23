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
        "not_a_zip_member": _npz_with_header("fps", (), "<f8", b"\0" * 8).replace(b"NUMPY", b"NUMPX"),
        "bad_header_dtype": _npz_with_header("fps", (), "<q8", b"\0" * 8),
    }
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
        "huge_declared_shape": _npz_with_header("features", (10**7, 10**5), "<f4"),
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
