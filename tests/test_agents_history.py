"""History order of AMP observations with distinct frames, H = 2, 3, 5: oldest frame first, the same on the
reference side (the sampler's stacking of dataset frames), the toy env and the Isaac Lab env (replayed clip)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from wildrobot_amp_ext.agents.reference import load_reference_npz
from wildrobot_amp_ext.agents.toy_env import ToyAmpEnv, toy_features

HISTORIES = (2, 3, 5)


def numbered_frames(num_frames: int, width: int) -> np.ndarray:
    """Frame i holds i + column / 100 in every column: any swap, shift or repeat of frames changes a row."""
    return (np.arange(num_frames)[:, None] + np.arange(width)[None, :] / 100.0).astype(np.float32)


@pytest.mark.parametrize("history", HISTORIES)
def test_reference_rows_stack_distinct_frames_oldest_first_within_a_clip(tmp_path, history):
    width, lengths = 3, (9, 12)
    frames = numbered_frames(sum(lengths), width)
    path = tmp_path / "ref.npz"
    np.savez(path, features=frames, motion_id=np.repeat([0, 1], lengths), fps=np.asarray(50.0))
    table = load_reference_npz(path, obs_dim=history * width)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    clip_of = np.repeat(np.arange(len(lengths)), lengths)
    expected_valid = np.arange(len(frames)) - starts[clip_of] >= history - 1
    np.testing.assert_array_equal(table.valid, expected_valid)
    for row in np.flatnonzero(table.valid):
        expected = np.concatenate([frames[row - history + 1 + k] for k in range(history)])
        np.testing.assert_array_equal(table.obs[row], expected, err_msg=f"row {row}")
    # the newest frame sits last: the row's last block is its own frame
    np.testing.assert_array_equal(table.obs[table.valid][:, -width:], frames[table.valid])


@pytest.mark.parametrize("history", HISTORIES)
def test_toy_env_amp_obs_is_the_last_frames_oldest_first(history):
    env = ToyAmpEnv(num_envs=3, history=history)
    env.reset(seed=0)
    seen = []
    gen = torch.Generator().manual_seed(0)
    for _ in range(history + 3):
        _, _, terminated, truncated, info = env.step(torch.rand(3, env.num_joints, generator=gen) - 0.5)
        assert not (terminated | truncated).any()
        seen.append(toy_features(env.q, env.qd, env.cfg.speed_gain))
    expected = torch.cat(seen[-history:], dim=1)
    assert not torch.equal(seen[-1], seen[-2])  # the frames differ
    torch.testing.assert_close(info["amp_obs"], expected, rtol=0, atol=0)


# ------------------------------------------------------------------------------------------------------------------
# Isaac Lab env: teleport the robots through a clip and compare the amp group with the stacked per-frame features
# ------------------------------------------------------------------------------------------------------------------
def _replay_states(robot, num_frames: int, fps: float):
    from wildrobot_amp_ext.features import KinematicState
    from wildrobot_amp_ext.motion.synthetic import synthetic_walk

    clip = synthetic_walk(robot, duration=(num_frames - 1) / fps, fps=fps)
    dt = 1.0 / fps
    n = clip.num_frames
    return KinematicState.from_numpy(
        dtype=torch.float32,
        root_pos_w=clip.root_pos, root_quat_w=clip.root_quat,
        root_lin_vel_w=np.gradient(clip.root_pos, dt, axis=0), root_ang_vel_w=np.zeros((n, 3)),
        joint_pos=clip.joint_pos, joint_vel=np.gradient(clip.joint_pos, dt, axis=0),
        contact_pos_w=np.zeros((n, 4, 3)), contact_vel_w=np.zeros((n, 4, 3)),
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.isaaclab
def test_env_amp_history_matches_reference_stacking_for_distinct_frames(tmp_path):
    os.environ.setdefault("WARP_CACHE_PATH", str(Path("~/.cache/wildrobot_amp_ext/warp").expanduser()))
    from wildrobot_amp_ext.isaaclab.launch import make_env
    from wildrobot_amp_ext.robots import load_robot
    from wildrobot_amp_ext.tasks.amp_locomotion.mdp.amp import write_kinematic_state

    robot = load_robot("wildrobot")
    for history in HISTORIES:
        env = make_env(
            "WildRobot-AMP-Flat-Play-v0", num_envs=2,
            overrides=["env.events.reference_state_init.params.fraction=0.0",
                       f"env.amp.feature_spec.history={history}"],
        ).unwrapped  # fmt: skip
        try:
            assert env.amp_feature_spec.history == history
            states = _replay_states(robot, num_frames=history + 6, fps=1.0 / env.step_dt)
            art = env.scene["robot"]
            joint_ids = torch.as_tensor([art.joint_names.index(n) for n in robot.joint_names], device=env.device)
            env_ids = torch.arange(env.num_envs, device=env.device)
            env.reset()
            env.observation_manager.reset()
            frames, stacked, rebuilt = [], [], []
            for k in range(states.root_pos_w.shape[0]):
                one = states[[k] * env.num_envs]
                one.root_pos_w = one.root_pos_w + env.scene.env_origins
                write_kinematic_state(env, env_ids, one, joint_ids)
                env.sim.forward()
                if stacked:  # the terminal-frame path: previous amp obs shifted by one frame + the current frame
                    env.obs_buf = {"amp": stacked[-1]}
                    rebuilt.append(env._current_amp_obs()[0].cpu())
                frames.append(env.amp_frame()[0].cpu())
                stacked.append(env.observation_manager.compute_group("amp", update_history=True))
            frames_np = torch.stack(frames).numpy()
            assert np.abs(np.diff(frames_np, axis=0)).max() > 1e-3  # distinct frames
            path = tmp_path / f"replay_h{history}.npz"
            np.savez(
                path,
                features=frames_np,
                motion_id=np.zeros(len(frames_np), np.int64),
                fps=np.asarray(1.0 / env.step_dt),
            )
            table = load_reference_npz(path, obs_dim=env.amp_obs_dim)
            got = torch.stack([s[0].cpu() for s in stacked]).numpy()
            np.testing.assert_allclose(got[history - 1 :], table.obs[history - 1 :], atol=1e-5, err_msg=f"H={history}")
            np.testing.assert_allclose(torch.stack(rebuilt).numpy()[history - 2 :], table.obs[history - 1 :], atol=1e-5)
        finally:
            env.close()
