"""The bad-input corpus: hostile and careless inputs for every entry point, generated from tables (no binaries).

A case is one row of a table: an id, the bad material (a mutation of a valid file, or crafted bytes) and the
fragment its one-line refusal must hold (the field it names: ``field 'fps'``, ``field '--output'``, or what it says
about the file). Each table names the entry points (command lines) its rows go through. What must happen:

- ``refuse``: exit code 2, one line on stderr naming ``match``, no traceback, nothing written anywhere;
- ``verdict``: ``wildrobot-verify`` read the file and found it wrong: exit code 1, ``match`` (the failed check) in
  its report on stdout, nothing written;
- ``accept``: exit code 0 and the output it promises (the test checks it).

``tests/test_bad_input.py`` runs every case in-process and a sample through real subprocesses. Extend the corpus by
adding a row to a table. Entry points: ``convert``, ``verify``, ``analyze``, ``mine``, ``view`` (motion viewer),
``robots`` (robot loader), ``train`` (train_amp.py), ``play`` (play.py).
"""

from __future__ import annotations

import codecs
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
EXPECTS = ("refuse", "verdict", "accept")


@dataclass
class Case:
    id: str
    entry: str
    argv: list[str]  # relative to the case folder (the test runs each case inside its own folder)
    expect: str = "refuse"  # one of EXPECTS
    match: str | None = None  # refuse / verdict: the fragment the message must contain (the field it names)
    files: dict[str, bytes] = field(default_factory=dict)
    subprocess: bool = False  # also run through a real subprocess
    links: dict[str, str] = field(default_factory=dict)  # symlink (relative to the case folder) -> its target
    fifos: tuple[str, ...] = ()  # named pipes: opening one for reading blocks until a writer comes
    sparse: dict[str, int] = field(default_factory=dict)  # files of this size that take no disk (all zeros)
    #: accept: the output file (relative to the case folder) the test checks
    output: str | None = None


def F(name: str) -> str:
    """The fragment of a one-line error naming field ``name``."""
    return f"field '{name}'"


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


def npz_bytes(arrays: dict, compressed: bool = False) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)  # object arrays are pickled into the member
    return buf.getvalue()


def pkl(obj, protocol: int = 4) -> bytes:
    return pickle.dumps(obj, protocol=protocol)


_DROP = object()


def _with(d: dict, **changes) -> dict:
    """A copy of ``d`` with members replaced (a callable gets the copy), or removed (``_DROP``)."""
    out = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in d.items()}
    for k, v in changes.items():
        if v is _DROP:
            out.pop(k, None)
        else:
            out[k] = v(out) if callable(v) and not isinstance(v, type) else v
    return out


