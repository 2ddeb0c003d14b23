"""GMR pickles -> reference dataset: CLI end to end, schema, offsets, contacts, feature options, bad input."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from wildrobot_amp_ext.dataset import build_dataset
from wildrobot_amp_ext.dataset.convert import main as convert_main
from wildrobot_amp_ext.features import FeatureSpec
from wildrobot_amp_ext.motion import load_motion, resample_clip
from wildrobot_amp_ext.motion import quat as Q
from wildrobot_amp_ext.motion.safe_pickle import safe_load
from wildrobot_amp_ext.motion.synthetic import GaitParams, synthetic_stand, synthetic_walk, write_gmr_pickle
from wildrobot_amp_ext.robots import load_robot

ROOT = Path(__file__).resolve().parents[1]
CONVERT = ROOT / "convert_dataset" / "convert_dataset.py"
VERIFY = ROOT / "utils" / "verify_dataset.py"
ENV = {**os.environ, "WILDROBOT_NO_PROGRESS": "1"}


@pytest.fixture(scope="module")
def g1_29():
    return load_robot("unitree_g1_29dof")


@pytest.fixture(scope="module")
def g1_23():
    return load_robot("unitree_g1_23dof")


@pytest.fixture(scope="module")
def gmr_dir(tmp_path_factory, g1_29):
    """A folder of GMR pickles for the 29-DoF G1 at two frame rates (like GMR output of AMASS clips)."""
    d = tmp_path_factory.mktemp("gmr")
    write_gmr_pickle(synthetic_walk(g1_29, 3.0, 30.0, name="walk"), d / "walk.pkl")
    write_gmr_pickle(
        synthetic_walk(g1_29, 2.0, 60.0, GaitParams(period=0.7), heading=0.8, name="walk_turned"),
        d / "sub" / "walk_turned.pkl",
    )
    write_gmr_pickle(synthetic_stand(g1_29, 2.0, 30.0), d / "stand.pkl")
    return d


def _convert(args, capsys):
    with pytest.raises(SystemExit) as exc:
        convert_main(args)
    return exc.value.code, capsys.readouterr()


# ------------------------------------------------------------------------------------------------------------------
# end to end
# ------------------------------------------------------------------------------------------------------------------
def test_cli_folder_of_g1_pickles_converts_and_verifies(tmp_path, gmr_dir, g1_23):
    out = tmp_path / "ref.npz"
    pkl = tmp_path / "ref.pkl"
    run = subprocess.run(
        [sys.executable, str(CONVERT), "--robot", "unitree_g1_23dof", "--source-robot", "unitree_g1_29dof",
         "--input", str(gmr_dir), "--output", str(out), "--target-fps", "50", "--export-pkl", str(pkl)],
        capture_output=True, text=True, env=ENV, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    data = np.load(out)
    n = data["features"].shape[0]
    assert n == 151 + 101 + 101  # 3 s, 2 s, 2 s at 50 fps
    assert [str(s) for s in data["joint_names"]] == list(g1_23.joint_names)
    assert float(data["fps"]) == 50.0 and str(data["robot"]) == "unitree_g1_23dof"
    assert data["features"].shape == (n, FeatureSpec().frame_dim(g1_23)) == (n, 57)
    assert sorted(set(data["motion_id"].tolist())) == [0, 1, 2]
    for key, width in (
        ("root_pos", 3),
        ("root_quat", 4),
        ("root_lin_vel_w", 3),
        ("root_ang_vel_w", 3),
        ("joint_pos", 23),
        ("joint_vel", 23),
    ):
        assert data[key].shape == (n, width), key
    assert data["contact_pos_w"].shape == (n, 4, 3)
    np.testing.assert_array_equal(data["root_lin_vel"], data["root_lin_vel_w"])  # the env's RSI names
    # (s, s') transitions: next_states is the next frame of the same clip
    valid = data["transition_valid"]
    assert valid.sum() == n - 3
    np.testing.assert_array_equal(data["states"], data["features"])
    np.testing.assert_array_equal(data["next_states"][valid], data["features"][1:][valid[:-1]])
    assert json.loads(str(data["feature_spec"]))["terms"] == list(FeatureSpec().terms)
    # the merged-pickle export
    old = safe_load(pkl)
    assert (
        old["feature_dim"] == 57
        and old["velocity_normalized"] is True
        and old["joint_names"] == list(g1_23.joint_names)
    )
    np.testing.assert_array_equal(old["features"], data["features"])

    check = subprocess.run(
        [sys.executable, str(VERIFY), str(out), "--robot", "unitree_g1_23dof"],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "FAIL" not in check.stdout and "OK:" in check.stdout


def test_training_and_env_readers_accept_the_dataset(tmp_path, gmr_dir, g1_23):
    from wildrobot_amp_ext.agents.reference import load_reference_npz

    out = tmp_path / "ref.npz"
    assert (
        _quiet_convert(
            [
                "--robot",
                "unitree_g1_23dof",
                "--source-robot",
                "unitree_g1_29dof",
                "--input",
                str(gmr_dir),
                "--output",
                str(out),
            ]
        )
        == 0
    )
    spec = FeatureSpec()
    table = load_reference_npz(out, obs_dim=spec.obs_dim(g1_23))
    assert table.obs.shape[1] == 2 * 57 and table.num_motions == 3
    assert set(table.layout) == set(spec.terms)
    np.testing.assert_array_equal(table.layout["joint_pos"][:23], np.arange(23))


def _quiet_convert(args):
    try:
        return convert_main(args + ["--quiet"])
    except SystemExit as exc:
        return exc.code


# ------------------------------------------------------------------------------------------------------------------
# content
# ------------------------------------------------------------------------------------------------------------------
def test_default_offset_round_trip(tmp_path, g1_29, g1_23):
    clip = synthetic_walk(g1_29, 2.0, 50.0)
    path = write_gmr_pickle(clip, tmp_path / "w.pkl")
    (mapped,) = load_motion(path, g1_23, source_robot="unitree_g1_29dof")
    ds = build_dataset([mapped], g1_23, FeatureSpec(), 50.0)
    jp = ds.features[:, FeatureSpec().layout(g1_23)["joint_pos"]].astype(np.float64)
    # feature = joint_pos - default (Isaac Lab joint_pos_rel); adding the default back gives the source angles
    source = clip.joint_pos[:, [g1_29.joint_index[n] for n in g1_23.joint_names]]
    np.testing.assert_allclose(jp + g1_23.default_joint_pos, source, atol=1e-6)
    np.testing.assert_allclose(ds.states.joint_pos, source, atol=1e-6)
    # the default pose is the zero feature
    stand = build_dataset(
        [
            mapped.__class__(
                "d",
                50.0,
                mapped.root_pos[:5],
                mapped.root_quat[:5],
                g1_23.joint_names,
                np.tile(g1_23.default_joint_pos, (5, 1)),
            )
        ],
        g1_23,
    )
    assert np.abs(stand.features[:, :23]).max() < 1e-7
    # the dataset reads back as motion clips with the same angles
    out = tmp_path / "ref.npz"
    from wildrobot_amp_ext.dataset import save_dataset

    save_dataset(out, ds)
    (back,) = load_motion(out, g1_23)
    np.testing.assert_allclose(back.joint_pos, source, atol=1e-6)
    np.testing.assert_allclose(np.abs(np.sum(back.root_quat * clip.root_quat, axis=1)), 1.0, atol=1e-6)


def test_contact_labels_on_a_gait_with_known_stance(g1_23):
    """Synthetic walk: the left knee is straight (stance) for leg phase in [0, pi), flexed (swing) in [pi, 2 pi);
    the right leg is half a period later. Mid-stance must be labelled contact, mid-swing not."""
    gait = GaitParams()
    fps = 50.0
    clip = synthetic_walk(g1_23, 4.0, fps, gait)
    ds = build_dataset([clip], g1_23, FeatureSpec(), fps)
    t = np.arange(ds.num_frames) / fps
    contacts = ds.features[:, FeatureSpec().layout(g1_23)["foot_contacts"]]  # (N, 4): left toe/heel, right toe/heel
    checked = 0
    for foot, offset in ((0, 0.0), (1, 0.5)):
        phase = (t / gait.period + offset) % 1.0
        mid_stance = (phase > 0.1) & (phase < 0.4)
        mid_swing = (phase > 0.6) & (phase < 0.9)
        labels = contacts[:, 2 * foot : 2 * foot + 2]
        assert labels[mid_stance].min() == 1.0, f"foot {foot}: stance frames without contact"
        assert labels[mid_swing].max() == 0.0, f"foot {foot}: swing frames with contact"
        checked += mid_stance.sum() + mid_swing.sum()
    assert checked > 0.5 * ds.num_frames * 2


def test_feature_options(tmp_path, gmr_dir, g1_23):
    base = ["--robot", "unitree_g1_23dof", "--source-robot", "unitree_g1_29dof", "--input", str(gmr_dir / "walk.pkl")]
    out = tmp_path / "a.npz"
    assert _quiet_convert(base + ["--output", str(out), "--drop-contacts", "--drop-height"]) == 0
    assert np.load(out)["features"].shape[1] == 23 + 23 + 3 + 3
    assert (
        _quiet_convert(
            base + ["--output", str(out), "--terms", "joint_pos", "joint_vel", "foot_height", "--history", "3"]
        )
        == 0
    )
    d = np.load(out)
    assert d["features"].shape[1] == 23 + 23 + 4 and d["amp_obs"].shape == (d["features"].shape[0], 3 * 50)
    assert list(d["column_names"][:2]) == ["joint_pos/left_hip_pitch_joint", "joint_pos/left_hip_roll_joint"]
    for mode, check in (
        ("raw", lambda v: np.abs(v).max() > 1.0),
        ("direction", lambda v: np.all(np.isclose(np.linalg.norm(v, axis=1), 1) | (np.linalg.norm(v, axis=1) == 0))),
        ("clip", lambda v: np.abs(v).max() <= 1.5),
    ):
        assert (
            _quiet_convert(
                base
                + ["--output", str(out), "--lin-vel-mode", mode, "--lin-vel-clip", "1.5", "--terms", "root_lin_vel"]
            )
            == 0
        )
        assert check(np.load(out)["features"]), mode


def test_motion_and_segment_ids_for_the_miner(g1_23):
    walk = synthetic_walk(g1_23, 2.0, 50.0)
    a = walk.__class__("w#0", 50.0, walk.root_pos[:40], walk.root_quat[:40], walk.joint_names, walk.joint_pos[:40])
    b = walk.__class__(
        "w#1", 50.0, walk.root_pos[50:90], walk.root_quat[50:90], walk.joint_names, walk.joint_pos[50:90]
    )
    ds = build_dataset(
        [a, b], g1_23, motion_ids=[0, 0], segment_ids=[0, 1], segment_scores=[0.9, 0.4], motion_names=["walk"]
    )
    assert ds.num_clips == 2 and list(np.unique(ds.motion_id)) == [0] and ds.transition_valid.sum() == 78
    assert ds.frame_index[40] == 0 and ds.segment_id[40] == 1
    with pytest.raises(ValueError):
        build_dataset([a, b], g1_23, motion_ids=[0, 0], segment_ids=[0, 0])


# ------------------------------------------------------------------------------------------------------------------
# bad input: one line, exit 2, no output
# ------------------------------------------------------------------------------------------------------------------
class _Evil:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def _bad_inputs(tmp_path, g1_29, g1_23):
    walk29 = synthetic_walk(g1_29, 1.0, 30.0)
    walk23 = synthetic_walk(g1_23, 1.0, 30.0)
    good = write_gmr_pickle(walk23, tmp_path / "in" / "a_good.pkl")
    cases = {}
    odd = tmp_path / "c31" / "w.pkl"  # a width no known robot has: the source robot cannot be inferred
    odd.parent.mkdir()
    odd.write_bytes(
        pickle.dumps(
            {
                "fps": 30.0,
                "root_pos": walk29.root_pos,
                "root_rot": Q.wxyz_to_xyzw(walk29.root_quat),
                "dof_pos": np.pad(walk29.joint_pos, ((0, 0), (0, 2))),
            }
        )
    )
    cases["31 columns, no robot has them"] = ([str(odd)], [], "--source-robot")
    target = tmp_path / "pwned"
    evil = tmp_path / "evil" / "z_evil.pkl"
    evil.parent.mkdir()
    evil.write_bytes(
        pickle.dumps(
            {
                "fps": 30.0,
                "root_pos": walk23.root_pos,
                "root_rot": walk23.root_quat,
                "dof_pos": walk23.joint_pos,
                "x": _Evil(target),
            }
        )
    )
    (evil.parent / "a_good.pkl").write_bytes(good.read_bytes())
    cases["malicious pickle in a folder"] = ([str(evil.parent)], [], "refused")
    wxyz = tmp_path / "wxyz" / "w.pkl"
    wxyz.parent.mkdir()
    wxyz.write_bytes(
        pickle.dumps(
            {
                "fps": 30.0,
                "root_pos": walk23.root_pos,
                "root_rot": Q.from_axis_angle(np.array([0, 0, 1.0]), np.full(walk23.num_frames, 0.4)),
                "dof_pos": walk23.joint_pos,
            }
        )
    )
    cases["wxyz stored as xyzw"] = ([str(wxyz)], [], "look like wxyz")
    nan = tmp_path / "nan" / "n.pkl"
    nan.parent.mkdir()
    jp = walk23.joint_pos.copy()
    jp[3, 4] = np.nan
    nan.write_bytes(
        pickle.dumps(
            {"fps": 30.0, "root_pos": walk23.root_pos, "root_rot": Q.wxyz_to_xyzw(walk23.root_quat), "dof_pos": jp}
        )
    )
    cases["NaN joint angle"] = ([str(nan)], [], "NaN")
    cases["missing input"] = ([str(tmp_path / "nowhere")], [], "no such file")
    cases["empty folder"] = ([str((tmp_path / "empty").mkdir() or tmp_path / "empty")], [], "no motion files")
    cases["unknown robot"] = ([str(good)], ["--robot", "g2"], "unknown robot")
    cases["too short after resampling"] = (
        [
            str(
                write_gmr_pickle(
                    walk23.__class__(
                        "s", 30.0, walk23.root_pos[:2], walk23.root_quat[:2], walk23.joint_names, walk23.joint_pos[:2]
                    ),
                    tmp_path / "short" / "s.pkl",
                )
            )
        ],
        [],
        "at least 3 frames",
    )
    cases["negative threshold"] = ([str(good)], ["--contact-height", "-1"], "non-negative")
    return cases, target


def test_cli_bad_input_prints_one_line_exits_2_writes_nothing(tmp_path, g1_29, g1_23, capsys):
    cases, target = _bad_inputs(tmp_path, g1_29, g1_23)
    for name, (inputs, extra, expected) in cases.items():
        out = tmp_path / "out" / f"{name.replace(' ', '_')}.npz"
        pkl = out.with_suffix(".pkl")
        args = [
            "--robot",
            "unitree_g1_23dof",
            "--input",
            *inputs,
            "--output",
            str(out),
            "--export-pkl",
            str(pkl),
            *extra,
        ]
        if extra[:1] == ["--robot"]:
            args = args[2:]
        code, captured = _convert(args, capsys)
        lines = [ln for ln in captured.err.splitlines() if ln.strip()]
        assert code == 2, name
        assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], (name, captured.err)
        assert not out.exists() and not pkl.exists(), name
        assert not list(out.parent.glob(".*")) if out.parent.exists() else True, f"{name}: temp file left behind"
    assert not target.exists()


def test_cli_bad_input_subprocess_one_line(tmp_path, g1_29):
    path = write_gmr_pickle(synthetic_walk(g1_29, 1.0, 30.0), tmp_path / "w.pkl")
    with open(path, "rb") as f:
        payload = pickle.load(f)  # the test's own file
    payload["dof_pos"] = np.pad(payload["dof_pos"], ((0, 0), (0, 2)))  # 31 columns: no robot to infer
    path.write_bytes(pickle.dumps(payload))
    out = tmp_path / "o.npz"
    run = subprocess.run(
        [sys.executable, str(CONVERT), "--robot", "unitree_g1_23dof", "--input", str(path), "--output", str(out)],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
    )
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1 and str(path) in run.stderr
    assert not out.exists()


def test_resampled_rate_is_whole_frames(g1_23):
    clip = synthetic_walk(g1_23, 1.0, 120.0)
    assert resample_clip(clip, 50.0).num_frames == 51
