"""AMP env: terminal-frame handling of ``extras["amp_obs"]``, reference = policy features (kinematic replay checked
against MuJoCo forward kinematics), reference state initialisation and reference motion sampling."""

from __future__ import annotations

import os
from pathlib import Path

import mujoco
import numpy as np
import pytest
import torch

from wildrobot_amp_ext.features import (
    ALL_TERMS,
    FeatureSpec,
    FeatureVersion,
    KinematicState,
    compute_amp_features,
    stack_history,
)
from wildrobot_amp_ext.motion.synthetic import synthetic_walk
from wildrobot_amp_ext.robots import load_robot
from wildrobot_amp_ext.robots.mjcf import build_model, contact_site_ids, joint_dof_adr, joint_qpos_adr

os.environ.setdefault("WARP_CACHE_PATH", str(Path("~/.cache/wildrobot_amp_ext/warp").expanduser()))

pytestmark = pytest.mark.isaaclab

TASK = "WildRobot-AMP-Flat-Play-v0"
FEATURE_ATOL = 1e-4


# ------------------------------------------------------------------------------------------------------------------
# reference side: MuJoCo forward kinematics of a synthetic clip (independent of Isaac Lab / Newton)
# ------------------------------------------------------------------------------------------------------------------
def _yaw_pitch_quat(yaw: float, pitch: float) -> np.ndarray:
    qz = np.array([np.cos(yaw / 2), 0, 0, np.sin(yaw / 2)])
    qy = np.array([np.cos(pitch / 2), 0, np.sin(pitch / 2), 0])
    out = np.empty(4)
    mujoco.mju_mulQuat(out, qz, qy)
    return out


def reference_clip_states(robot, num_frames: int = 40, yaw: float = 0.7, pitch: float = 0.08) -> dict[str, np.ndarray]:
    """Raw per-frame states of a synthetic walk, turned to ``yaw`` and tilted by ``pitch`` (so the heading frame
    matters), with a spinning root (nonzero world angular velocity) and finite-difference velocities."""
    clip = synthetic_walk(robot, duration=(num_frames - 1) / 30.0, fps=30.0)
    dt = clip.dt
    tilt = _yaw_pitch_quat(yaw, pitch)
    root_quat = np.empty_like(clip.root_quat)
    for i, q in enumerate(clip.root_quat):
        mujoco.mju_mulQuat(root_quat[i], tilt, q)
    c, s = np.cos(yaw), np.sin(yaw)
    rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    root_pos = clip.root_pos @ rot.T
    root_pos[:, 2] += 0.01
    t = np.arange(clip.num_frames) * dt
    return {
        "root_pos": root_pos,
        "root_quat": root_quat,
        "root_lin_vel": np.gradient(root_pos, dt, axis=0),
        "root_ang_vel": np.column_stack([0.3 * np.sin(3 * t), 0.2 * np.cos(2 * t), 0.5 + 0.4 * np.sin(t)]),
        "joint_pos": clip.joint_pos,
        "joint_vel": np.gradient(clip.joint_pos, dt, axis=0),
    }