class _Reduce:
    """Pickles as ``callable(*args)``: how attackers make a pickle call something."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def _npz_member(key: str, member: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"{key}.npy", member)
    return buf.getvalue()


def _npy_header(header: bytes, version: bytes = b"\x01\x00") -> bytes:
    return b"\x93NUMPY" + version + struct.pack("<H" if version == b"\x01\x00" else "<I", len(header)) + header


def _npz_with_header(key: str, shape: tuple, dtype: str = "<f8", payload: bytes = b"") -> bytes:
    """An npz whose one member declares ``shape`` but holds only ``payload`` bytes."""
    header = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return _npz_member(key, _npy_header(header) + payload)


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


def _zip_bomb(key: str, mib: int) -> bytes:
    """A real deflate bomb: a valid .npy of ``mib`` MiB of zeros in a ~``mib`` KiB member."""
    header = repr({"descr": "<f8", "fortran_order": False, "shape": (mib << 17,)}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        with z.open(f"{key}.npy", "w", force_zip64=True) as f:
            f.write(_npy_header(header))
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


def _mixed_quat(d: dict) -> np.ndarray:
    rot = d["root_rot"].copy()
    idx = np.arange(int(0.4 * len(rot)))
    rot[idx] = Q.xyzw_to_wxyz(rot[idx])  # 40 % of frames stored wxyz in an xyzw file
    return rot


def _yaw_walk(d: dict) -> dict:
    """The walk turning in place (yaw over +-180 deg) so the convention checks have something to see."""
    yaw = np.linspace(-np.pi, np.pi, len(d["root_rot"]))
    zero = np.zeros_like(yaw)
    return {**d, "root_rot": np.stack([zero, zero, np.sin(yaw / 2), np.cos(yaw / 2)], axis=1)}


def _cycle_pickle() -> bytes:
    loop: list = []
    loop.append(loop)
    return pkl({"fps": 30.0, "root_pos": loop, "root_rot": loop, "dof_pos": loop})


def _nested(depth: int):
    value: list = [0.0]
    for _ in range(depth):
        value = [value]
    return value


def _dtype_flags_pickle() -> bytes:
    """An object array re-labelled as a void dtype whose state claims the object flags (numpy's setstate fails
    inside C: a SystemError, not a ValueError)."""
    data = pickle.dumps(np.array([1, "x"], dtype=object), 2).replace(b"X\x02\x00\x00\x00O8", b"X\x02\x00\x00\x00V8")
    return data.replace(b"J\xff\xff\xff\xffJ\xff\xff\xff\xffK?", b"K\x08K\x01K?")


def _setstate_shape_pickle() -> bytes:
    """A one-element array whose state claims shape (100000, 100000) with 8 bytes of data."""
    return pickle.dumps(np.zeros(1), 2).replace(b"K\x01\x85", b"J\xa0\x86\x01\x00J\xa0\x86\x01\x00\x86", 1)


def _poison(a: np.ndarray, value: float) -> np.ndarray:
    """``a`` (as float) with ``value`` in the middle row's first element."""
    a = a.astype(np.float64) if a.dtype.kind != "f" else a.copy()
    a.reshape(len(a), -1)[len(a) // 2, 0] = value
    return a


def _joint_names() -> list[str]:
    return yaml.safe_load((ROBOTS_DIR / ROBOT / "robot.yaml").read_text())["joints"]


def motion_npz(base: dict, **changes) -> bytes:
    """A project motion npz (wxyz root, joint names) with some members replaced (``_DROP`` removes one)."""
    good = {
        "fps": np.array(30.0),
        "root_pos": base["root_pos"],
        "root_quat": Q.xyzw_to_wxyz(base["root_rot"]),
        "joint_pos": base["dof_pos"],
        "joint_names": np.array(_joint_names()),
    }
    return npz_bytes(_with(good, **changes))


def dataset_npz(arrays: dict, **changes) -> bytes:
    """The valid dataset with members replaced (a callable gets the member), or removed (``_DROP``)."""
    out = dict(arrays)
    for k, v in changes.items():
        if v is _DROP:
            out.pop(k)
        else:
            out[k] = v(out[k]) if callable(v) else v
    return npz_bytes(out)


# ----------------------------------------------------------------------------------------------------------------
# command lines (paths relative to the case folder)
# ----------------------------------------------------------------------------------------------------------------
def convert_argv(inp: str = "in.pkl", out: str = "out/ref.npz", *extra: str) -> list[str]:
    return ["--robot", ROBOT, "--input", inp, "--output", out, "--quiet", *extra]


MINE = ["--robot", ROBOT, "--workers", "1", "--no-progress"]
#: a valid clip mined fast: balance feedback alone, no mirror, no plots (what is checked is that it mines)
FAST_MINE = ["--samples", "0", "--no-mirror", "--no-plots"]
TRAIN = ["--task", "WildRobot-AMP-Flat-v0", "--device", "cpu"]
PLAY = ["--task", "WildRobot-AMP-Flat-Play-v0", "--headless", "--device", "cpu"]
#: the command line of each entry point for one input file (``{}``)
ARGV: dict[str, Callable[[str], list[str]]] = {
    "convert": lambda f: convert_argv(f),
    "verify": lambda f: [f],
    "analyze": lambda f: [f, "--out", "an", "--no-video"],
    "view": lambda f: [f, "--robot", ROBOT, "--out", "v.mp4"],
    "mine": lambda f: [*MINE, "--input", f, "--output", "t.npz"],
    "train_dataset": lambda f: [*TRAIN, "--dataset", f],
    "train_ckpt": lambda f: [*TRAIN, "--checkpoint", f],
    "play_ckpt": lambda f: [*PLAY, "--checkpoint", f],
    "robots": lambda f: [f],
}
#: the entry point (main) each command line runs
ENTRY = {"train_dataset": "train", "train_ckpt": "train", "play_ckpt": "play"}


def _rows(
    table: dict[str, tuple[bytes, str]], file: str, routes: tuple[str, ...], prefix: str = "", suffix: bool = False
) -> list[Case]:
    """One case per (row, route): ``file`` holds the row's bytes, ``ARGV[route]`` the command line."""
    return [
        Case(
            f"{prefix}{name}" + (f"_{route.split('_')[0]}" if suffix else ""),
            ENTRY.get(route, route),
            ARGV[route](file),
            match=match,
            files={file: data},
        )
        for name, (data, match) in table.items()
        for route in routes
    ]


# ----------------------------------------------------------------------------------------------------------------
# GMR pickles through the converter
# ----------------------------------------------------------------------------------------------------------------
REFUSED = "refused to load"
UNREADABLE = "not a readable motion pickle"


def gmr_table(base: dict) -> dict[str, tuple[bytes, str]]:
    """Mutated GMR dicts and crafted pickles: id -> (pickle bytes, fragment of the refusal)."""
    n = len(base["root_pos"])
    names = _joint_names()

    def g(**changes) -> bytes:
        return pkl(_with(base, **changes))

    def frames(k: int) -> bytes:
        return pkl({key: (v[:k] if isinstance(v, np.ndarray) else v) for key, v in base.items()})

    def poisoned(key: str, value: float) -> bytes:
        obj = _with(base, local_body_pos=np.zeros((n, 2, 3))) if key == "local_body_pos" else base
        return pkl(_with(obj, **{key: lambda d: _poison(d[key], value)}))

    homoglyph = [names[0].replace("i", "\u0456", 1)] + names[1:]  # Cyrillic i: looks the same, is not
    lacks = "lacks joint(s) ['left_hip_pitch']"
    from numpy._core import multiarray

    return {
        # fps: a bool or a string is not a frame rate; physical range 1..1000 Hz
        "gmr_fps_true": (g(fps=True), F("fps")),
        "gmr_fps_string": (g(fps="30"), F("fps")),
        "gmr_fps_complex": (g(fps=complex(30, 0)), F("fps")),
        "gmr_fps_zero": (g(fps=0), F("fps")),
        "gmr_fps_negative": (g(fps=-30.0), F("fps")),
        "gmr_fps_nan": (g(fps=float("nan")), F("fps")),
        "gmr_fps_inf": (g(fps=float("inf")), F("fps")),
        "gmr_fps_neg_inf": (g(fps=-np.inf), F("fps")),
        "gmr_fps_1e9": (g(fps=1e9), F("fps")),
        "gmr_fps_0.01": (g(fps=0.01), F("fps")),
        "gmr_fps_1e-6": (g(fps=1e-6), F("fps")),
        "gmr_fps_list": (g(fps=[30.0, 30.0]), F("fps")),
        "gmr_fps_none": (g(fps=None), F("fps")),
        "gmr_fps_missing": (g(fps=_DROP), F("fps")),
        "gmr_fps_huge_int": (g(fps=10**400), F("fps")),
        "gmr_fps_bytes": (g(fps=b"30"), F("fps")),
        "pickle_fps_scalar_complex": (g(fps=np.complex128(30)), F("fps")),
        "pickle_int_of_4000_digits": (g(fps=_Reduce(int, ("9" * 4000,))), F("fps")),
        # arrays: dtype, magnitude, shape, frame count
        "gmr_dof_complex": (g(dof_pos=lambda d: d["dof_pos"].astype(np.complex128)), F("dof_pos")),
        "gmr_dof_strings": (g(dof_pos=lambda d: d["dof_pos"].astype(str)), F("dof_pos")),
        "gmr_dof_bool": (g(dof_pos=lambda d: d["dof_pos"] > 0), F("dof_pos")),
        "gmr_dof_1e30": (g(dof_pos=lambda d: d["dof_pos"] + 1e30), F("dof_pos")),
        "gmr_root_pos_1e30": (g(root_pos=lambda d: d["root_pos"] * 1e30), F("root_pos")),
        "gmr_root_pos_bigint": (g(root_pos=[[10**400, 0, 0]] * n), F("root_pos")),
        "gmr_root_pos_nan": (poisoned("root_pos", np.nan), F("root_pos")),
        "gmr_root_pos_-inf": (poisoned("root_pos", -np.inf), F("root_pos")),
        "gmr_root_rot_nan": (poisoned("root_rot", np.nan), F("root_rot")),
        "gmr_dof_pos_inf": (poisoned("dof_pos", np.inf), F("dof_pos")),
        "gmr_local_body_pos_nan": (poisoned("local_body_pos", np.nan), F("local_body_pos")),
        "gmr_root_pos_1d": (g(root_pos=lambda d: d["root_pos"][:, 0]), F("root_pos")),
        "gmr_scalar_arrays": (g(root_pos=1.0), F("root_pos")),
        "gmr_root_pos_ragged": (g(root_pos=[[0.0, 0.0, 0.3], [0.0, 0.3]] * (n // 2)), F("root_pos")),
        "gmr_root_pos_object": (g(root_pos=np.array([None] * n)), "object dtypes are not allowed"),
        "gmr_object_array": (g(dof_pos=np.array([1, "a"], dtype=object)), "object dtypes are not allowed"),
        "gmr_quat_mixed_orders": (pkl(_with(_yaw_walk(base), root_rot=_mixed_quat)), F("root_rot")),
        "gmr_quat_all_wxyz": (g(root_rot=lambda d: Q.xyzw_to_wxyz(d["root_rot"])), F("root_rot")),
        "gmr_quat_norm_2": (g(root_rot=lambda d: d["root_rot"] * 2), F("root_rot")),
        "gmr_quat_zeros": (g(root_rot=lambda d: d["root_rot"] * 0), F("root_rot")),
        "gmr_quat_width_3": (g(root_rot=lambda d: d["root_rot"][:, :3]), F("root_rot")),
        "gmr_root_rot_zero_width": (g(root_rot=np.zeros((n, 0))), F("root_rot")),
        "gmr_frames_mismatch": (g(dof_pos=lambda d: d["dof_pos"][:-3]), F("joint_pos")),
        "gmr_one_frame": (frames(1), F("root_pos")),
        "gmr_zero_frames": (frames(0), F("root_pos")),
        "gmr_joint_count_wrong": (g(dof_pos=lambda d: d["dof_pos"][:, :5]), F("dof_pos")),
        "gmr_dof_zero_columns": (g(dof_pos=np.zeros((n, 0))), F("dof_pos")),
        # joint names and body lists
        "gmr_joint_names_count": (g(joint_names=["a", "b"]), F("joint_names")),
        "gmr_joint_names_ints": (g(joint_names=list(range(9))), F("joint_names[0]")),
        "gmr_joint_names_dupes": (g(joint_names=["left_hip_pitch"] * 9), F("joint_names")),
        "gmr_joint_names_homoglyph": (g(joint_names=homoglyph), lacks),
        "gmr_joint_names_combining": (g(joint_names=["left_hip_pitch\u0301"] + names[1:]), lacks),
        "gmr_joint_names_nul": (g(joint_names=[names[0] + "\x00"] + names[1:]), lacks),
        "gmr_joint_name_10k_chars": (g(joint_names=["x" * 10_000] + names[1:]), F("joint_names[0]")),
        "gmr_link_body_list_int": (g(link_body_list=5), F("link_body_list")),
        "gmr_link_body_list_nested": (g(link_body_list=[["a"], ["b"]]), F("link_body_list[0]")),
        "gmr_local_body_pos_frames": (g(local_body_pos=np.zeros((3, 2, 3))), F("local_body_pos")),
        "gmr_top_level_list": (pkl([base["fps"], base["root_pos"]]), "expected a dict"),
        "gmr_top_level_none": (pkl(None), "expected a dict"),
        # crafted byte streams
        "pickle_empty_file": (b"", UNREADABLE),
        "pickle_truncated": (pkl(base, 2)[: len(pkl(base, 2)) // 2], UNREADABLE),
        "pickle_random_bytes": (bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)), UNREADABLE),
        "pickle_npz_renamed_pkl": (npz_bytes({"a": np.zeros(3)}), UNREADABLE),
        "pickle_binbytes8_8gb": (b"\x80\x04\x8e" + (8 << 30).to_bytes(8, "little") + b".", UNREADABLE),
        "pickle_dtype_object_flags": (_dtype_flags_pickle(), UNREADABLE),
        "pickle_setstate_huge_shape": (_setstate_shape_pickle(), UNREADABLE),
        # what a pickle may call or build (the restricted unpickler): nothing runs, nothing allocates gigabytes
        "pickle_os_system": (pkl(_Reduce(os.system, ("touch pwned",))), "'posix.system'"),
        "pickle_eval": (pkl(_Reduce(eval, ("__import__('os').system('touch pwned')",))), "'builtins.eval'"),
        "pickle_builtins_getattr": (
            g(extra=_Reduce(getattr, (_Reduce(__import__, ("os",)), "system"))),
            "'builtins.getattr'",
        ),
        "pickle_numpy_load": (g(extra=_Reduce(np.load, ("/etc/passwd",))), "'numpy.load'"),
        "pickle_subclass_array": (g(dof_pos=base["dof_pos"].view(np.matrix)), "'numpy.matrix'"),
        "pickle_memo_index_2e9": (b"\x80\x02Nr" + (2_000_000_000).to_bytes(4, "little") + b".", "memo index"),
        "pickle_bytearray_8gb": (b"\x80\x02c__builtin__\nbytearray\nJ\x00\x00\x00\x7f\x85R.", "bytearray may"),
        "pickle_bytes_8gb": (b"\x80\x02c__builtin__\nbytes\nJ\x00\x00\x00\x7f\x85R.", "bytes may"),
        "pickle_bytearray_of_int": (g(extra=_Reduce(bytearray, (10**9,))), "bytearray may"),
        "pickle_ndarray_alloc": (pkl(_Reduce(np.ndarray, ((100_000, 100_000),))), "numpy.ndarray(...) may not"),
        "pickle_reconstruct_huge": (
            pkl(_Reduce(np.core.multiarray._reconstruct, (np.ndarray, (10**10,), b"b"))),
            "exceeds the array limit",
        ),
        "pickle_shared_refs": (g(dof_pos=[[[0.0] * 1000] * 1000] * 1000), "expands to more than"),
        "pickle_cycle": (_cycle_pickle(), "reference cycle"),
        "pickle_deep_nesting": (b"(" * 100_000 + b"l" * 100_000 + b".", "nested deeper than 64"),
        "pickle_nested_70_deep": (g(dof_pos=_nested(70)), "nested deeper than 64"),
        "pickle_str_of_shared": (pkl(_Reduce(str, ([[0] * 1000] * 1000,))), "str() may only"),
        "pickle_str_of_list": (g(extra=_Reduce(str, ([1, 2],))), "str() may only"),
        "pickle_persistent_id": (b"\x80\x02P1\n.", "persistent ids"),
        "pickle_frame_8gb": (b"\x80\x04\x95" + (8 << 30).to_bytes(8, "little") + b"N.", "truncated"),
        "pickle_object_dtype": (pkl(_Reduce(np.dtype, ("O",))), "object dtypes are not allowed"),
        "pickle_dtype_void_2gb": (g(extra=_Reduce(np.dtype, ("V2000000000",))), "bytes per element"),
        "pickle_dtype_unicode_2gb": (g(extra=_Reduce(np.dtype, ("U500000000",))), "bytes per element"),
        "pickle_codecs_rot13": (g(extra=_Reduce(codecs.encode, ("x", "rot13"))), "_codecs.encode"),
        "pickle_dict_of_generator_args": (g(extra=_Reduce(dict, ({"a": 1}, {"b": 2}))), "dict() may only"),
        # 2 bytes per object: EMPTY_DICT, APPEND (a 2 MB file making a million dicts, ~330 MB)
        "pickle_empty_dicts_1m": (b"\x80\x02]" + b"}a" * 1_000_001 + b".", "pickle opcodes"),
        "pickle_structured_dtype": (
            g(dof_pos=np.zeros(n, dtype=[("a", "f8"), ("b", "i4")])),
            "objects or raw records",
        ),
        # valid elsewhere: the allowed 'scalar' global rebuilding a numpy scalar is a valid fps (below)
        "_scalar": (g(fps=_Reduce(multiarray.scalar, (np.dtype("f8"), np.float64(30.0).tobytes()))), ""),
    }


def valid_gmr_table(base: dict) -> dict[str, bytes]:
    """Pickles a user may have that must convert to the same one-clip dataset."""
    return {
        "valid_protocol0": pkl(base, 0),
        "valid_protocol2": pkl(base, 2),
        "valid_protocol5": pkl(base, 5),
        # protocol 2 with numpy 1.x global names (numpy.core.multiarray) as numpy 1.x writes them
        "valid_numpy1_names": pkl(base, 2).replace(b"numpy._core.multiarray", b"numpy.core.multiarray"),
        "valid_fps_49.5": pkl(_with(base, fps=49.5)),
        "valid_fps_numpy_scalar": pkl(_with(base, fps=np.float32(30.0))),
        "valid_fps_numpy_int": pkl(_with(base, fps=np.int64(30))),
        "valid_fps_0d_array": pkl(_with(base, fps=np.array(30.0))),
        "valid_quat_norm_1.0005": pkl(_with(base, root_rot=base["root_rot"] * 1.0005)),  # renormalised, not refused
        "valid_lists_not_arrays": pkl({k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in base.items()}),
        "valid_bytes_and_sets": pkl(_with(base, extra={b"x": {1, 2}, "y": bytearray(b"ab"), "z": frozenset([3])}), 2),
        "valid_fortran_order": pkl(
            {k: (np.asfortranarray(v) if isinstance(v, np.ndarray) else v) for k, v in base.items()}
        ),
    }


# ----------------------------------------------------------------------------------------------------------------
# npz motion files through the converter
# ----------------------------------------------------------------------------------------------------------------
NPZ_FIX = "not a readable .npz"


def npz_motion_table(base: dict) -> dict[str, tuple[bytes, str]]:
    full = motion_npz(base)
    full_z = npz_bytes({k: np.asarray(v) for k, v in np.load(io.BytesIO(full)).items()}, compressed=True)
    nested = b"{'descr': '<f8', 'fortran_order': False, 'shape': " + b"(" * 3000 + b")" * 3000 + b"}\n"
    member = lambda key, raw: _complete(_npz_member(key, raw), full)  # noqa: E731 - one crafted member, rest valid
    header = lambda key, *a, **kw: _complete(_npz_with_header(key, *a, **kw), full)  # noqa: E731
    names = _joint_names()
    return {
        "npz_empty": (b"", NPZ_FIX),
        "npz_truncated": (full_z[: len(full_z) // 2], NPZ_FIX),
        "npz_pickle_renamed": (pkl(base), NPZ_FIX),
        "npz_corrupt_member": (_corrupt_member(full_z), F("root_pos")),
        "npz_missing_keys": (npz_bytes({"fps": np.array(30.0)}), F("root_pos")),
        "npz_object_member": (motion_npz(base, joint_pos=np.array([None, 1], dtype=object)), F("joint_pos")),
        "npz_fps_string": (motion_npz(base, fps=np.array("30")), F("fps")),
        "npz_fps_bool": (motion_npz(base, fps=np.array(True)), F("fps")),
        "npz_fps_complex": (motion_npz(base, fps=np.array(30 + 0j)), F("fps")),
        "npz_fps_nan": (motion_npz(base, fps=np.array(np.nan)), F("fps")),
        "npz_root_quat_nan": (motion_npz(base, root_quat=lambda d: _poison(d["root_quat"], np.nan)), F("root_quat")),
        "npz_joint_pos_nan": (motion_npz(base, joint_pos=lambda d: _poison(d["joint_pos"], np.nan)), F("joint_pos")),
        "npz_joint_names_numbers": (motion_npz(base, joint_names=np.arange(9)), F("joint_names")),
        "npz_joint_names_dupes": (motion_npz(base, joint_names=np.array([names[0]] * len(names))), F("joint_names")),
        "npz_dtype_datetime": (
            motion_npz(base, root_pos=np.zeros((len(base["root_pos"]), 3), "datetime64[s]")),
            F("root_pos"),
        ),
        # crafted .npy headers (the reader checks dtype and declared shape before it reads data)
        "npz_huge_declared_shape": (header("joint_pos", (10**6, 10**6)), F("joint_pos")),
        "npz_shape_vs_bytes": (header("joint_pos", (1000, 9), payload=b"\0" * 80), F("joint_pos")),
        "npz_negative_shape": (header("joint_pos", (-1, 9)), F("joint_pos")),
        "npz_seventy_dims": (header("joint_pos", (1,) * 70, payload=b"\0" * 8), F("joint_pos")),
        "npz_int64_max_dim": (header("joint_pos", (2**63 - 1, 2)), F("joint_pos")),
        "npz_fortran_object": (header("joint_pos", (2, 2), dtype="|O"), F("joint_pos")),
        "npz_bad_header_dtype": (header("fps", (), "<q8", b"\0" * 8), F("fps")),
        "npz_dtype_void": (header("fps", (), dtype="|V8", payload=b"\0" * 8), F("fps")),
        "npz_not_a_zip_member": (
            member("fps", b"\x93NUMPX\x01\x00" + struct.pack("<H", 6) + b"{}   \n" + bytes(8)),
            F("fps"),
        ),
        "npz_header_nested_3000": (member("fps", _npy_header(nested)), F("fps")),
        "npz_header_v2_4gb_length": (
            member("fps", b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFF0) + b"{}"),
            F("fps"),
        ),
        "npz_header_not_a_dict": (member("fps", _npy_header(b"[1, 2, 3]\n")), F("fps")),
        "npz_header_code": (member("fps", _npy_header(b"__import__('os').system('touch pwned')\n")), F("fps")),
        "npz_version_9": (member("fps", b"\x93NUMPY\x09\x00" + struct.pack("<H", 3) + b"{}\n"), F("fps")),
        "npz_compression_bomb_300mib": (_zip_bomb("joint_pos", 300), F("joint_pos")),
        "npz_10001_members": (_many_members(10_001), "10001 members"),
    }


# ----------------------------------------------------------------------------------------------------------------
# reference datasets through verify / analyze / the viewer / training / the miner
# ----------------------------------------------------------------------------------------------------------------
def dataset_table(arrays: dict) -> dict[str, tuple[bytes, str, tuple[str, ...]]]:
    """id -> (npz bytes, fragment, the routes it goes through)."""
    n = len(arrays["features"])
    d = lambda **kw: dataset_npz(arrays, **kw)  # noqa: E731
    spec = json.loads(str(arrays["feature_spec"]))
    bad_spec = lambda key, value: np.array(  # noqa: E731 - a JSON non-finite number in one FeatureSpec field
        json.dumps({**spec, key: 0.0}).replace(f'"{key}": 0.0', f'"{key}": {value}')
    )
    V, ALL = ("verify",), ("verify", "analyze", "view")
    table = {
        "feature_spec_list": (d(feature_spec=np.array("[1, 2]")), F("feature_spec"), ALL),
        "feature_spec_not_json": (d(feature_spec=np.array("{oops")), F("feature_spec"), V),
        "spec_deep_json": (d(feature_spec=np.array("[" * 100_000 + "]" * 100_000)), F("feature_spec"), V),
        "meta_deep_json": (d(meta=np.array('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")), F("meta"), V),
        "fps_zero": (d(fps=np.array(0.0)), F("fps"), (*ALL, "train_dataset", "mine")),
        "fps_string": (d(fps=np.array("50")), F("fps"), ("verify", "train_dataset")),
        "fps_true": (d(fps=np.array(True)), F("fps"), V),
        "fps_1e9": (d(fps=np.array(1e9)), F("fps"), V),
        "object_features": (d(features=lambda a: a.astype(object)), F("features"), (*ALL, "train_dataset")),
        "zero_frames": (
            npz_bytes({k: (v[:0] if v.ndim and len(v) == n else v) for k, v in arrays.items()}),
            F("features"),
            (*ALL, "train_dataset", "mine"),
        ),
        "rows_disagree": (d(features=lambda a: a[:-2]), F("states"), V),
        "huge_declared_shape": (
            _complete(_npz_with_header("features", (10**7, 10**5), "<f4"), npz_bytes(arrays)),
            F("features"),
            (*ALL, "mine"),
        ),
        "truncated": (npz_bytes(arrays, compressed=True)[:5000], NPZ_FIX, ALL),
        "empty_file": (b"", NPZ_FIX, V),
        "pickle_renamed": (pkl({"features": arrays["features"]}), NPZ_FIX, V),
        "nan_joint_vel": (d(joint_vel=lambda a: np.where(np.arange(n)[:, None] == 3, np.nan, a)), F("joint_vel"), ALL),
        "root_pos_1e30": (d(root_pos=lambda a: a * 1e30), F("root_pos"), V),
        "joint_vel_1e30": (d(joint_vel=lambda a: _poison(a, 1e30)), F("joint_vel"), ("analyze",)),
        "features_inf": (d(features=lambda a: _poison(a, np.inf)), F("features"), ("train_dataset",)),
        "missing_keys": (d(features=_DROP, states=_DROP), F("features"), V),
        "robot_path_escape": (d(robot=np.array("../../x")), F("robot"), ALL),
        "robot_homoglyph": (d(robot=np.array("w\u0456ldrobot")), F("robot"), V),
        "robot_rtl_override": (d(robot=np.array("wild\u202erobot")), F("robot"), ("view",)),
        "clip_start_false": (d(clip_start=lambda a: np.zeros_like(a)), F("clip_start"), V),
        "motion_id_float_bytes": (d(motion_id=lambda a: a.astype(np.float64)), F("motion_id"), V),
        "motion_id_negative": (d(motion_id=lambda a: a - 5), F("motion_id"), V),
        "joint_names_numbers": (d(joint_names=np.arange(9)), F("joint_names"), V),
        "history_1e6": (
            d(feature_spec=np.array(json.dumps({**spec, "history": 1_000_000}))),
            F("feature_spec.history"),
            ("train_dataset",),
        ),
        "spec_contact_height_NaN": (d(feature_spec=bad_spec("contact_height", "NaN")), "contact_height", V),
        "spec_lin_vel_clip_Infinity": (d(feature_spec=bad_spec("lin_vel_clip", "Infinity")), "lin_vel_clip", V),
        "spec_contact_speed_-Infinity": (d(feature_spec=bad_spec("contact_speed", "-Infinity")), "contact_speed", V),
    }
    rows = len(arrays["features"])
    float_members = [k for k, v in arrays.items() if v.dtype.kind == "f" and v.ndim >= 1 and len(v) == rows]
    for key in float_members + ["clip_source_fps", "segment_scores"]:
        table[f"{key}_nan"] = (d(**{key: _poison(arrays.get(key, np.ones(1)), np.nan)}), F(key), V)
    return table


def dataset_verdict_table(arrays: dict) -> dict[str, tuple[bytes, str]]:
    """Datasets the verifier reads and finds wrong: its report names the failed check (exit 1)."""
    names = _joint_names()
    rows = len(arrays["features"])
    d = lambda **kw: dataset_npz(arrays, **kw)  # noqa: E731
    homoglyph = [names[0].replace("i", "\u0456", 1)] + names[1:]
    return {
        "dataset_joint_names_dupes_verify": (d(joint_names=np.array([names[0]] * len(names))), "[FAIL] joint order"),
        "dataset_joint_names_homoglyph_verify": (d(joint_names=np.array(homoglyph)), "[FAIL] joint order"),
        "dataset_contact_names_dupes_verify": (
            d(contact_point_names=lambda a: np.array([a[0]] * len(a))),
            "[FAIL] shapes: contact points",
        ),
        "dataset_features_zero_columns_verify": (
            d(features=np.zeros((rows, 0), np.float32)),
            "[FAIL] shapes: features",
        ),
        "dataset_segment_scores_count_verify": (d(segment_scores=np.ones(7)), "[FAIL] clips: segment_scores"),
    }


# ----------------------------------------------------------------------------------------------------------------
# robot YAML / MJCF through the robot loader
# ----------------------------------------------------------------------------------------------------------------
def robot_table() -> dict[str, tuple[bytes, bytes | None, str]]:
    """id -> (robot.yaml bytes, wildrobot.xml bytes (None: the valid one), fragment)."""
    raw = yaml.safe_load((ROBOTS_DIR / ROBOT / "robot.yaml").read_text())
    xml = (ROBOTS_DIR / ROBOT / "wildrobot.xml").read_bytes()
    same = yaml.safe_dump(raw).encode()

    def y(fn: Callable[[dict], object]) -> bytes:
        d = copy.deepcopy(raw)
        fn(d)
        return yaml.safe_dump(d).encode()

    def top(key, value) -> bytes:
        return y(lambda d: d.__setitem__(key, value))

    def act(key, value) -> tuple[bytes, None, str]:
        return y(lambda d: d["actuators"][0].__setitem__(key, value)), None, F(f"actuators[0].{key}")

    def pose(key, value) -> bytes:
        return y(lambda d: d["default_joint_pos"].__setitem__(key, value))

    def sym(key, value) -> bytes:
        return y(lambda d: d["symmetry"].__setitem__(key, value))

    def left_points(points) -> bytes:
        return y(lambda d: d["feet"]["left"].__setitem__("contact_points", points))

    def asset(snippet: bytes) -> bytes:
        return xml.replace(b"<worldbody>", snippet + b"\n<worldbody>", 1)

    knee, nan, inf = ".*_knee_pitch", float("nan"), float("inf")
    ball = xml.replace(
        b'<freejoint name="floating_base_joint"/>',
        b'<freejoint name="floating_base_joint"/>\n'
        b'<body name="tail"><joint name="tail_ball" type="ball"/><geom type="sphere" size="0.01" mass="0.01"/></body>',
    )
    return {
        "robot_gain_string": act("kp", "stiff"),
        "robot_gain_nan": act("kp", nan),
        "robot_gain_bool": act("kd", True),
        "robot_gain_1e30": act("kp", 1e30),
        "robot_kd_inf": act("kd", inf),
        "robot_effort_negative": act("effort_limit", -4.0),
        "robot_effort_nan": act("effort_limit", nan),
        "robot_armature_negative": act("armature", -0.1),
        "robot_armature_nan": act("armature", nan),
        "robot_velocity_zero": act("velocity_limit", 0.0),
        "robot_velocity_inf": act("velocity_limit", inf),
        "robot_actuator_regex_list": act("joints", ["a", "b"]),
        "robot_regex_catastrophic": act("joints", "(.*)*x"),
        "robot_regex_10k_chars": act("joints", "a" * 10_000),
        "robot_actuators_scalar": (top("actuators", [5]), None, F("actuators[0]")),
        "robot_actuators_not_list": (top("actuators", 5), None, F("actuators")),
        "robot_bad_regex": (pose("(unclosed", 0.1), None, F("default_joint_pos.(unclosed")),
        "robot_regex_nested_plus": (pose("(a+)+b", 0.1), None, F("default_joint_pos.(a+)+b")),
        "robot_default_pose_list": (top("default_joint_pos", [0.1, 0.2]), None, F("default_joint_pos")),
        "robot_default_pose_string": (pose(knee, "bent"), None, F(f"default_joint_pos.{knee}")),
        "robot_default_pose_1e3": (pose(knee, 1e3), None, F(f"default_joint_pos.{knee}")),
        "robot_default_pose_nan": (pose(knee, nan), None, F(f"default_joint_pos.{knee}")),
        "robot_one_sided_prefix": (sym("swap_prefixes", ["left_", "rgt_"]), None, F("symmetry.swap_prefixes")),
        "robot_prefix_scalar": (sym("swap_prefixes", "left_"), None, F("symmetry.swap_prefixes")),
        "robot_prefixes_identical": (sym("swap_prefixes", ["left_", "left_"]), None, F("symmetry.swap_prefixes")),
        "robot_negate_not_list": (sym("negate", 5), None, F("symmetry.negate")),
        "robot_duplicated_foot": (
            y(lambda d: d["feet"]["right"].__setitem__("body", d["feet"]["left"]["body"])),
            None,
            F("feet.right.body"),
        ),
        "robot_foot_body_list": (
            y(lambda d: d["feet"]["right"].__setitem__("body", ["x"])),
            None,
            F("feet.right.body"),
        ),
        "robot_three_feet": (y(lambda d: d["feet"].__setitem__("third", dict(d["feet"]["left"]))), None, F("feet")),
        "robot_contact_points_nan": (left_points([[nan, 0, 0], [0, 0, 0]]), None, F("feet.left.contact_points")),
        "robot_contact_point_inf": (left_points([[inf, 0, 0], [0, 0, 0]]), None, F("feet.left.contact_points")),
        "robot_contact_points_3x3": (left_points([[0, 0, 0]] * 3), None, F("feet.left.contact_points")),
        "robot_name_escape": (top("name", "../../x"), None, F("name")),
        "robot_name_slash": (top("name", "a/b"), None, F("name")),
        "robot_name_rtl_override": (top("name", "wild\u202erobot"), None, F("name")),
        "robot_name_nul": (top("name", "wild\x00robot"), None, F("name")),
        "robot_name_dot": (top("name", "."), None, F("name")),
        "robot_name_empty": (top("name", ""), None, F("name")),
        "robot_self_collision_string": (top("self_collision", "yes"), None, F("self_collision")),
        "robot_total_mass_string": (top("total_mass", "3.4kg"), None, F("total_mass")),
        "robot_total_mass_nan": (top("total_mass", nan), None, F("total_mass")),
        "robot_init_height_nan": (top("init_root_height", nan), None, F("init_root_height")),
        "robot_init_height_inf": (top("init_root_height", inf), None, F("init_root_height")),
        "robot_joints_dupe": (y(lambda d: d["joints"].append(d["joints"][0])), None, F("joints[9]")),
        "robot_joint_homoglyph": (
            y(lambda d: d["joints"].__setitem__(0, d["joints"][0].replace("i", "\u0456", 1))),
            None,
            F("joints[0]"),
        ),
        "robot_top_level_list": (b"- a\n- b\n", None, "top level must be a mapping"),
        "robot_yaml_syntax": (b"name: [unclosed\n", None, "not valid YAML"),
        "robot_not_utf8": (b"name: \xff\xfe\n", None, "not UTF-8"),
        "robot_yaml_nested_10000": (b"name: " + b"[" * 10_000 + b"]" * 10_000 + b"\n", None, "nested deeper than 64"),
        # the aliases expand to 9^4 names; a robot needs its name first
        "robot_yaml_billion_laughs": (
            b"a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
            b"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\njoints: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n",
            None,
            F("name"),
        ),
        "robot_yaml_python_tag": (b"name: !!python/object/apply:os.system ['touch pwned']\n", None, "not valid YAML"),
        "robot_mjcf_missing": (top("mjcf", "nope.xml"), None, F("mjcf")),
        "robot_mjcf_dev_zero": (top("mjcf", "/dev/zero"), None, F("mjcf")),
        "robot_mjcf_etc_passwd": (top("mjcf", "/etc/passwd"), None, "MuJoCo cannot load this MJCF"),
        "robot_mjcf_folder": (top("mjcf", "."), None, F("mjcf")),
        "robot_mjcf_not_xml": (same, b"<mujoco><oops", "MuJoCo cannot load this MJCF"),
        "robot_unlisted_ball_joint": (same, ball, F("joint tail_ball")),
        "robot_mjcf_hfield_40gb": (
            same,
            asset(b'<asset><hfield name="h" nrow="100000" ncol="100000" size="1 1 1 1"/></asset>'),
            F("hfield h"),
        ),
        "robot_mjcf_texture_30gb": (
            same,
            asset(b'<asset><texture name="t" type="2d" builtin="checker" width="100000" height="100000"/></asset>'),
            F("texture t"),
        ),
        "robot_mjcf_size_memory_200g": (same, asset(b'<size memory="200G"/>'), F("size memory")),
        "robot_mjcf_include_dev_zero": (same, asset(b'<include file="/dev/zero"/>'), "Empty file '/dev/zero'"),
        "robot_mjcf_mesh_dev_zero": (same, asset(b'<asset><mesh name="z" file="/dev/zero"/></asset>'), "/dev/zero"),
        # the entities expand to a 1000-character model name; the loader then finds none of the robot's joints
        "robot_mjcf_entity_expansion": (
            same,
            b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
            b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><mujoco model="&c;"/>',
            F("joints[0]"),
        ),
        # the valid copy (accept)
        "robot_valid_copy": (same, None, ""),
    }


# ----------------------------------------------------------------------------------------------------------------
# checkpoints through train_amp.py --checkpoint and play.py
# ----------------------------------------------------------------------------------------------------------------
def checkpoint_table() -> dict[str, tuple[bytes, str]]:
    import torch

    def saved(obj) -> bytes:
        buf = io.BytesIO()
        torch.save(obj, buf)
        return buf.getvalue()

    good = {"net.0.weight": torch.zeros(4, 3), "net.0.bias": torch.zeros(4), "mean.weight": torch.zeros(2, 4)}
    unreadable = "not a readable torch checkpoint"
    return {
        "empty": (b"", "empty file"),
        "random_bytes": (bytes(range(256)) * 8, unreadable),
        "os_system": (saved({"policy": good, "x": _Reduce(os.system, ("touch pwned",))}), "'posix.system'"),
        "no_policy": (saved({"value": good}), F("policy")),
        "policy_not_dict": (saved({"policy": [1, 2]}), F("policy")),
        "nan_weights": (
            saved({"policy": {**good, "net.0.weight": torch.full((4, 3), float("nan"))}}),
            F("policy.net.0.weight"),
        ),
        "truncated": (saved({"policy": good})[:300], unreadable),
        "a_pickle": (pkl({"policy": {}}), unreadable),
    }


# ----------------------------------------------------------------------------------------------------------------
# command lines, output paths and special files (the user's own file system)
# ----------------------------------------------------------------------------------------------------------------
def path_cases(base: dict, arrays: dict) -> list[Case]:
    """Rows that need their own command line or folder layout: (id, entry, argv, match, layout). The layout's
    ``f`` are files (``M`` the valid motion pickle, ``N`` the valid motion npz, ``D`` the valid dataset), ``l``
    symlinks, ``p`` FIFOs, ``s`` sparse files."""
    M, N, D = pkl(base), motion_npz(base), npz_bytes(arrays)
    raw = yaml.safe_load((ROBOTS_DIR / ROBOT / "robot.yaml").read_text())
    xml = (ROBOTS_DIR / ROBOT / "wildrobot.xml").read_bytes()
    bad_robot = {"r/robot.yaml": robot_table()["robot_gain_nan"][0], "r/wildrobot.xml": xml}
    fifo_robot = {"r/robot.yaml": yaml.safe_dump({**raw, "mjcf": "pipe.xml"}).encode()}
    two_frames = pkl({k: (v[:2] if isinstance(v, np.ndarray) else v) for k, v in base.items()})
    shared = pkl(_with(base, dof_pos=[[[0.0] * 1000] * 1000] * 1000))
    memo = gmr_table(base)["pickle_memo_index_2e9"][0]
    cv = convert_argv
    mine = lambda *a: [*MINE, "--input", "in.pkl", "--output", "t.npz", *a]  # noqa: E731
    view = lambda *a: ["in.pkl", "--robot", ROBOT, "--out", "v.mp4", *a]  # noqa: E731
    an = lambda *a: ["ds.npz", "--out", "an", "--no-video", *a]  # noqa: E731
    out_, is_input, regular, npz_name = F("--output"), "is also an input", "not a regular file", "must be a .npz"
    big, no_motion, torch_file = (
        "exceeds the 2048 MiB limit",
        "holds no motion files",
        "not a readable torch checkpoint",
    )
    # fmt: off
    rows = [
        # outputs: folders, files in the way, the input itself, names that are no dataset
        ("out_is_folder", "convert", cv("in.pkl", "outdir"), npz_name, {"f": {"in.pkl": M, "outdir/keep": b"x"}}),
        ("out_is_folder_npz", "convert", cv("in.pkl", "d.npz"), out_, {"f": {"in.pkl": M, "d.npz/keep": b"x"}}),
        ("out_under_file", "convert", cv("in.pkl", "f/ref.npz"), out_, {"f": {"in.pkl": M, "f": b"x"}}),
        ("out_equals_input_npz", "convert", cv("ref.npz", "ref.npz"), is_input, {"f": {"ref.npz": N}}),
        ("out_link_to_input", "convert", cv("in.npz", "out.npz"), is_input,
         {"f": {"in.npz": N}, "l": {"out.npz": "in.npz"}}),
        ("out_inside_input_folder", "convert", cv("m", "m/ref.npz"), "inside the input folder", {"f": {"m/in.pkl": M}}),
        ("out_is_fifo", "convert", cv("in.pkl", "out.npz"), out_, {"f": {"in.pkl": M}, "p": ("out.npz",)}),
        ("out_dotdot", "convert", cv("in.pkl", ".."), npz_name, {"f": {"in.pkl": M}}),
        ("out_empty_name", "convert", cv("in.pkl", ""), npz_name, {"f": {"in.pkl": M}}),
        ("output_not_npz", "convert", cv("in.pkl", "ref.txt"), npz_name, {"f": {"in.pkl": M}}),
        ("export_pkl_equals_input", "convert", cv("in.pkl", "ref.npz", "--export-pkl", "in.pkl"), F("--export-pkl"),
         {"f": {"in.pkl": M}}),
        ("export_pkl_link_to_input", "convert", cv("in.pkl", "ref.npz", "--export-pkl", "x.pkl"), F("--export-pkl"),
         {"f": {"in.pkl": M}, "l": {"x.pkl": "in.pkl"}}),
        ("export_pkl_under_file", "convert", cv("in.pkl", "ref.npz", "--export-pkl", "f/x.pkl"), F("--export-pkl"),
         {"f": {"in.pkl": M, "f": b"x"}}),
        ("two_outputs_same_file", "convert", cv("in.pkl", "a.npz", "--export-pkl", "a.npz"), "--export-pkl",
         {"f": {"in.pkl": M}}),
        # inputs that are missing, empty, devices, links out of the folder
        ("input_missing", "convert", cv("nope.pkl", "ref.npz"), "no such file or folder", {}),
        ("input_empty_folder", "convert", cv("m", "ref.npz"), no_motion, {"f": {"m/readme.txt": b"x"}}),
        ("input_wrong_suffix", "convert", cv("in.txt", "ref.npz"), "unknown motion file type", {"f": {"in.txt": M}}),
        ("input_dev_zero", "convert", cv("/dev/zero"), regular, {}),
        ("link_to_etc_passwd", "convert", cv("in.pkl"), REFUSED, {"l": {"in.pkl": "/etc/passwd"}}),
        ("folder_symlink_loop", "convert", cv("m"), no_motion, {"f": {"m/notes.txt": b"x"}, "l": {"m/loop": "."}}),
        ("folder_link_outside_only", "convert", cv("m"), no_motion, {"l": {"m/etc": "/etc"}}),
        # robots and source robots that are no robot
        ("robot_unknown", "convert", ["--robot", "../../etc", "--input", "in.pkl", "--output", "r.npz"], F("robot"),
         {"f": {"in.pkl": M}}),
        ("robot_unknown_homoglyph", "convert", ["--robot", "w\u0456ldrobot", "--input", "in.pkl", "--output", "r.npz"],
         F("robot"), {"f": {"in.pkl": M}}),
        ("source_robot_escape", "convert", cv("in.pkl", "r.npz", "--source-robot", "../../etc"), F("robot"),
         {"f": {"in.pkl": M}}),
        ("robot_yaml_via_convert", "convert", ["--robot", "r/robot.yaml", "--input", "in.pkl", "--output", "o.npz"],
         F("actuators[0].kp"), {"f": bad_robot}),
        ("robot_registry_escape", "robots", ["../../etc"], F("robot"), {}),
        ("robot_export_under_file", "robots", [ROBOT, "--export-mjcf", "f/sub"], F("--export-mjcf"),
         {"f": {"f": b"x"}}),
        ("robot_export_is_fifo", "robots", [ROBOT, "--export-mjcf", "out"], F("--export-mjcf"), {"p": ("out",)}),
        ("robot_yaml_fifo", "robots", ["r/robot.yaml"], regular, {"p": ("r/robot.yaml",)}),
        ("robot_yaml_devzero", "robots", ["r/robot.yaml"], regular, {"l": {"r/robot.yaml": "/dev/zero"}}),
        ("robot_yaml_sparse_2mib", "robots", ["r/robot.yaml"], "over 1 MiB", {"s": {"r/robot.yaml": 2 << 20}}),
        ("robot_mjcf_fifo", "robots", ["r/robot.yaml"], F("mjcf"), {"f": fifo_robot, "p": ("r/pipe.xml",)}),
        # file names that would rewrite the terminal or hide the real name (the refusal shows them escaped)
        ("file_name_ansi_escape", "convert", cv("m"), "walk\\x1b[2J", {"f": {"m/walk\x1b[2J\x1b[31m.pkl": b"x"}}),
        ("file_name_rtl_override", "convert", cv("m"), "walk\\u202e", {"f": {"m/walk\u202elkp.pkl": b"x"}}),
        ("file_name_newline", "convert", cv("m"), "walk error: fake.pkl", {"f": {"m/walk\nerror: fake.pkl": b"x"}}),
        # the miner
        ("mine_output_equals_input", "mine", [*MINE, "--input", "in.npz", "--output", "in.npz"], is_input,
         {"f": {"in.npz": N}}),
        ("mine_cache_dir_is_file", "mine", mine("--cache-dir", "c"), F("--cache-dir"), {"f": {"in.pkl": M, "c": b"x"}}),
        ("mine_report_dir_is_file", "mine", mine("--report-dir", "rep"), F("--report-dir"),
         {"f": {"in.pkl": M, "rep": b"x"}}),
        ("mine_out_is_fifo", "mine", mine(), out_, {"f": {"in.pkl": M}, "p": ("t.npz",)}),
        ("mine_two_frame_clip", "mine", mine(), F("--input"), {"f": {"in.pkl": two_frames}}),
        ("mine_fps_1e9", "mine", mine(), F("fps"), {"f": {"in.pkl": pkl(_with(base, fps=1e9))}}),
        ("mine_1e30_values", "mine", mine(), F("root_pos"),
         {"f": {"in.pkl": pkl(_with(base, root_pos=lambda d: d["root_pos"] * 1e30))}}),
        ("mine_workers_0", "mine", mine("--workers", "0"), F("--workers"), {"f": {"in.pkl": M}}),
        ("mine_workers_negative", "mine", mine("--workers", "-4"), F("--workers"), {"f": {"in.pkl": M}}),
        # analyze and the viewer
        ("analyze_out_is_file", "analyze", ["ds.npz", "--out", "f", "--no-video"], F("--out"),
         {"f": {"f": b"x", "ds.npz": b""}}),
        ("analyze_out_is_fifo", "analyze", an(), F("--out"), {"f": {"ds.npz": D}, "p": ("an",)}),
        ("analyze_command_speed_nan", "analyze", an("--command-speed", "nan", "nan"), F("--command-speed"),
         {"f": {"ds.npz": D}}),
        ("analyze_clip_negative", "analyze", an("--clip", "-1"), F("--clip"), {"f": {"ds.npz": D}}),
        ("analyze_clip_past_end", "analyze", an("--clip", "999"), F("--clip"), {"f": {"ds.npz": D}}),
        ("view_out_is_folder", "view", view(), F("--out"), {"f": {"in.pkl": M, "v.mp4/x": b""}}),
        ("view_out_equals_input", "view", ["in.pkl", "--robot", ROBOT, "--out", "in.pkl"], "unsupported video type",
         {"f": {"in.pkl": M}}),
        ("view_out_link_to_input", "view", view(), F("--out"), {"f": {"in.pkl": M}, "l": {"v.mp4": "in.pkl"}}),
        ("view_fps_nan", "view", view("--fps", "nan"), F("--fps"), {"f": {"in.pkl": M}}),
        ("view_speed_inf", "view", view("--speed", "inf"), F("--speed"), {"f": {"in.pkl": M}}),
        ("view_width_0", "view", view("--width", "0"), F("--width"), {"f": {"in.pkl": M}}),
        ("view_fps_true", "view", view(), F("fps"), {"f": {"in.pkl": pkl(_with(base, fps=True))}}),
        ("view_shared_refs", "view", view(), "expands to more than", {"f": {"in.pkl": shared}}),
        ("view_memo_bomb", "view", view(), "memo index", {"f": {"in.pkl": memo}}),
        # datasets and checkpoints that are special files or the wrong kind of file
        ("dataset_devzero_verify", "verify", ["ds.npz"], regular, {"l": {"ds.npz": "/dev/zero"}}),
        ("dataset_fifo_verify", "verify", ["ds.npz"], regular, {"p": ("ds.npz",)}),
        ("dataset_folder_verify", "verify", ["ds.npz"], regular, {"f": {"ds.npz/x": b""}}),
        ("dataset_sparse_3gib_verify", "verify", ["ds.npz"], big, {"s": {"ds.npz": 3 << 30}}),
        ("dataset_fifo_analyze", "analyze", an(), regular, {"p": ("ds.npz",)}),
        ("dataset_devzero_train", "train", [*TRAIN, "--dataset", "ds.npz"], regular, {"l": {"ds.npz": "/dev/zero"}}),
        ("dataset_fifo_train", "train", [*TRAIN, "--dataset", "ds.npz"], regular, {"p": ("ds.npz",)}),
        ("dataset_motion_npz_train", "train", [*TRAIN, "--dataset", "ds.npz"], F("features"), {"f": {"ds.npz": N}}),
        ("ckpt_folder_train", "train", [*TRAIN, "--checkpoint", "d"], regular, {"f": {"d/x": b""}}),
        ("ckpt_devzero_train", "train", [*TRAIN, "--checkpoint", "agent.pt"], regular,
         {"l": {"agent.pt": "/dev/zero"}}),
        ("ckpt_fifo_play", "play", [*PLAY, "--checkpoint", "agent.pt"], regular, {"p": ("agent.pt",)}),
        ("ckpt_sparse_3gib_play", "play", [*PLAY, "--checkpoint", "agent.pt"], big, {"s": {"agent.pt": 3 << 30}}),
        ("ckpt_is_a_dataset_play", "play", [*PLAY, "--checkpoint", "agent.pt"], torch_file, {"f": {"agent.pt": D}}),
        ("ckpt_is_a_motion_train", "train", [*TRAIN, "--checkpoint", "agent.pt"], torch_file, {"f": {"agent.pt": M}}),
        # training / playback flags
        ("train_num_envs_0", "train", [*TRAIN, "--num_envs", "0"], F("--num_envs"), {}),
        ("train_max_iterations_negative", "train", [*TRAIN, "--max_iterations", "-1"], F("--max_iterations"), {}),
        ("play_num_envs_0", "play", [*PLAY, "--zero_policy", "--num_envs", "0"], F("--num_envs"), {}),
        ("play_video_out_txt", "play", [*PLAY, "--zero_policy", "--video_out", "v.txt"], "unsupported video type", {}),
    ]
    # paths that loop through symbolic links (a -> b -> a, or a link to itself), as inputs and as outputs:
    # refused in one line before any work (pathlib's resolve() raised RuntimeError: a traceback)
    loop, cycle = "loops through symbolic links", {"l": {"a.pkl": "b.pkl", "b.pkl": "a.pkl"}}
    self_ = lambda name: {"l": {name: Path(name).name}}  # noqa: E731 - a link to itself (targets are relative)
    rows += [
        ("loop_input_convert", "convert", cv("a.pkl"), loop, cycle),
        ("loop_input_folder_convert", "convert", cv("m"), loop, {"l": {"m": "m"}}),
        ("loop_input_mine", "mine", [*MINE, "--input", "a.pkl", "--output", "t.npz"], loop, cycle),
        ("loop_input_view", "view", ["a.pkl", "--robot", ROBOT, "--out", "v.mp4"], loop, cycle),
        ("loop_output_convert", "convert", cv("in.pkl", "o.npz"), F("--output"),
         {"f": {"in.pkl": M}, **self_("o.npz")}),
        ("loop_report_dir_mine", "mine", mine("--report-dir", "rep"), F("--report-dir"),
         {"f": {"in.pkl": M}, **self_("rep")}),
        ("loop_dataset_verify", "verify", ["ds.npz"], loop, self_("ds.npz")),
        ("loop_dataset_analyze", "analyze", an(), loop, self_("ds.npz")),
        ("loop_dataset_train", "train", [*TRAIN, "--dataset", "ds.npz"], F("--dataset"), self_("ds.npz")),
        ("loop_checkpoint_play", "play", [*PLAY, "--checkpoint", "agent.pt"], F("--checkpoint"), self_("agent.pt")),
        ("loop_robot_yaml", "robots", ["r/robot.yaml"], loop, self_("r/robot.yaml")),
    ]
    # a motion that is /dev/zero, a FIFO, a 3 GiB file: refused before it is read, by every reader of motions
    for name, layout in (("devzero_link", {"l": {"in.pkl": "/dev/zero"}}), ("fifo", {"p": ("in.pkl",)})):
        rows += [(f"{name}_{e}", e, ARGV[e]("in.pkl"), m, layout)
                 for e, m in (("convert", regular), ("view", "in.pkl"), ("mine", regular))]
    rows += [(f"sparse_3gib_{e}", e, ARGV[e]("in.pkl"), big, {"s": {"in.pkl": 3 << 30}})
             for e in ("convert", "view", "mine")]
    # converter flags: (flag, value) -> the field the refusal names
    flags = [("--target-fps", v, "target_fps_" + n) for v, n in (("1e5", "1e5"), ("-1", "negative"), ("nan", "nan"))]
    flags += [("--target-fps", "inf", None), ("--target-fps", "1e-9", None), ("--contact-height", "nan", None),
              ("--lin-vel-clip", "-inf", None), ("--contact-speed", "-1", None)]
    rows += [(cid or f"cli_{flag.strip('-')}_{value}", "convert", cv("in.pkl", "ref.npz", flag, value), flag,
              {"f": {"in.pkl": M}}) for flag, value, cid in flags]
    rows += [(f"cli_history_{n}", "convert", cv("in.pkl", "r.npz", "--history", v), F("--history"),
              {"f": {"in.pkl": M}}) for n, v in (("0", "0"), ("negative", "-3"), ("1e6", "1000000"))]
    # fmt: on
    return [
        Case(
            cid,
            entry,
            argv,
            match=match,
            files=lay.get("f", {}),
            links=lay.get("l", {}),
            fifos=lay.get("p", ()),
            sparse=lay.get("s", {}),
        )
        for cid, entry, argv, match, lay in rows
    ]  # fmt: skip


# ----------------------------------------------------------------------------------------------------------------
# the corpus
# ----------------------------------------------------------------------------------------------------------------
#: a sample through real subprocesses (exit codes as a user sees them)
SUBPROCESS_SAMPLE = (
    "pickle_memo_index_2e9",
    "gmr_fps_true",
    "dataset_fps_zero_verify",
    "robot_name_escape",
    "ckpt_os_system_train",
    "valid_protocol0",
    "fifo_convert",
    "robot_mjcf_hfield_40gb",
    "npz_compression_bomb_300mib",
    "dataset_joint_names_dupes_verify",
    "export_pkl_equals_input",
    "mine_cache_dir_is_file",
    "view_shared_refs",
)


def build_cases() -> list[Case]:
    base = walk_dict()
    arrays = dataset_arrays()
    xml = (ROBOTS_DIR / ROBOT / "wildrobot.xml").read_bytes()
    gmr = gmr_table(base)
    scalar = gmr.pop("_scalar")[0]
    cases = _rows(gmr, "in.pkl", ("convert",))
    valid = {**valid_gmr_table(base), "valid_fps_via_scalar_global": scalar}
    cases += [
        Case(cid, "convert", convert_argv(), expect="accept", files={"in.pkl": data}, output="out/ref.npz")
        for cid, data in valid.items()
    ]
    name = "m/" + b"w\xffalk \xe9\x80 \x1b[31m\n.pkl".decode("utf-8", "surrogateescape")
    cases += [
        Case("valid_any_file_name_convert", "convert", convert_argv("m"), "accept", files={name: pkl(base)},
             output="out/ref.npz"),
        Case("valid_any_file_name_mine", "mine", [*MINE, "--input", "m", "--output", "t.npz", *FAST_MINE], "accept",
             files={name: pkl(base)}, output="t.npz"),
    ]  # fmt: skip
    cases += _rows(npz_motion_table(base), "in.npz", ("convert",))
    for name, (data, match, routes) in dataset_table(arrays).items():
        cases += _rows({f"dataset_{name}": (data, match)}, "ds.npz", routes, suffix=True)
    cases += [
        Case(cid, "verify", ["ds.npz"], expect="verdict", match=m, files={"ds.npz": data})
        for cid, (data, m) in dataset_verdict_table(arrays).items()
    ]
    cases.append(
        Case("dataset_valid_verify", "verify", ["ds.npz"], expect="accept", files={"ds.npz": npz_bytes(arrays)})
    )
    for cid, (yaml_bytes, model, match) in robot_table().items():
        files = {"r/robot.yaml": yaml_bytes, "r/wildrobot.xml": model or xml}
        expect = "accept" if cid == "robot_valid_copy" else "refuse"
        cases.append(Case(cid, "robots", ["r/robot.yaml"], expect=expect, match=match or None, files=files))
    cases += _rows(checkpoint_table(), "agent.pt", ("train_ckpt", "play_ckpt"), prefix="ckpt_", suffix=True)
    cases += path_cases(base, arrays)
    for case in cases:
        case.subprocess = case.subprocess or case.id in SUBPROCESS_SAMPLE
        assert case.expect in EXPECTS and (case.expect == "accept" or case.match), f"{case.id}: no match"
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
        json.dumps(
            [{"id": c.id, "entry": c.entry, "argv": c.argv, "expect": c.expect, "match": c.match} for c in built],
            indent=1,
        )
    )
    print(f"{len(built)} cases -> {target}")
