"""AMASS SMPL-X / SMPL-H source on synthetic body models built here (the real model files are licensed): a joint
regressor that puts every joint on one known vertex, so the test knows where each joint must come out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.retarget import Retargeter
from wildrobot_amp_ext.retarget.cli import REPORT_NAME, main
from wildrobot_amp_ext.retarget.smpl import SMPL_JOINTS, read_amass
from wildrobot_amp_ext.robots import load_robot

smplx = pytest.importorskip("smplx")

BODY_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19]
HAND_PARENTS = {"left": 20, "right": 21}
# rest joints, SMPL's frame: Y up, facing +Z, left = +X (metres)
BODY_REST = np.array(
    [
        [0, 0.93, 0],
        [0.09, 0.85, 0],
        [-0.09, 0.85, 0],
        [0, 1.03, 0],
        [0.09, 0.47, 0.01],
        [-0.09, 0.47, 0.01],
        [0, 1.15, 0],
        [0.09, 0.08, -0.01],
        [-0.09, 0.08, -0.01],
        [0, 1.28, 0],
        [0.09, 0.02, 0.12],
        [-0.09, 0.02, 0.12],
        [0, 1.48, 0],
        [0.07, 1.40, 0],
        [-0.07, 1.40, 0],
        [0, 1.62, 0],
        [0.18, 1.42, 0],
        [-0.18, 1.42, 0],
        [0.45, 1.42, 0],
        [-0.45, 1.42, 0],
        [0.70, 1.42, 0],
        [-0.70, 1.42, 0],
    ]
)


def _parents(kind: str) -> list[int]:
    parents = list(BODY_PARENTS)
    if kind == "smplx":
        parents += [15, 15, 15]  # jaw, eyes
    for side in ("left", "right"):
        base = len(parents)
        for finger in range(5):
            parents += [HAND_PARENTS[side], base + 3 * finger, base + 3 * finger + 1]
    return parents


def write_model(folder: Path, kind: str, monkeypatch) -> Path:
    """A tiny body model: one vertex per joint (+ spares), the regressor and skinning one-hot."""
    parents = _parents(kind)
    nj = len(parents)
    rest = np.zeros((nj, 3))
    rest[: len(BODY_REST)] = BODY_REST
    for j in range(len(BODY_REST), nj):
        rest[j] = rest[parents[j]] + [0.0, 0.02, 0.0]
    nv = nj + 4
    v = np.zeros((nv, 3))
    v[:nj] = rest
    eye = np.eye(nj, nv)
    arrays = {
        "v_template": v,
        "f": np.array([[0, 1, 2], [nj, nj + 1, nj + 2]], np.int64),
        "shapedirs": np.zeros((nv, 3, 20)),
        "posedirs": np.zeros((nv, 3, 9 * (nj - 1))),
        "J_regressor": eye,
        "kintree_table": np.array([[2**32 - 1 if p < 0 else p for p in parents], list(range(nj))], np.int64),
        "weights": eye.T.copy(),
        "hands_componentsl": np.eye(45),
        "hands_componentsr": np.eye(45),
        "hands_meanl": np.zeros(45),
        "hands_meanr": np.zeros(45),
        "lmk_faces_idx": np.zeros(51, np.int64),
        "lmk_bary_coords": np.full((51, 3), 1 / 3),
    }
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / f"{kind.upper()}_NEUTRAL.npz", **arrays)
    # smplx indexes extra "vertex joints" (nose, toes, finger tips) up to vertex 9929: point them at vertex 0
    from smplx.vertex_ids import vertex_ids

    for table in vertex_ids.values():
        for key in table:
            monkeypatch.setitem(table, key, 0)
    return folder


def walk_poses(n: int, kind: str, fps: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    """A stepping-in-place-and-forward motion: hips and knees flex alternately, root Y-up -> Z-up, facing +X."""
    t = np.arange(n) / fps
    width = {"smplx": 165, "smplh": 156}[kind]
    poses = np.zeros((n, width))
    # Y-up, facing +Z  ->  Z-up, facing +X: rotate +90 deg about X, then +90 deg about Z
    root = Rotation.from_euler("z", 90, degrees=True) * Rotation.from_euler("x", 90, degrees=True)
    poses[:, :3] = root.as_rotvec()
    phase = 2 * np.pi * 1.0 * t
    for side, sign in ((1, 1.0), (2, -1.0)):  # hips (flex about the joint's x axis), knees
        lift = np.clip(sign * np.sin(phase), 0, None)
        poses[:, 3 * side] = -0.5 * lift
        poses[:, 3 * (side + 3)] = 1.0 * lift
    trans = np.zeros((n, 3))
    trans[:, 0] = 0.3 * t
    trans[:, 2] = 0.0
    return poses, trans


def write_motion(path: Path, kind: str, n: int = 90, rate_key: str | None = None, fps: float = 30.0) -> Path:
    poses, trans = walk_poses(n, kind, fps)
    rate_key = rate_key or ("mocap_frame_rate" if kind == "smplx" else "mocap_framerate")
    np.savez(path, poses=poses, trans=trans, betas=np.zeros(10), gender=np.array("neutral"), **{rate_key: fps})
    return path


def known_joints(poses: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """The body joints by plain FK of the known rest skeleton (what smplx must reproduce)."""
    n = poses.shape[0]
    local = Rotation.from_rotvec(poses[:, :66].reshape(-1, 3)).as_matrix().reshape(n, 22, 3, 3)
    rot = np.empty_like(local)
    pos = np.empty((n, 22, 3))
    for j, p in enumerate(BODY_PARENTS):
        if p < 0:  # smplx turns the root about the root joint: it stays at rest + trans
            rot[:, j], pos[:, j] = local[:, j], BODY_REST[j] + trans
        else:
            rot[:, j] = rot[:, p] @ local[:, j]
            pos[:, j] = pos[:, p] + np.einsum("nij,j->ni", rot[:, p], BODY_REST[j] - BODY_REST[p])
    return pos


@pytest.mark.parametrize("kind", ["smplx", "smplh"])
def test_reader_puts_joints_where_the_model_says(tmp_path, monkeypatch, kind):
    models = write_model(tmp_path / "models" / kind, kind, monkeypatch).parent
    motion = write_motion(tmp_path / f"walk_{kind}.npz", kind)
    src = read_amass(motion, models)
    assert src.kind == kind and src.fps == 30.0
    poses, trans = walk_poses(90, kind)
    expect = known_joints(poses, trans)
    cols = [SMPL_JOINTS[k] for k in src.keypoints]
    # smplx rotates the root joint about itself: joint 0 stays at rest + trans
    assert np.abs(src.pos - expect[:, cols]).max() < 1e-4
    # the rest frame from geometry turns SMPL's Y-up / +Z-facing rest upright, facing +x
    from wildrobot_amp_ext.retarget.scale import canonical_rotations

    pelvis = canonical_rotations(src)[:, 0]
    assert np.allclose(pelvis[0], np.eye(3), atol=1e-5)


@pytest.mark.slow  # a G1 retargeting run
def test_smplx_onto_g1_follows_the_knees(tmp_path, monkeypatch):
    models = write_model(tmp_path / "models" / "smplx", "smplx", monkeypatch).parent
    src = read_amass(write_motion(tmp_path / "walk.npz", "smplx"), models)
    g1 = load_robot("unitree_g1_29dof")
    result = Retargeter(g1).run(src)
    knee = result.solution.joint_pos[:, g1.joint_index["left_knee_joint"]]
    source_knee = walk_poses(90, "smplx")[0][:, 12]  # left knee flexion (rad)
    assert np.corrcoef(knee, source_knee)[0, 1] > 0.9
    assert result.report["metrics"]["joint_limit_violations"] == 0
    assert result.report["scales"]["legs"] == pytest.approx(0.624 / 0.77, rel=0.05)  # G1 legs / synthetic legs


def test_cli_amass_and_bad_body_model(tmp_path, monkeypatch, capsys):
    models = write_model(tmp_path / "models" / "smplx", "smplx", monkeypatch).parent
    (tmp_path / "in").mkdir()
    motion = write_motion(tmp_path / "in" / "walk.npz", "smplx")
    out = tmp_path / "out"
    main(
        [
            "--robot",
            "wildrobot",
            "--input",
            str(motion),
            "--body-model",
            str(models),
            "--output",
            str(out),
            "--workers",
            "1",
            "--quiet",
        ]
    )
    report = json.loads((out / REPORT_NAME).read_text())
    assert report["reports"][0]["source_kind"] == "smplx"
    for bad_models, needle in ((tmp_path / "nowhere", "is not a folder"), (tmp_path / "in", "holds no SMPLX_NEUTRAL")):
        bad_out = tmp_path / "bad_out"
        with pytest.raises(SystemExit) as exc:
            main(
                [
                    "--robot",
                    "wildrobot",
                    "--input",
                    str(motion),
                    "--body-model",
                    str(bad_models),
                    "--output",
                    str(bad_out),
                    "--workers",
                    "1",
                ]
            )
        err = capsys.readouterr().err.strip()
        assert exc.value.code == 2 and not bad_out.exists() and err.count("\n") == 0
        assert "--body-model" in err and needle in err and "(fix:" in err


@pytest.mark.parametrize("rate", [float("nan"), 1e9, 0.0])
def test_amass_bad_frame_rate(tmp_path, monkeypatch, rate):
    models = write_model(tmp_path / "models" / "smplx", "smplx", monkeypatch).parent
    motion = write_motion(tmp_path / "walk.npz", "smplx", fps=30.0)
    data = dict(np.load(motion))
    data["mocap_frame_rate"] = np.array(rate)
    np.savez(motion, **data)
    with pytest.raises(InputError, match="mocap_frame_rate"):
        read_amass(motion, models)


def test_amass_model_file_with_pickled_member_is_refused(tmp_path, monkeypatch):
    folder = write_model(tmp_path / "models" / "smplx", "smplx", monkeypatch)
    model = folder / "SMPLX_NEUTRAL.npz"
    data = dict(np.load(model))
    data["v_template"] = np.array([{"a": 1}], dtype=object)  # a pickle: never loaded
    np.savez(model, **data)
    with pytest.raises(InputError, match="Python objects"):
        read_amass(write_motion(tmp_path / "walk.npz", "smplx"), folder.parent)