def mujoco_kinematic_state(robot, states: dict[str, np.ndarray]) -> KinematicState:
    """Contact points by MuJoCo FK of the built model's ``<foot>_<toe|heel>_contact`` sites."""
    model = build_model(robot, with_floor=False)
    data = mujoco.MjData(model)
    qadr, dadr, sites = joint_qpos_adr(model, robot), joint_dof_adr(model, robot), contact_site_ids(model, robot)
    n = states["root_pos"].shape[0]
    pos = np.empty((n, sites.size, 3))
    vel = np.empty((n, sites.size, 3))
    res = np.empty(6)
    for i in range(n):
        quat = states["root_quat"][i]
        rot = np.empty(9)
        mujoco.mju_quat2Mat(rot, quat)
        data.qpos[:3], data.qpos[3:7], data.qpos[qadr] = states["root_pos"][i], quat, states["joint_pos"][i]
        # free joint: linear velocity in the world frame, angular velocity in the body frame
        data.qvel[:3] = states["root_lin_vel"][i]
        data.qvel[3:6] = rot.reshape(3, 3).T @ states["root_ang_vel"][i]
        data.qvel[dadr] = states["joint_vel"][i]
        mujoco.mj_forward(model, data)
        pos[i] = data.site_xpos[sites]
        for k, site in enumerate(sites):
            mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_SITE, int(site), res, 0)
            vel[i, k] = res[3:]
    return KinematicState.from_numpy(
        root_pos_w=states["root_pos"],
        root_quat_w=states["root_quat"],
        root_lin_vel_w=states["root_lin_vel"],
        root_ang_vel_w=states["root_ang_vel"],
        joint_pos=states["joint_pos"],
        joint_vel=states["joint_vel"],
        contact_pos_w=pos,
        contact_vel_w=vel,
    )


def write_reference_npz(path: Path, robot, spec: FeatureSpec) -> dict[str, np.ndarray]:
    states = reference_clip_states(robot)
    features = compute_amp_features(
        mujoco_kinematic_state(robot, states), spec, torch.as_tensor(robot.default_joint_pos)
    )
    # dataset/schema.py names: world-frame root velocities carry a _w suffix
    arrays = {
        (f"{k}_w" if k.startswith("root") and k.endswith("_vel") else k): v.astype(np.float32)
        for k, v in states.items()
    }
    arrays["features"] = features.numpy().astype(np.float32)
    arrays["motion_id"] = np.zeros(len(features), dtype=np.int64)
    arrays |= FeatureVersion.of(spec, robot).header()
    arrays["contact_point_names"] = np.array(robot.contact_point_names)
    np.savez(path, **arrays)
    return arrays


# ------------------------------------------------------------------------------------------------------------------
# fixtures
# ------------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def amp_env():
    from wildrobot_amp_ext.isaaclab.launch import make_env

    env = make_env(TASK, num_envs=4, overrides=["env.events.reference_state_init.params.fraction=0.0"])
    yield env.unwrapped
    env.close()


def _step(env, action_scale: float = 0.5, gen: torch.Generator | None = None):
    action = (torch.rand(env.num_envs, env.action_manager.total_action_dim, generator=gen) * 2 - 1) * action_scale
    return env.step(action.to(env.device))


# ------------------------------------------------------------------------------------------------------------------
# tests
# ------------------------------------------------------------------------------------------------------------------
def test_amp_observation_layout(amp_env):
    robot = load_robot("wildrobot")
    spec = FeatureSpec.from_dict(amp_env.cfg.amp.feature_spec)
    assert amp_env.amp_observation_space.shape == (spec.obs_dim(robot),)
    obs, extras = amp_env.reset()
    assert obs["amp"].shape == (amp_env.num_envs, spec.obs_dim(robot))
    # right after a reset the history repeats the reset frame (as the dataset's stack_history does at clip starts)
    frame = spec.frame_dim(robot)
    torch.testing.assert_close(obs["amp"][:, :frame], obs["amp"][:, frame:])
    torch.testing.assert_close(extras["amp_obs"], obs["amp"])


