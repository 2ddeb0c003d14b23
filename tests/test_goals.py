"""The walking goals table (evaluation/goals.py): a standing robot fails it, a tracking one passes, the sim2sim and
per-motion figures are what they say."""

from __future__ import annotations

import pytest

from wildrobot_amp_ext.evaluation.goals import Goals, main, motion_distances, summarize

GRID = [(0.0, 0.0, 0.0), (0.3, 0.0, 0.0), (0.5, 0.0, 0.0), (0.3, 0.0, 0.5), (0.0, 0.15, 0.0)]


def report(lin_err, yaw_err, falls=0, episodes=4, single=0.4, alternation=0.9, style=None, swing=0.3):
    """A metrics.json-shaped report: per-command errors from callables of the command."""
    per = [
        {"command": list(c), "lin_vel_error_mean": lin_err(c), "ang_vel_error_mean": yaw_err(c), "falls": 0,
         "episodes": episodes, "single_stance_fraction": single, "step_alternation": alternation,
         "swing_time": swing}
        for c in GRID
    ]  # fmt: skip
    out = {"per_command": per, "overall": {"falls": falls, "episodes": episodes * len(GRID), "slip_rate": 0.01}}
    if style is not None:
        out["style"] = style
    return out


def standing():
    return report(
        lambda c: (c[0] ** 2 + c[1] ** 2) ** 0.5, lambda c: abs(c[2]), single=0.0, alternation=None, swing=None
    )


def tracking():
    return report(lambda c: 0.05, lambda c: 0.08)


def test_a_standing_robot_fails_the_velocity_and_turning_goals():
    s = summarize([standing(), standing()])
    assert s["lin_vel_error"] == pytest.approx((0 + 0.3 + 0.5 + 0.3 + 0.15) / 5)
    assert s["yaw_rate_error_turning"] == pytest.approx(0.5)
    assert not s["checks"]["velocity error <= 0.1"]


def test_a_tracking_robot_passes_and_seeds_are_averaged_falls_pooled():
    bad_seed = tracking()
    bad_seed["overall"]["falls"] = 2
    s = summarize([tracking(), bad_seed])
    assert s["checks"]["velocity error <= 0.1"] and s["checks"]["yaw-rate error <= 0.15"]
    assert s["fall_rate"] == pytest.approx(2 / 40) and not s["checks"]["falls <= 2%"]
    assert s["lin_vel_error_per_seed"] == [pytest.approx(0.05)] * 2


def test_sim2sim_ratio_and_falls():
    mujoco = report(lambda c: 0.08, lambda c: 0.1, falls=1)
    s = summarize([tracking()], mujoco)
    assert s["mujoco"]["lin_vel_error_ratio_to_isaac"] == pytest.approx(0.08 / 0.05)
    assert not s["checks"]["MuJoCo velocity error <= 1.3x Isaac Lab's"]
    assert s["mujoco"]["fall_rate"] == pytest.approx(1 / 20) and s["checks"]["MuJoCo falls <= 5%"]


def test_per_motion_distance_weighs_commanded_transitions_and_flags_a_motion_far_from_the_best():
    style = {"policy_to_reference": 0.5, "reference_to_policy": 0.6, "reference_to_policy_per_clip": {
        "walk_a/w1/seg0": {"reference_to_policy": 0.4, "transitions": 100, "commanded_fraction": 1.0},
        "walk_a/w1/seg1": {"reference_to_policy": 9.0, "transitions": 100, "commanded_fraction": 0.0},
        "stand_b/w1/seg0": {"reference_to_policy": 1.0, "transitions": 50, "commanded_fraction": 1.0},
    }}  # fmt: skip
    assert motion_distances(style) == {"stand_b": pytest.approx(1.0), "walk_a": pytest.approx(0.4)}
    s = summarize([report(lambda c: 0.05, lambda c: 0.05, style=style)], goals=Goals(family_ratio=2.0))
    assert s["style"]["motion_ratio_to_best"]["stand_b"] == pytest.approx(2.5)
    assert not s["checks"]["every reference motion within 2.0x of the best"]


def test_cli_refuses_an_unreadable_report_in_one_line(tmp_path, capsys):
    bad = tmp_path / "metrics.json"
    bad.write_text("{not json")
    with pytest.raises(SystemExit) as stop:
        main(["--isaac", str(bad)])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "metrics.json" in err and len(err.strip().splitlines()) == 1


