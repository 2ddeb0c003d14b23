"""Deploy bundle (deploy.yaml + ONNX metadata) and the robot-side runner that reads only the bundle.

Fast tests: the bundle's contents and refusals, the history layout, the runner in MuJoCo. The slow test runs the
Isaac Lab env and the bundle-only runner side by side on the same states: observation term by term over 12 steps
(history layout included), actions to 1e-5, and the two simulators' dynamics under the same actions."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

import gymnasium
import numpy as np
import pytest
import torch
import yaml
from skrl.resources.preprocessors.torch import RunningStandardScaler

from wildrobot_amp_ext.agents.models import GaussianPolicy
from wildrobot_amp_ext.deploy.bundle import DEPLOY_FILE, build_deploy, load_bundle
from wildrobot_amp_ext.deploy.export import export_policy
from wildrobot_amp_ext.deploy.observations import OBSERVATION_SETS
from wildrobot_amp_ext.deploy.runner import ObservationHistory
from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.robots import load_robot

ROOT = Path(__file__).resolve().parents[1]
#: the parts of a run's params/env.yaml the bundle reads
ENV_CFG = {
    "observation_set": "measured",
    "actions": {"joint_pos": {"scale": 0.25, "use_default_offset": True, "clip": None}},
    "sim": {"dt": 0.005},
    "decimation": 4,
    "commands": {
        "base_velocity": {
            "ranges": {
                "lin_vel_x": [0.0, 0.5],
                "lin_vel_y": [-0.15, 0.15],
                "ang_vel_z": [-1.0, 1.0],
                "heading": [-3.14, 3.14],
            }
        }
    },  # fmt: skip
    "terminations": {
        "base_height": {"params": {"minimum_height": 0.15}},
        "base_orientation": {"params": {"limit_angle": 1.0}},
    },
}


def box(n: int) -> gymnasium.spaces.Box:
    return gymnasium.spaces.Box(-np.inf, np.inf, (n,), np.float32)


def random_policy(obs_dim: int, act_dim: int, seed: int = 0, gain: float = 1.0):
    """A policy with O(1) outputs and a normaliser whose statistics are far from (0, 1)."""
    torch.manual_seed(seed)
    policy = GaussianPolicy(
        observation_space=box(obs_dim),
        action_space=box(act_dim),
        device="cpu",
        layers=[64, 32],
        activations=["elu", "elu"],
    )
    with torch.no_grad():
        policy.net[-1].weight.mul_(gain)
        policy.net[-1].bias.mul_(gain)
    scaler = RunningStandardScaler(size=box(obs_dim), device="cpu")
    for _ in range(3):
        scaler(torch.randn(128, obs_dim) * torch.linspace(0.05, 2.0, obs_dim) + 0.1, train=True)
    return policy.eval(), scaler.eval()


def export_bundle(tmp_path, robot_name: str = "wildrobot", env_cfg: dict = ENV_CFG, gain: float = 1.0):
    robot = load_robot(robot_name)
    obs_dim = OBSERVATION_SETS[env_cfg["observation_set"]].dim(robot.num_joints)
    policy, scaler = random_policy(obs_dim, robot.num_joints, gain=gain)
    deploy = build_deploy(robot, env_cfg, obs_dim, robot.num_joints)
    result = export_policy(policy, scaler, tmp_path, metadata={"robot": robot.name, "deploy": deploy})
    assert result.ok, result.parity
    return robot, policy, scaler


def test_bundle_fields_and_onnx_metadata(tmp_path):
    import onnx

    robot, *_ = export_bundle(tmp_path)
    bundle = load_bundle(tmp_path, robot)
    deploy = yaml.safe_load((tmp_path / DEPLOY_FILE).read_text())
    obs = deploy["observations"]
    names = [t["name"] for t in obs["terms"]]
    # what a robot measures, nothing it cannot
    assert names == ["imu_ang_vel", "imu_projected_gravity", "velocity_commands", "joint_pos", "joint_vel", "actions"]
    assert "base_lin_vel" not in names and "root_height" not in names
    scales = {t["name"]: t["scale"] for t in obs["terms"]}
    noise = {t["name"]: t["train_noise"] for t in obs["terms"]}
    assert scales["imu_ang_vel"] == 0.2 and scales["joint_vel"] == 0.05 and noise["joint_vel"] == 1.5
    assert obs["history_length"] == 5 and obs["history_layout"] == "term_major"
    assert obs["dim"] == bundle.obs_dim == 5 * (3 + 3 + 3 + 3 * robot.num_joints)
    assert deploy["joint_names"] == list(robot.joint_names) and deploy["imu_body"] == "pelvis"
    assert deploy["step_dt"] == pytest.approx(0.02) and deploy["commands"]["lin_vel_x"] == [0.0, 0.5]
    assert deploy["stiffness"] == list(robot.kp) and deploy["actions"]["scale"] == [0.25] * robot.num_joints
    assert deploy["sdk_motor_index"] is None  # WildRobot's servos take the policy order
    meta = {p.key: json.loads(p.value) for p in onnx.load(str(tmp_path / "policy.onnx")).metadata_props}
    assert {k: meta[k] for k in deploy} == json.loads(json.dumps(deploy))
    assert json.loads((tmp_path / "policy.json").read_text())["deploy"] == DEPLOY_FILE


def test_g1_bundle_maps_policy_joints_to_sdk_motor_slots(tmp_path):
    robot, *_ = export_bundle(tmp_path, "unitree_g1_23dof")
    deploy = load_bundle(tmp_path, robot).deploy
    slot = dict(zip(deploy["joint_names"], deploy["sdk_motor_index"]))
    # unitree_sdk2 G1JointIndex: legs 0-11, waist yaw 12, left shoulder pitch 15, right wrist roll 26
    assert slot["left_hip_pitch_joint"] == 0 and slot["right_ankle_roll_joint"] == 11
    assert slot["waist_yaw_joint"] == 12 and slot["left_shoulder_pitch_joint"] == 15
    assert slot["right_wrist_roll_joint"] == 26 and len(set(slot.values())) == robot.num_joints == 23


def test_the_privileged_set_stays_available(tmp_path):
    robot, *_ = export_bundle(tmp_path, env_cfg={**ENV_CFG, "observation_set": "privileged"})
    obs = load_bundle(tmp_path, robot)["observations"]
    assert [t["name"] for t in obs["terms"]][:4] == ["base_lin_vel", "base_ang_vel", "projected_gravity", "root_height"]
    assert obs["history_length"] == 1
    # a run saved before the option existed trained on the privileged set
    old = {k: v for k, v in ENV_CFG.items() if k != "observation_set"}
    assert build_deploy(robot, old, obs["dim"], robot.num_joints)["observations"]["set"] == "privileged"


def _edit_yaml(folder, edit) -> None:
    path = folder / DEPLOY_FILE
    deploy = yaml.safe_load(path.read_text())
    edit(deploy)
    path.write_text(yaml.safe_dump(deploy, sort_keys=False))


def _rewrite_all(folder, edit) -> None:
    """Edit deploy.yaml and the ONNX metadata alike (a consistent bundle for another robot)."""
    from wildrobot_amp_ext.deploy.bundle import write_bundle

    deploy = yaml.safe_load((folder / DEPLOY_FILE).read_text())
    edit(deploy)
    write_bundle(deploy, folder, folder / "policy.onnx")


@pytest.mark.parametrize(
    "edit, both, field",
    [
        # deploy.yaml no longer matches the ONNX it came with
        (
            lambda d: d["observations"].update(history_length=4, dim=144),
            False,
            r"metadata_props\.observations': differs",
        ),
        # a consistent bundle whose history disagrees with the ONNX input width
        (
            lambda d: d["observations"].update(history_length=4, dim=144),
            True,
            r"observations\.history_length': the ONNX takes 180 inputs, deploy.yaml gives 4 x 36 = 144",
        ),  # fmt: skip
        # ... or with the robot: joint order, observation scale, gains
        (
            lambda d: d["joint_names"].insert(1, d["joint_names"].pop(0)),
            True,
            r"joint_names': joint 0 is 'left_hip_roll'",
        ),
        (
            lambda d: d["observations"]["terms"][4].update(scale=1.0),
            True,
            r"observations\.terms\[4\]\.scale': joint_vel",
        ),
        (lambda d: d["stiffness"].__setitem__(2, 99.0), True, r"stiffness': left_knee_pitch: 99"),
        (lambda d: d["observations"].update(history_layout="interleaved"), True, r"observations\.history_layout"),
        # per-joint terms with other widths that still add up to the ONNX input
        (
            lambda d: [d["observations"]["terms"][i].update(width=w) for i, w in ((3, 8), (5, 10))],
            True,
            r"observations\.terms\[3\]\.width': joint_pos has 8 columns for 9 joints",
        ),
    ],
)
def test_a_bundle_that_disagrees_is_refused_in_one_line(tmp_path, edit, both, field):
    robot, *_ = export_bundle(tmp_path)
    (_rewrite_all if both else _edit_yaml)(tmp_path, edit)
    with pytest.raises(InputError, match=field) as err:
        load_bundle(tmp_path, robot)
    assert "\n" not in str(err.value)


def test_history_layouts_and_the_first_frame_after_a_reset():
    terms = [
        {"name": "a", "width": 2, "scale": 2.0, "clip": None},
        {"name": "b", "width": 1, "scale": 1.0, "clip": 0.5},
    ]
    term_major = ObservationHistory({"terms": terms, "history_length": 3, "history_layout": "term_major"})
    frame_major = ObservationHistory(
        {"terms": copy.deepcopy(terms), "history_length": 3, "history_layout": "frame_major"}
    )
    frames = [({"a": [1, 2], "b": [9]}), ({"a": [3, 4], "b": [0.1]}), ({"a": [5, 6], "b": [-9]})]
    first = term_major(frames[0])
    np.testing.assert_array_equal(first, [2, 4, 2, 4, 2, 4, 0.5, 0.5, 0.5])  # every slot holds the first frame
    term_major(frames[1])
    np.testing.assert_allclose(term_major(frames[2]), [2, 4, 6, 8, 10, 12, 0.5, 0.1, -0.5], rtol=1e-6)
    for f in frames:
        out = frame_major(f)
    np.testing.assert_allclose(out, [2, 4, 0.5, 6, 8, 0.1, 10, 12, -0.5], rtol=1e-6)
    term_major.reset()
    np.testing.assert_array_equal(term_major(frames[1])[:6], [6, 8, 6, 8, 6, 8])


def test_the_runner_reads_only_the_bundle_and_stands_in_mujoco(tmp_path):
    """A zero-output policy (all weights zero) holds the default pose through the bundle's PD gains."""
    from wildrobot_amp_ext.deploy.sim2sim import Sim2SimCfg, mujoco_world, run_bundle_in_mujoco
    from wildrobot_amp_ext.evaluation.sim2sim_report import rollout_metrics

    robot, *_ = export_bundle(tmp_path, gain=0.0)
    bundle = load_bundle(tmp_path)  # no robot: what a robot-side program has
    model, data = mujoco_world(robot, bundle["sim_dt"])
    rollout = run_bundle_in_mujoco(bundle, model, data, Sim2SimCfg((0.0, 0.0, 0.0), 2.0))
    metrics = rollout_metrics(rollout, bundle["step_dt"])
    assert metrics["steps"] == 100 and metrics["falls"] == 0, metrics
    # the runner set the bundle's gains on the model's actuators (found by joint name)
    from wildrobot_amp_ext.robots.mjcf import actuator_ids

    np.testing.assert_allclose(model.actuator_gainprm[actuator_ids(model, robot), 0], bundle["stiffness"])