def test_amp_obs_holds_terminal_frame_on_reset(amp_env):
    env = amp_env
    robot = load_robot("wildrobot")
    frame = env.amp_frame_dim
    art = env.scene["robot"]
    joint_ids = [art.joint_names.index(n) for n in robot.joint_names]
    default = torch.as_tensor(robot.default_joint_pos, dtype=torch.float32, device=env.device)
    recorded = {}
    original_reset_idx = env._reset_idx

    def recording_reset_idx(env_ids):
        # the state the episode ended in, read before the reset overwrites it
        ids = torch.arange(env.num_envs)[env_ids] if isinstance(env_ids, slice) else torch.as_tensor(env_ids)
        recorded["ids"] = ids.clone()
        recorded["frame"] = env.amp_frame().clone()
        recorded["joint_pos"] = art.data.joint_pos.torch[:, joint_ids].clone()
        original_reset_idx(env_ids)

    env._reset_idx = recording_reset_idx
    try:
        gen = torch.Generator().manual_seed(1)
        env.reset()
        for _ in range(8):
            previous, *_ = _step(env, gen=gen)
        ending = 1
        # env 1 times out on the next step, the others carry on
        env.episode_length_buf[ending] = env.max_episode_length - 1
        recorded.clear()
        obs, _, terminated, truncated, extras = _step(env, gen=gen)
        done = (terminated | truncated).nonzero().flatten().tolist()
        assert done == [ending] and recorded["ids"].tolist() == [ending]

        amp_obs = extras["amp_obs"]
        # terminal row: previous last frame, then the pre-reset state's frame
        torch.testing.assert_close(amp_obs[ending, :frame], previous["amp"][ending, frame:])
        torch.testing.assert_close(amp_obs[ending, frame:], recorded["frame"][ending])
        joint_cols = slice(frame, frame + robot.num_joints)  # joint_pos term of the newest frame
        torch.testing.assert_close(
            amp_obs[ending, joint_cols], recorded["joint_pos"][ending] - default, atol=1e-5, rtol=0
        )
        # ... which is not the reset state the observation now shows
        reset_frame = obs["amp"][ending, frame:]
        torch.testing.assert_close(obs["amp"][ending, :frame], reset_frame)
        assert (amp_obs[ending, frame:] - reset_frame).abs().max() > 1e-2
        # the other envs: amp_obs is just the post-step observation
        others = [i for i in range(env.num_envs) if i != ending]
        torch.testing.assert_close(amp_obs[others], obs["amp"][others])
        torch.testing.assert_close(obs["amp"][others, :frame], previous["amp"][others, frame:])

        # next step: nothing resets, amp_obs follows the observation again
        obs, _, terminated, truncated, extras = _step(env, gen=gen)
        assert not (terminated | truncated).any()
        torch.testing.assert_close(extras["amp_obs"], obs["amp"])
    finally:
        env._reset_idx = original_reset_idx


def test_replayed_reference_gives_reference_features(amp_env):
    """Teleport the robots through reference frames: the env's AMP features equal the shared function applied to
    MuJoCo's kinematics of the same frames (reference features = policy features)."""
    from wildrobot_amp_ext.tasks.amp_locomotion.mdp.amp import write_kinematic_state

    env = amp_env
    robot = load_robot("wildrobot")
    spec = env.amp_feature_spec
    states = reference_clip_states(robot)
    reference = mujoco_kinematic_state(robot, states)
    default = torch.as_tensor(robot.default_joint_pos)
    expected_all = compute_amp_features(reference, spec, default)
    # every term, raw velocities: exercises contact-point velocities and heights continuously, not just labels
    full_spec = FeatureSpec(terms=ALL_TERMS, root_lin_vel_mode="raw")
    expected_full = compute_amp_features(reference, full_spec, default)
    art = env.scene["robot"]
    joint_ids = torch.as_tensor([art.joint_names.index(n) for n in robot.joint_names], device=env.device)
    env_ids = torch.arange(env.num_envs, device=env.device)
    layout = spec.layout(robot)
    env.reset()
    checked = 0
    for start in range(0, reference.root_pos_w.shape[0] - env.num_envs + 1, env.num_envs):
        rows = slice(start, start + env.num_envs)
        batch = KinematicState(**{k: v.to(env.device, torch.float32) for k, v in vars(reference[rows]).items()})
        batch.root_pos_w = batch.root_pos_w + env.scene.env_origins  # each env replays in its own cell
        write_kinematic_state(env, env_ids, batch, joint_ids)
        env.sim.forward()
        got = env.amp_frame().double().cpu()
        expected = expected_all[rows]
        for term, sl in layout.items():
            torch.testing.assert_close(
                got[:, sl], expected[:, sl], atol=FEATURE_ATOL, rtol=0, msg=lambda m, t=term: f"{t}: {m}"
            )
        # the observation group stacks the same frame after a reset of its history
        env.observation_manager.reset()
        stacked = env.observation_manager.compute_group("amp", update_history=True).double().cpu()
        torch.testing.assert_close(stacked, expected.repeat(1, spec.history), atol=FEATURE_ATOL, rtol=0)
        full = compute_amp_features(env.amp_kinematic_state(), full_spec, default.to(env.device))
        for term, sl in full_spec.layout(robot).items():
            torch.testing.assert_close(
                full.double().cpu()[:, sl],
                expected_full[rows, sl],
                atol=FEATURE_ATOL,
                rtol=0,
                msg=lambda m, t=term: f"{t}: {m}",
            )
        checked += env.num_envs
    assert checked >= 32
    # the test is not vacuous: contacts switch and the robot moves during the clip
    contacts = expected_all[:, layout["foot_contacts"]]
    assert 0 < contacts.mean() < 1
    assert expected_all[:, layout["root_lin_vel"]].abs().max() > 0.5
    assert expected_full[:, full_spec.layout(robot)["foot_z_velocity"]].abs().max() > 0.1