def test_controls_ratio_both_directions_and_a_control_as_close_as_the_policy_fails(tmp_path, capsys):
    def style(p2r, r2p):
        return {"policy_to_reference": p2r, "reference_to_policy": r2p, "reference_to_policy_per_clip": {
            "walk_a/w1/seg0": {"reference_to_policy": r2p, "transitions": 10, "commanded_fraction": 1.0}}}  # fmt: skip

    far = summarize([report(lambda c: 0.05, lambda c: 0.05, style=style(1.0, 1.2))])
    near = summarize([report(lambda c: 0.05, lambda c: 0.05, style=style(0.5, 0.9))])
    s = summarize([report(lambda c: 0.05, lambda c: 0.05, style=style(0.6, 0.7))], controls={"bonus": far, "sh": near})
    assert s["controls"]["bonus"]["ratio_policy_to_reference"] == pytest.approx(0.6)
    assert s["controls"]["bonus"]["ratio_reference_to_policy"] == pytest.approx(0.7 / 1.2)
    assert s["checks"]["style distances <= 0.7x the bonus control's"]
    assert not s["checks"]["style distances <= 0.7x the sh control's"]  # the policy is not closer than this control
    with pytest.raises(SystemExit) as stop:
        main(["--isaac", str(tmp_path / "m.json"), "--control", "nameless"])
    assert stop.value.code == 2 and "NAME=GOALS_JSON" in capsys.readouterr().err


def test_walking_slip_is_judged_on_the_walking_commands_against_the_reference():
    from wildrobot_amp_ext.evaluation.goals import checks

    r = tracking()
    for e in r["per_command"]:  # slips on every walking command, never while standing
        e["slip_rate"] = 0.2 if e["command"][0] or e["command"][1] else 0.0
    s = summarize([r])
    assert s["gait_walking"]["slip_rate"] == pytest.approx(0.2)
    s["gait_reference_walking"] = {"single_stance_fraction": 0.4, "step_alternation": 0.9, "slip_rate": 0.08}
    assert not checks(s, Goals())["walking slip <= 1.5x the reference's walking slip"]
    s["gait_reference_walking"]["slip_rate"] = 0.15
    assert checks(s, Goals())["walking slip <= 1.5x the reference's walking slip"]


def test_a_robot_standing_at_every_walking_command_fails_the_walking_slip_goal():
    from wildrobot_amp_ext.evaluation.goals import checks

    r = standing()
    for e in r["per_command"]:
        e["slip_rate"] = 0.0  # still feet: no slip where it stands, but it never steps
    s = summarize([r])
    s["gait_reference_walking"] = {"single_stance_fraction": 0.4, "step_alternation": 0.9, "slip_rate": 0.08}
    assert s["gait_walking"]["stepping_commands"] == 0
    assert not checks(s, Goals())["walking slip <= 1.5x the reference's walking slip"]


def test_a_shuffling_gait_fails_the_swing_time_goal():
    """Quick 60 ms steps alternate perfectly but are not the reference's 0.3 s swings."""
    from wildrobot_amp_ext.evaluation.goals import checks

    reference = {"single_stance_fraction": 0.4, "step_alternation": 0.85, "swing_time": 0.3, "slip_rate": 0.08}
    key = "walking swing time within 0.5-1.5x the reference's"
    for swing, ok in ((0.06, False), (0.25, True)):
        s = summarize([report(lambda c: 0.05, lambda c: 0.08, alternation=1.0, swing=swing)])
        s["gait_reference_walking"] = reference
        assert s["gait_walking"]["swing_time"] == pytest.approx(swing)
        assert checks(s, Goals())[key] is ok
        assert checks(s, Goals())["walking step alternation within 0.5-1.5x the reference's"]


def test_a_standing_robot_fails_the_gait_goals():
    """No steps: no alternation and no swing time, so neither gait check can pass."""
    from wildrobot_amp_ext.evaluation.goals import checks

    s = summarize([standing()])
    s["gait_reference_walking"] = {"single_stance_fraction": 0.5, "step_alternation": 0.8, "swing_time": 0.27}
    c = checks(s, Goals())
    assert not c["walking swing time within 0.5-1.5x the reference's"]
    assert not c["walking step alternation within 0.5-1.5x the reference's"]