def test_a_bundle_for_another_model_is_refused_by_the_runner(tmp_path):
    from wildrobot_amp_ext.deploy.runner import MujocoRobot
    from wildrobot_amp_ext.deploy.sim2sim import mujoco_world

    robot, *_ = export_bundle(tmp_path)
    _rewrite_all(tmp_path, lambda d: d.update(imu_body="torso_imu"))
    bundle = load_bundle(tmp_path)
    with pytest.raises(InputError, match=r"imu_body': 'torso_imu' is not a body of the MuJoCo model"):
        MujocoRobot(*mujoco_world(robot, 0.005), bundle)


@pytest.mark.slow
@pytest.mark.isaaclab
@pytest.mark.skipif(importlib.util.find_spec("isaaclab") is None, reason="needs Isaac Lab")
def test_trained_checkpoint_exports_a_bundle_with_a_measured_actor_and_a_privileged_critic(tmp_path):
    """train_amp.py on the real task (2 envs, 16 steps) -> wildrobot-export -> deploy.yaml -> MuJoCo runner."""
    import importlib

    from wildrobot_amp_ext.deploy.export import run_cli
    from wildrobot_amp_ext.deploy.observations import critic_terms
    from wildrobot_amp_ext.deploy.sim2sim import Sim2SimCfg, mujoco_world, run_bundle_in_mujoco

    spec = importlib.util.spec_from_file_location("train_amp", ROOT / "train_amp.py")
    train_amp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train_amp)
    task, logs = "WildRobot-AMP-Flat-v0", tmp_path / "logs"
    argv = ["--task", task, "--num_envs", "2", "--device", "cpu", "--headless", "--steps", "16", "--log_root",
            str(logs), "agent.agent.rollouts=8", "agent.agent.mini_batches=1"]  # fmt: skip
    assert train_amp.main(argv) == 0
    run = next((logs / task).iterdir())
    ckpt = run / "checkpoints" / "agent_16.pt"
    modules = torch.load(ckpt, weights_only=False)
    robot = load_robot("wildrobot")
    critic_dim = sum(t.dim(robot.num_joints) for t in critic_terms())
    # asymmetric actor-critic: the value network's first layer reads the critic group, through its own normaliser
    assert modules["value"]["net.0.weight"].shape[1] == critic_dim == 42
    assert modules["state_preprocessor"]["running_mean"].shape == (critic_dim,)
    assert modules["policy"]["net.0.weight"].shape[1] == OBSERVATION_SETS["measured"].dim(robot.num_joints) == 180
    assert run_cli(["--checkpoint", str(ckpt), "--out", str(tmp_path / "exported")]) == 0
    bundle = load_bundle(tmp_path / "exported", robot)
    names = [t["name"] for t in bundle["observations"]["terms"]]
    assert "base_lin_vel" not in names and "root_height" not in names
    assert {"base_lin_vel", "root_height", "foot_contacts"} <= {t.name for t in critic_terms()}
    rollout = run_bundle_in_mujoco(bundle, *mujoco_world(robot, bundle["sim_dt"]), Sim2SimCfg((0.2, 0.0, 0.0), 1.0))
    assert len(rollout["terminated"]) >= 1 and np.isfinite(rollout["root_lin_vel"]).all()