def test_dataset_overrides_reach_the_config(tmp_path):
    from wildrobot_amp_ext.isaaclab.launch import load_env_cfg

    cfg = load_env_cfg(
        TASK,
        num_envs=3,
        overrides=[f"env.amp.dataset={tmp_path / 'r.npz'}", "env.events.reference_state_init.params.fraction=1.0"],
    )
    assert cfg.scene.num_envs == 3 and cfg.amp.dataset == str(tmp_path / "r.npz")
    assert cfg.events.reference_state_init.params["fraction"] == 1.0


def test_env_inputs_are_resolved_before_the_env_and_the_env_never_writes_them(amp_env):
    """The config settles the FeatureSpec and the reference file (the demo built by the dataset layer) before any
    env exists; the env built from such a config leaves them as they were; an unresolved config is refused."""
    from wildrobot_amp_ext.isaaclab.launch import load_env_cfg, resolve_env_inputs

    overrides = ["env.events.reference_state_init.params.fraction=0.0"]
    cfg = load_env_cfg(TASK, num_envs=4, overrides=[*overrides, "env.amp.feature_spec.lin_vel_zero_threshold=0.07"])
    assert cfg.amp.dataset == "demo" and cfg.amp.feature_spec == {"lin_vel_zero_threshold": 0.07}
    with pytest.raises(RuntimeError, match="not resolved"):
        cfg.resolved_feature_spec()
    resolve_env_inputs(cfg)
    spec = cfg.resolved_feature_spec()
    assert spec == FeatureSpec(lin_vel_zero_threshold=0.07) and Path(cfg.amp.dataset).is_file()
    assert cfg.observations.amp.features.history_length == spec.history
    before = (cfg.amp.to_dict(), cfg.observations.amp.to_dict())
    resolve_env_inputs(cfg)  # idempotent: a resolved config resolves to itself
    assert (cfg.amp.to_dict(), cfg.observations.amp.to_dict()) == before
    # the fixture's env: its config holds exactly what the same resolution gives, nothing the env wrote
    same = resolve_env_inputs(load_env_cfg(TASK, num_envs=4, overrides=overrides))
    assert amp_env.cfg.amp.to_dict() == same.amp.to_dict()
    assert amp_env.cfg.observations.amp.to_dict() == same.observations.amp.to_dict()


