"""AMASS SMPL-X / SMPL-H ``.npz`` as keypoints, through the ``smplx`` package and a body model the user supplies.

The body model files are licensed: they are never downloaded or shipped; ``--body-model DIR`` names the folder
(``DIR/SMPLX_<GENDER>.npz`` or ``DIR/smplx/SMPLX_<GENDER>.npz``; ``SMPLH_...`` likewise). A model file is read through
the checked npz reader (``validation.NpzFile``: only the numeric arrays ``smplx`` needs, never a pickled member), so
``smplx`` (whose own loader un-pickles) sees a sanitised copy (SMPL-X) or the arrays themselves (SMPL-H).

AMASS motion: ``poses`` (N, 165 SMPL-X / 156 SMPL-H) or ``root_orient`` + ``pose_body``, ``trans``, ``betas``,
``gender``, and the frame rate as ``mocap_frame_rate`` (SMPL-X) or ``mocap_framerate`` (SMPL-H). Hands, jaw and eyes
are zero; ``expression`` is passed as zeros of the batch size (smplx 0.1.28 otherwise crashes on batches). Keypoints
are the body joints (pelvis, hips, knees, ankles, spine3, shoulders, elbows, wrists) in AMASS's Z-up world; their
rotations chain the axis-angle poses down the kinematic tree (rest = zero pose, Y-up facing +Z: the rest frame from
geometry turns it upright).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.retarget.source_motion import SourceMotion
from wildrobot_amp_ext.validation import LIMITS, NpzFile
from wildrobot_amp_ext.validation import values as V

#: keypoint -> SMPL body joint index (shared by SMPL, SMPL-H and SMPL-X)
SMPL_JOINTS = {
    "pelvis": 0,
    "left_hip": 1,
    "right_hip": 2,
    "left_knee": 4,
    "right_knee": 5,
    "left_ankle": 7,
    "right_ankle": 8,
    "torso": 9,
    "left_shoulder": 16,
    "right_shoulder": 17,
    "left_elbow": 18,
    "right_elbow": 19,
    "left_wrist": 20,
    "right_wrist": 21,
}
BODY_JOINTS = 22
POSE_WIDTH = {"smplx": 165, "smplh": 156}
#: arrays smplx reads from a model file (SMPL-X adds the landmark tables)
MODEL_KEYS = ("v_template", "f", "shapedirs", "posedirs", "J_regressor", "kintree_table", "weights")
HAND_KEYS = ("hands_componentsl", "hands_componentsr", "hands_meanl", "hands_meanr")
SMPLX_KEYS = ("lmk_faces_idx", "lmk_bary_coords")
FRAME_RATE_KEYS = ("mocap_frame_rate", "mocap_framerate")
CHUNK = 2048  # frames per smplx forward pass


def model_file(body_model: str | Path | None, kind: str, gender: str, motion: Path) -> Path:
    if body_model is None:
        raise InputError(
            motion, "--body-model", f"an AMASS {kind.upper()} motion needs the {kind.upper()} body model", _fix(kind)
        )
    folder = Path(body_model)
    if not folder.is_dir():
        raise InputError(folder, "--body-model", "is not a folder", _fix(kind))
    name = f"{kind.upper()}_{gender.upper()}.npz"
    for candidate in (folder / name, folder / kind / name):
        if candidate.is_file():
            return candidate
    raise InputError(folder, "--body-model", f"holds no {name} (nor {kind}/{name})", _fix(kind))


def _fix(kind: str) -> str:
    return (
        f"download the {kind.upper()} model files (.npz) from their official site yourself and pass "
        f"--body-model <folder with {kind.upper()}_NEUTRAL/MALE/FEMALE.npz>"
    )


def _model_arrays(path: Path, kind: str) -> dict[str, np.ndarray]:
    keys = MODEL_KEYS + HAND_KEYS + (SMPLX_KEYS if kind == "smplx" else ())
    fix = f"pass a {kind.upper()} model file (.npz)"
    with NpzFile(path, fix=fix) as data:
        missing = [k for k in keys if k not in data.files]
        if missing:
            raise InputError(path, missing[0], f"missing: not a {kind.upper()} body model", fix)
        arrays = {k: data.array(k, kinds="fiu") for k in keys}
    kintree = arrays["kintree_table"]
    if kintree.ndim != 2 or kintree.shape[0] != 2 or kintree.shape[1] < BODY_JOINTS:
        raise InputError(path, "kintree_table", f"shape {kintree.shape}", fix)
    if arrays["J_regressor"].shape != (kintree.shape[1], arrays["v_template"].shape[0]):
        raise InputError(path, "J_regressor", f"shape {arrays['J_regressor'].shape}", fix)
    return arrays


def _body_model(path: Path, kind: str, gender: str, num_betas: int):
    import smplx
    from smplx.utils import Struct

    arrays = _model_arrays(path, kind)
    common = dict(gender=gender, use_pca=False, num_betas=num_betas, flat_hand_mean=True, batch_size=1)
    try:
        if kind == "smplh":
            return smplx.SMPLH(model_path=str(path), data_struct=Struct(**arrays), **common)
        with tempfile.TemporaryDirectory() as tmp:  # SMPLX reads its file itself: give it the checked arrays only
            clean = Path(tmp) / path.name
            np.savez(clean, **arrays)
            return smplx.SMPLX(model_path=str(clean), num_expression_coeffs=10, **common)
    except InputError:
        raise
    except Exception as err:  # smplx asserts/raises on shapes it cannot use
        problem = f"smplx cannot build the model ({type(err).__name__}: {err})"
        raise InputError(path, None, problem, _fix(kind)) from None


def read_amass(path: str | Path, body_model: str | Path | None, gender: str = "auto") -> SourceMotion:
    import torch

    path = Path(path)
    with NpzFile(path, fix="pass an AMASS SMPL-X/SMPL-H .npz") as data:
        rate_key = next((k for k in FRAME_RATE_KEYS if k in data.files), None)
        if rate_key is None:
            raise InputError(path, "mocap_frame_rate", "missing", "AMASS files store mocap_frame_rate/mocap_framerate")
        fps = V.fps(path, data.array(rate_key, kinds="fiu"), rate_key)
        if "poses" in data.files:
            poses = V.real_array(path, "poses", data.array("poses", kinds="fiu"), ndim=2, bound=LIMITS.max_joint_rad)
        else:
            parts = [data.array(k, kinds="fiu") for k in ("root_orient", "pose_body")]
            poses = V.real_array(path, "pose_body", np.concatenate(parts, axis=1), ndim=2, bound=LIMITS.max_joint_rad)
        n = poses.shape[0]
        trans = V.real_array(path, "trans", data.array("trans", kinds="fiu"), ndim=2, bound=LIMITS.max_position_m)
        betas = V.real_array(path, "betas", data.array("betas", kinds="fiu"), bound=100.0).reshape(-1)
        file_gender = data.text("gender").strip().lower() if "gender" in data.files else "neutral"
        kind = "smplh" if poses.shape[1] == POSE_WIDTH["smplh"] or rate_key == "mocap_framerate" else "smplx"
        if "surface_model_type" in data.files:
            kind = "smplh" if "smplh" in data.text("surface_model_type").lower() else "smplx"
    V.frame_count(path, "poses", n, fps)
    if n < 2 or poses.shape[1] < 3 * BODY_JOINTS:
        raise InputError(path, "poses", f"shape {poses.shape}", "at least 2 frames of 66+ pose values (root + body)")
    if trans.shape != (n, 3):
        raise InputError(path, "trans", f"shape {trans.shape}, expected ({n}, 3)", "one translation per frame")
    gender = file_gender if gender == "auto" else gender
    if gender not in ("neutral", "male", "female"):
        raise InputError(path, "gender", f"'{gender[:20]}'", "pass --gender neutral/male/female")
    model = _body_model(model_file(body_model, kind, gender, path), kind, gender, num_betas=betas.size)
    num_betas = model.num_betas
    beta = torch.zeros(1, num_betas)
    beta[0, : min(num_betas, betas.size)] = torch.as_tensor(betas[:num_betas], dtype=torch.float32)

    def joints(body: np.ndarray, root: np.ndarray, transl: np.ndarray) -> np.ndarray:
        out = []
        for s in range(0, body.shape[0], CHUNK):
            b = slice(s, s + CHUNK)
            m = body[b].shape[0]
            extra = {"expression": torch.zeros(m, 10)} if kind == "smplx" else {}
            with torch.no_grad():
                res = model(
                    betas=beta.expand(m, -1),
                    global_orient=torch.as_tensor(root[b], dtype=torch.float32),
                    body_pose=torch.as_tensor(body[b], dtype=torch.float32),
                    transl=torch.as_tensor(transl[b], dtype=torch.float32),
                    return_verts=False,
                    **extra,
                    **_zero_parts(model, kind, m),
                )
            out.append(res.joints[:, :BODY_JOINTS].double().numpy())
        return np.concatenate(out)

    body = poses[:, 3 : 3 * BODY_JOINTS]
    pos = joints(body, poses[:, :3], trans)
    rest = joints(np.zeros((1, body.shape[1])), np.zeros((1, 3)), np.zeros((1, 3)))[0]
    parents = model.parents[:BODY_JOINTS].numpy()
    local = Rotation.from_rotvec(poses[:, : 3 * BODY_JOINTS].reshape(n, BODY_JOINTS, 3).reshape(-1, 3))
    local = local.as_matrix().reshape(n, BODY_JOINTS, 3, 3)
    rot = np.empty_like(local)
    for j in range(BODY_JOINTS):  # parents come first in SMPL's tree
        rot[:, j] = local[:, j] if parents[j] < 0 else rot[:, parents[j]] @ local[:, j]
    kps = tuple(SMPL_JOINTS)
    cols = [SMPL_JOINTS[k] for k in kps]
    return SourceMotion(
        name=path.stem,
        file=str(path),
        kind=kind,
        fps=fps,
        keypoints=kps,
        pos=pos[:, cols],
        rot=rot[:, cols],
        rest_pos=rest[cols],
        rest_rot=np.tile(np.eye(3), (len(kps), 1, 1)),
        meta={"body_model": kind, "gender": gender, "betas": betas.size},
    )


def _zero_parts(model, kind: str, m: int) -> dict:
    import torch

    parts = {"left_hand_pose": torch.zeros(m, 45), "right_hand_pose": torch.zeros(m, 45)}
    if kind == "smplx":
        parts.update(jaw_pose=torch.zeros(m, 3), leye_pose=torch.zeros(m, 3), reye_pose=torch.zeros(m, 3))
    return parts
