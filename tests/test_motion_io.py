"""Motion readers: restricted unpickler, GMR/npz/Isaac Lab layouts, joint mapping by name, validation, xyzw/wxyz."""

from __future__ import annotations

import os
import pickle
import subprocess

import numpy as np
import pytest

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.motion import (
    MotionClip,
    ReadOptions,
    UnsafePickleError,
    load_motion,
    read_motion_file,
    safe_load,
    save_motion_npz,
)
from wildrobot_amp_ext.motion import quat as Q
from wildrobot_amp_ext.motion.safe_pickle import safe_loads
from wildrobot_amp_ext.robots import load_robot


@pytest.fixture(scope="module")
def g1_29():
    return load_robot("unitree_g1_29dof")


@pytest.fixture(scope="module")
def g1_23():
    return load_robot("unitree_g1_23dof")


def _motion(robot, n=60, fps=30.0, heading=0.6, seed=0):
    """Upright root with a slow yaw sweep and a little pitch/roll; distinct values per joint."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fps
    yaw = heading + 0.3 * np.sin(t)
    quat = Q.multiply(
        Q.from_axis_angle(np.array([0, 0, 1.0]), yaw), Q.from_axis_angle(np.array([0, 1.0, 0]), 0.05 * np.sin(3 * t))
    )
    root_pos = np.column_stack((0.5 * t, 0.1 * t, 0.75 + 0.01 * np.sin(5 * t)))
    joint_pos = robot.default_joint_pos + 0.2 * np.sin(
        t[:, None] * rng.uniform(1, 3, robot.num_joints) + rng.uniform(0, 6, robot.num_joints)
    )
    return MotionClip("m", fps, root_pos, quat, robot.joint_names, joint_pos)


def _gmr(path, clip, quat_xyzw=None, **extra):
    payload = {
        "fps": clip.fps,
        "root_pos": clip.root_pos,
        "root_rot": Q.wxyz_to_xyzw(clip.root_quat) if quat_xyzw is None else quat_xyzw,
        "dof_pos": clip.joint_pos,
        "local_body_pos": None,
        "link_body_list": None,
        **extra,
    }
    with open(path, "wb") as f:
        pickle.dump(payload, f, protocol=pickle.HIGHEST_PROTOCOL)
    return path


# ------------------------------------------------------------------------------------------------------------------
# restricted unpickler
# ------------------------------------------------------------------------------------------------------------------
class _Touch:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


class _Popen:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (subprocess.Popen, (["touch", str(self.target)],))


@pytest.mark.parametrize("payload_cls", [_Touch, _Popen])
@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_malicious_pickle_does_not_run(tmp_path, g1_23, payload_cls, protocol):
    target = tmp_path / "pwned"
    clip = _motion(g1_23)
    path = tmp_path / "evil.pkl"
    payload = {
        "fps": 30.0,
        "root_pos": clip.root_pos,
        "root_rot": Q.wxyz_to_xyzw(clip.root_quat),
        "dof_pos": clip.joint_pos,
        "x": payload_cls(target),
    }
    path.write_bytes(pickle.dumps(payload, protocol=protocol))
    with pickle_guard(target):
        with pytest.raises(UnsafePickleError) as err:
            load_motion(path, g1_23)
    assert not target.exists()
    assert "refused" in str(err.value) and "\n" not in str(err.value)


class pickle_guard:
    """Fails the test if the target appears even after a short delay (Popen would run asynchronously)."""

    def __init__(self, target):
        self.target = target

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        import time

        time.sleep(0.2)
        assert not self.target.exists(), "the pickle executed code"
        return False


def test_eval_and_getattr_globals_are_refused():
    for module, name in (("builtins", "eval"), ("builtins", "getattr"), ("numpy", "load"), ("os", "system")):
        # hand-written protocol-0 stream: GLOBAL module name, then call with one string argument
        data = f"c{module}\n{name}\n(S'1+1'\ntR.".encode()
        with pytest.raises(UnsafePickleError):
            safe_loads(data)


def test_arrays_scalars_and_containers_round_trip_every_protocol():
    d = {
        "a": np.arange(12.0).reshape(3, 4),
        "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        "i32": np.arange(5, dtype=np.int32),
        "s": np.array(["left", "right"]),
        "scalar": np.float64(2.5),
        "n": np.int64(7),
        "list": [1, 2.0, "x", None, (1, 2)],
        "set": {1, 2},
        "bytes": b"\x00\x01",
    }
    for protocol in range(0, pickle.HIGHEST_PROTOCOL + 1):
        out = safe_loads(pickle.dumps(d, protocol=protocol))
        assert np.array_equal(out["a"], d["a"]) and np.array_equal(out["fortran"], d["fortran"])
        assert out["i32"].dtype == np.int32 and list(out["s"]) == ["left", "right"]
        assert (
            out["scalar"] == 2.5
            and out["n"] == 7
            and out["list"] == d["list"]
            and out["set"] == {1, 2}
            and out["bytes"] == b"\x00\x01"
        )


def test_object_arrays_are_refused():
    with pytest.raises(InputError):
        safe_loads(pickle.dumps(np.array([1, "a"], dtype=object)))


def test_truncated_pickle_is_an_input_error(tmp_path):
    path = tmp_path / "cut.pkl"
    path.write_bytes(pickle.dumps({"a": np.zeros(100)})[:40])
    with pytest.raises(InputError, match="not a readable motion pickle"):
        safe_load(path)


# ------------------------------------------------------------------------------------------------------------------
# GMR pickles and joint mapping
# ------------------------------------------------------------------------------------------------------------------
def test_gmr_reader_converts_xyzw_to_wxyz(tmp_path, g1_23):
    clip = _motion(g1_23)
    (out,) = load_motion(_gmr(tmp_path / "a.pkl", clip), g1_23)
    np.testing.assert_allclose(out.root_quat, clip.root_quat, atol=1e-12)
    np.testing.assert_allclose(out.joint_pos, clip.joint_pos)
    assert out.fps == 30.0 and out.joint_names == g1_23.joint_names


def test_29_to_23_mapping_by_name(tmp_path, g1_29, g1_23):
    clip = _motion(g1_29)
    path = _gmr(tmp_path / "g1_29.pkl", clip)
    (out,) = load_motion(path, g1_23, source_robot="unitree_g1_29dof")
    assert out.joint_pos.shape == (clip.num_frames, 23)
    for j, name in enumerate(g1_23.joint_names):
        np.testing.assert_array_equal(out.joint_pos[:, j], clip.joint_pos[:, g1_29.joint_index[name]])
    assert set(out.meta["dropped_joints"]) == {
        "waist_roll_joint",
        "waist_pitch_joint",
        "left_wrist_pitch_joint",
        "left_wrist_yaw_joint",
        "right_wrist_pitch_joint",
        "right_wrist_yaw_joint",
    }


def test_explicit_joint_names_in_any_order_map_by_name(tmp_path, g1_23, g1_29):
    clip = _motion(g1_29)
    perm = np.random.default_rng(1).permutation(29)
    names = [g1_29.joint_names[i] for i in perm]
    path = _gmr(
        tmp_path / "named.pkl",
        MotionClip("x", 30.0, clip.root_pos, clip.root_quat, tuple(names), clip.joint_pos[:, perm]),
        joint_names=names,
    )
    (out,) = load_motion(path, g1_23)  # names in the file win over any source robot
    for j, name in enumerate(g1_23.joint_names):
        np.testing.assert_array_equal(out.joint_pos[:, j], clip.joint_pos[:, g1_29.joint_index[name]])


def test_missing_target_joint_is_an_error(tmp_path, g1_23, g1_29):
    clip = _motion(g1_23)
    names = list(g1_23.joint_names)
    names[names.index("left_knee_joint")] = "left_knee_renamed"
    path = _gmr(tmp_path / "renamed.pkl", clip, joint_names=names)
    with pytest.raises(InputError, match="left_knee_joint"):
        load_motion(path, g1_29)  # also lacks 6 of the 29 joints
    with pytest.raises(InputError, match="left_knee_joint"):
        load_motion(path, g1_23)


def test_the_source_robot_is_inferred_from_the_width_and_printed(tmp_path, g1_29, g1_23, capsys, monkeypatch):
    from wildrobot_amp_ext.motion import io

    monkeypatch.setattr(io, "_ANNOUNCED_SOURCES", set())  # a fresh process
    motion = _motion(g1_29)
    path = _gmr(tmp_path / "g1_29.pkl", motion)
    (clip,) = load_motion(path, g1_23)  # 29 columns for the 23-DoF G1: the 29-DoF model it is built from
    assert "[source robot] unitree_g1_29dof" in capsys.readouterr().err
    load_motion(_gmr(tmp_path / "g1_29_b.pkl", motion), g1_23)
    assert "[source robot]" not in capsys.readouterr().err  # once per run, not once per pickle
    assert clip.joint_pos.shape[1] == g1_23.num_joints
    column = {name: k for k, name in enumerate(g1_29.joint_names)}
    kept = [column[name] for name in g1_23.joint_names]
    np.testing.assert_allclose(clip.joint_pos, motion.joint_pos[:, kept], atol=1e-12)


def test_a_width_no_robot_has_is_refused_naming_the_fix(tmp_path, g1_29, g1_23):
    motion = _motion(g1_29)
    path = _gmr(tmp_path / "g1_31.pkl", motion, dof_pos=np.pad(motion.joint_pos, ((0, 0), (0, 2))))
    with pytest.raises(InputError) as err:
        load_motion(path, g1_23)
    msg = str(err.value)
    assert "31 joint columns" in msg and "--source-robot" in msg and "g1_31.pkl" in msg


# ------------------------------------------------------------------------------------------------------------------
# validation
# ------------------------------------------------------------------------------------------------------------------
def test_wxyz_stored_as_xyzw_is_caught(tmp_path, g1_23):
    clip = _motion(g1_23)
    path = _gmr(tmp_path / "wrong.pkl", clip, quat_xyzw=clip.root_quat)  # wxyz written where xyzw belongs
    with pytest.raises(InputError, match="look like wxyz"):
        load_motion(path, g1_23)
    (out,) = load_motion(path, g1_23, options=ReadOptions(gmr_quat_order="wxyz"))  # the documented override
    np.testing.assert_allclose(out.root_quat, clip.root_quat, atol=1e-12)


def test_upright_xyzw_is_not_flagged_at_any_heading(tmp_path, g1_23):
    for heading in np.linspace(-np.pi, np.pi, 9):
        clip = _motion(g1_23, heading=heading)
        load_motion(_gmr(tmp_path / "ok.pkl", clip), g1_23)


@pytest.mark.parametrize(
    "field, mutate, message",
    [
        ("root_pos", lambda d: d["root_pos"].__setitem__((5, 1), np.nan), "NaN"),
        ("dof_pos", lambda d: d["dof_pos"].__setitem__((7, 2), np.inf), "NaN/Inf"),
        ("root_rot", lambda d: d.__setitem__("root_rot", d["root_rot"] * 1.1), "not unit quaternions"),
        ("fps", lambda d: d.__setitem__("fps", 0), "outside 1..1000 Hz"),
        ("root_rot", lambda d: d.__setitem__("root_rot", d["root_rot"][:, :3]), "expected"),
        ("root_pos", lambda d: d.__setitem__("root_pos", d["root_pos"][:-1]), "expected"),
        ("dof_pos", lambda d: d.pop("dof_pos"), "missing"),
    ],
)
def test_bad_fields_raise_one_line_errors(tmp_path, g1_23, field, mutate, message):
    clip = _motion(g1_23)
    d = {
        "fps": 30.0,
        "root_pos": clip.root_pos.copy(),
        "root_rot": Q.wxyz_to_xyzw(clip.root_quat),
        "dof_pos": clip.joint_pos.copy(),
    }
    mutate(d)
    path = tmp_path / "bad.pkl"
    path.write_bytes(pickle.dumps(d))
    with pytest.raises(InputError) as err:
        load_motion(path, g1_23)
    text = err.value.one_line()
    assert message in text and str(path) in text and "\n" not in text
    assert err.value.field in (field, "root_pos", "joint_pos", "dof_pos", "root_rot")


# ------------------------------------------------------------------------------------------------------------------
# npz layouts
# ------------------------------------------------------------------------------------------------------------------
def test_project_npz_round_trip(tmp_path, g1_23):
    clip = _motion(g1_23)
    path = save_motion_npz(clip, tmp_path / "clip.npz")
    (out,) = read_motion_file(path)
    np.testing.assert_allclose(out.root_quat, clip.root_quat, atol=1e-15)
    np.testing.assert_array_equal(out.joint_pos, clip.joint_pos)
    assert out.joint_names == clip.joint_names and out.fps == clip.fps


def test_isaaclab_motion_loader_npz(tmp_path, g1_29, g1_23):
    clip = _motion(g1_29)
    perm = np.random.default_rng(3).permutation(29)  # Isaac Lab's own (breadth-first) joint order
    n = clip.num_frames
    bodies = np.concatenate((clip.root_pos[:, None], np.zeros((n, 2, 3))), axis=1)
    rots = np.concatenate((clip.root_quat[:, None], np.tile([1.0, 0, 0, 0], (n, 2, 1))), axis=1)
    path = tmp_path / "isaac.npz"
    np.savez(
        path, fps=np.array(30), dof_names=np.array([g1_29.joint_names[i] for i in perm]),
        body_names=np.array(["pelvis", "a", "b"]),
        dof_positions=clip.joint_pos[:, perm], dof_velocities=np.zeros((n, 29)),
        body_positions=bodies, body_rotations=rots,
        body_linear_velocities=np.zeros((n, 3, 3)), body_angular_velocities=np.zeros((n, 3, 3)),
    )  # fmt: skip
    (out,) = load_motion(path, g1_23)
    np.testing.assert_allclose(out.root_quat, clip.root_quat, atol=1e-15)
    np.testing.assert_array_equal(out.root_pos, clip.root_pos)
    for j, name in enumerate(g1_23.joint_names):
        np.testing.assert_array_equal(out.joint_pos[:, j], clip.joint_pos[:, g1_29.joint_index[name]])
    # the same file with xyzw rotations is flagged
    np.savez(
        path,
        fps=np.array(30),
        dof_names=np.array(g1_29.joint_names),
        dof_positions=clip.joint_pos,
        body_positions=bodies,
        body_rotations=rots[..., [1, 2, 3, 0]],
    )
    with pytest.raises(InputError, match="look like xyzw"):
        load_motion(path, g1_23)


def test_unknown_suffix_and_missing_file(tmp_path, g1_23):
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(InputError, match="unknown motion file type"):
        load_motion(tmp_path / "a.txt", g1_23)
    with pytest.raises(InputError, match="not found"):
        load_motion(tmp_path / "nope.pkl", g1_23)