def test_reference_state_init_and_reference_sampling(tmp_path, amp_env):
    robot = load_robot("wildrobot")
    spec = FeatureSpec()
    path = tmp_path / "reference.npz"
    arrays = write_reference_npz(path, robot, spec)
    u = amp_env
    rsi = u.event_manager.get_term_cfg("reference_state_init")
    u.cfg.amp.dataset = str(path)
    u._reference_sampler = None
    rsi.params["fraction"] = 1.0
    try:
        u.reset()
        art = u.scene["robot"]
        joint_ids = [art.joint_names.index(n) for n in robot.joint_names]
        joint_pos = art.data.joint_pos.torch[:, joint_ids].cpu().numpy()
        got = u.amp_frame().cpu().numpy()
        # every env starts in one of the reference frames and shows that frame's dataset features (any heading:
        # the features are heading-invariant). The gait is periodic, so match frames on joints and features.
        env_rows = np.concatenate([joint_pos, got], axis=1)
        ref_rows = np.concatenate([arrays["joint_pos"], arrays["features"]], axis=1)
        frames = np.abs(env_rows[:, None, :] - ref_rows[None]).max(axis=-1).argmin(axis=1)
        np.testing.assert_allclose(joint_pos, arrays["joint_pos"][frames], atol=1e-5)
        joint_vel = art.data.joint_vel.torch[:, joint_ids].cpu().numpy()
        np.testing.assert_allclose(joint_vel, arrays["joint_vel"][frames], atol=1e-4)
        np.testing.assert_allclose(got, arrays["features"][frames], atol=FEATURE_ATOL)
        height = (art.data.root_link_pos_w.torch[:, 2] - u.scene.env_origins[:, 2]).cpu().numpy()
        np.testing.assert_allclose(height, arrays["root_pos"][frames, 2], atol=1e-5)

        # collect_reference_motions: rows of the dataset's stacked AMP observations, on the env device
        motions = u.collect_reference_motions(64)
        assert motions.shape == (64, u.amp_obs_dim) and motions.device == torch.device(u.device)
        table = stack_history(torch.as_tensor(arrays["features"]), spec.history).numpy()
        nearest = np.abs(motions.cpu().numpy()[:, None, :] - table[None]).max(axis=-1).min(axis=1)
        assert nearest.max() < 1e-5
    finally:
        rsi.params["fraction"] = 0.0
        u.cfg.amp.dataset = None
        u._reference_sampler = None


def test_dataset_with_other_features_is_refused(tmp_path, amp_env):
    from wildrobot_amp_ext.errors import InputError

    robot = load_robot("wildrobot")
    path = tmp_path / "stage0.npz"
    write_reference_npz(path, robot, FeatureSpec().with_terms(("joint_pos", "joint_vel")))
    amp_env.cfg.amp.dataset = str(path)
    amp_env._reference_sampler = None
    try:
        with pytest.raises(InputError, match="feature"):
            amp_env.collect_reference_motions(8)
    finally:
        amp_env.cfg.amp.dataset = None


def test_skrl_isaaclab_wrapper_forwards_amp_interface(amp_env, tmp_path):
    """skrl's wrap_env(env, "isaaclab") passes extras through as infos and forwards the AMP attributes."""
    from skrl.envs.wrappers.torch import wrap_env

    robot = load_robot("wildrobot")
    path = tmp_path / "reference.npz"
    write_reference_npz(path, robot, FeatureSpec())
    amp_env.cfg.amp.dataset = str(path)
    amp_env._reference_sampler = None
    try:
        wrapped = wrap_env(amp_env, wrapper="isaaclab")
        assert wrapped.amp_observation_space.shape == (amp_env.amp_obs_dim,)
        assert wrapped.observation_space.shape == amp_env.single_observation_space["policy"].shape
        assert wrapped.collect_reference_motions(8).shape == (8, amp_env.amp_obs_dim)
        wrapped.reset()
        obs, reward, terminated, truncated, infos = wrapped.step(torch.zeros(amp_env.num_envs, robot.num_joints))
        assert obs.shape == (amp_env.num_envs, amp_env.single_observation_space["policy"].shape[0])
        assert infos["amp_obs"].shape == (amp_env.num_envs, amp_env.amp_obs_dim)
    finally:
        amp_env.cfg.amp.dataset = None
        amp_env._reference_sampler = None


