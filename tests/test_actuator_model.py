"""The explicit actuator model (robots/actuator_model.py): the torque function's curve, friction and delay, the
robot YAML block and its refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.robots import load_robot
from wildrobot_amp_ext.robots.actuator_model import DelayLine, MotorParams, motor_torque
from wildrobot_amp_ext.robots.spec import ROBOTS_DIR

N7520_14 = MotorParams(y1=71.0, y2=83.3, x1=22.63, x2=35.52, fs=1.6, fd=0.16, va=0.01)
NO_FRICTION = N7520_14._replace(fs=0.0, fd=0.0)


def _torque(q_target, q, qd, kp=1000.0, kd=0.0, p=NO_FRICTION):
    return float(motor_torque(np.float64(q_target), np.float64(q), np.float64(qd), kp, kd, p))


def test_torque_speed_curve_points():
    # a large error saturates: driving (torque and speed the same sign) at Y1, braking at Y2
    assert _torque(1.0, 0.0, 1.0) == pytest.approx(71.0)
    assert _torque(-1.0, 0.0, 1.0) == pytest.approx(-83.3)
    # past the knee X1 the limit falls linearly to zero at the no-load speed X2
    mid = 0.5 * (22.63 + 35.52)
    assert _torque(1.0, 0.0, mid) == pytest.approx(0.5 * 71.0)
    assert _torque(-1.0, 0.0, -mid) == pytest.approx(-0.5 * 71.0)
    assert _torque(1.0, 0.0, 40.0) == 0.0
    # inside the curve the PD passes unchanged
    assert _torque(0.01, 0.0, 0.5, kp=100.0, kd=2.0) == pytest.approx(100.0 * 0.01 - 2.0 * 0.5)


def test_friction_opposes_motion():
    qd = np.array([-2.0, -0.005, 0.0, 0.005, 2.0])
    tau = motor_torque(np.zeros(5), np.zeros(5), qd, 0.0, 0.0, N7520_14)
    expected = -(1.6 * np.tanh(qd / 0.01) + 0.16 * qd)
    np.testing.assert_allclose(tau, expected)
    assert tau[0] > 1.6 and tau[-1] < -1.6 and tau[2] == 0.0


def test_numpy_and_torch_give_the_same_torque():
    robot = load_robot("unitree_g1_29dof")
    rng = np.random.default_rng(0)
    n = (64, robot.num_joints)
    q_target, q = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    qd = rng.uniform(-45, 45, n)  # beyond every motor's knee and no-load speed
    am = robot.actuator_model
    ref = motor_torque(q_target, q, qd, robot.kp, robot.kd, am.params)
    t = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    got = motor_torque(t(q_target), t(q), t(qd), t(robot.kp), t(robot.kd), am.torch_params())
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-5, atol=1e-4)
    assert (np.abs(ref) > 0).all()


def test_delay_line_delays_by_lag_steps():
    lag = np.array([0, 1, 2])
    line = DelayLine(lag)
    out = np.array([line.push(np.full(3, float(k))) for k in range(6)])
    # the target of step k reaches joint j at step k + lag[j]; before that the first target (history filled)
    for j, d in enumerate(lag):
        np.testing.assert_array_equal(out[:, j], np.maximum(np.arange(6) - d, 0))
    # a second write in the same physics step replaces that step's target
    line.replace(np.full(3, 9.0))
    assert line.history[0, 0] == 9.0


def test_robot_yaml_blocks():
    g1 = load_robot("unitree_g1_29dof").actuator_model
    assert g1.identified and g1.enabled
    knee = load_robot("unitree_g1_29dof").joint_index["left_knee_joint"]
    assert g1.motor_type[knee] == "N7520-22.5" and g1.params.y1[knee] == 111.0 and g1.params.fs[knee] == 2.4
    assert (g1.delay_min == 0).all() and (g1.delay_max == 2).all()
    wild = load_robot("wildrobot").actuator_model
    assert not wild.identified and not wild.enabled
    assert (wild.delay_max > g1.delay_max.max()).all()  # unidentified: a wider delay range
    assert wild.to_dict()["identified"] is False


# --- bad actuator blocks: one line naming file, field and fix, exit 2 -------------------------------------------


def _write_variant(tmp_path: Path, mutate) -> Path:
    src = ROBOTS_DIR / "wildrobot"
    raw = yaml.safe_load((src / "robot.yaml").read_text())
    raw["mjcf"] = str(src / "wildrobot.xml")
    mutate(raw)
    path = tmp_path / "robot.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _motor(key, value):
    return lambda raw: raw["actuator_model"]["motors"][0].__setitem__(key, value)


def _block(key, value):
    return lambda raw: raw["actuator_model"].__setitem__(key, value)


@pytest.mark.parametrize(
    "mutate, field, words",
    [
        (_block("delay_steps", [0, 99]), "actuator_model.delay_steps", "0..10"),
        (_block("delay_steps", [2, 1]), "actuator_model.delay_steps", "[2, 1]"),
        (_block("identified", "unknown"), "actuator_model.identified", "true or false"),
        (_block("motors", []), "actuator_model.motors", "non-empty"),
        (_block("latency", 3), "actuator_model.latency", "unknown key"),
        (_motor("Y1", -4.0), "actuator_model.motors[0].Y1", "outside"),
        (_motor("X2", 3.0), "actuator_model.motors[0].X2", "not above"),
        (_motor("Fs", "high"), "actuator_model.motors[0].Fs", ""),
        (_motor("joints", "left_.*"), "actuator_model.motors", "no motor group covers"),
        (lambda raw: raw["actuator_model"]["motors"][0].pop("Fd"), "actuator_model.motors[0].Fd", "missing"),
        (lambda raw: raw.__setitem__("actuator_model", [1]), "actuator_model", "mapping"),
    ],
)
def test_bad_actuator_block_one_line_exit_2(tmp_path, mutate, field, words):
    path = _write_variant(tmp_path, mutate)
    with pytest.raises(InputError) as err:
        load_robot(path)
    assert f"'{field}'" in str(err.value) and words in str(err.value)
    proc = subprocess.run([sys.executable, "-m", "wildrobot_amp_ext.robots", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and field in lines[0] and "fix:" in lines[0]