# ------------------------------------------------------------------------------------------------------------------
# the env's FeatureSpec comes from the dataset's header; env.* keys are checked
# ------------------------------------------------------------------------------------------------------------------
class _AmpCfg:
    def __init__(self, feature_spec: dict, check: bool = True):
        self.feature_spec, self.check_feature_version = feature_spec, check


def test_env_adopts_the_dataset_feature_spec_and_refuses_only_a_real_conflict(tmp_path):
    from wildrobot_amp_ext.errors import InputError
    from wildrobot_amp_ext.tasks.amp_locomotion.mdp.amp import resolve_feature_spec

    robot = load_robot("wildrobot")
    path = tmp_path / "clip_mode.npz"
    dataset_spec = FeatureSpec(root_lin_vel_mode="clip", lin_vel_clip=1.0, history=3)
    write_reference_npz(path, robot, dataset_spec)
    assert resolve_feature_spec(_AmpCfg({}), robot, path) == dataset_spec  # set once, at conversion
    assert resolve_feature_spec(_AmpCfg({"lin_vel_clip": 1.0}), robot, path) == dataset_spec  # agrees: fine
    assert resolve_feature_spec(_AmpCfg({"history": 2}), robot, path).history == 2  # the env's choice
    with pytest.raises(InputError, match="root_lin_vel_mode: 'direction' != 'clip'"):
        resolve_feature_spec(_AmpCfg({"root_lin_vel_mode": "direction"}), robot, path)
    with pytest.raises(InputError, match="robot"):
        resolve_feature_spec(_AmpCfg({}), load_robot("unitree_g1_23dof"), path)
    legacy = tmp_path / "no_header.npz"
    np.savez(legacy, features=np.zeros((4, 29), np.float32))
    with pytest.raises(InputError, match="check_feature_version=false"):
        resolve_feature_spec(_AmpCfg({}), robot, legacy)
    assert resolve_feature_spec(_AmpCfg({}, check=False), robot, legacy) == FeatureSpec()
    assert resolve_feature_spec(_AmpCfg({"history": 4}), robot, None) == FeatureSpec(history=4)


def test_misspelled_env_override_names_the_closest_key():
    from wildrobot_amp_ext.errors import InputError
    from wildrobot_amp_ext.isaaclab.launch import load_env_cfg

    for key, guess in (
        ("env.amp.feature_spec.lin_vel_zero_treshold=0.2", "env.amp.feature_spec.lin_vel_zero_threshold"),
        ("env.episode_lenght_s=3", "env.episode_length_s"),
        ("env.rewards.feet_air_time.params.treshold=1", "env.rewards.feet_air_time.params.threshold"),
    ):
        with pytest.raises(InputError, match=f"did you mean '{guess}'"):
            load_env_cfg(TASK, overrides=[key])
    cfg = load_env_cfg(TASK, overrides=["env.amp.feature_spec.root_lin_vel_mode=clip"])
    assert cfg.amp.feature_spec == {"root_lin_vel_mode": "clip"}


def test_play_configs_derive_from_their_robot_config():
    from wildrobot_amp_ext.tasks.amp_locomotion.config.unitree_g1_23dof.flat_env_cfg import (
        G123AmpFlatEnvCfg,
        G123AmpFlatPlayEnvCfg,
    )
    from wildrobot_amp_ext.tasks.amp_locomotion.config.unitree_g1_29dof.flat_env_cfg import G129AmpFlatPlayEnvCfg

    train, play, play29 = G123AmpFlatEnvCfg(), G123AmpFlatPlayEnvCfg(), G129AmpFlatPlayEnvCfg()
    assert isinstance(play, G123AmpFlatEnvCfg) and play29.robot_name == "unitree_g1_29dof"
    assert play.actions.joint_pos.scale == train.actions.joint_pos.scale == 0.5
    assert play.rewards.feet_air_time.params == train.rewards.feet_air_time.params
    assert play.scene.num_envs == 4 and play.events.push_robot is None and train.events.push_robot is not None
