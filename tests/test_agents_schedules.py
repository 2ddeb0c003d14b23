"""Style-weight ramp (values, AUC gate) and feature reintroduction stages (mask, triggers, resume)."""

from __future__ import annotations

import numpy as np
import pytest

from wildrobot_amp_ext.agents.config import FeatureStageCfg, FeatureStagesCfg, StyleRampCfg
from wildrobot_amp_ext.agents.schedules import FeatureStageSchedule, StyleWeightRamp
from wildrobot_amp_ext.agents.toy_env import toy_layout

# a ramp over 5k-50k timesteps with a two-sided AUC band, to exercise the gate in both directions
BAND = StyleRampCfg(enabled=True, ramp_start=5000, ramp_end=50000, auc_min=0.6, auc_max=0.85, max_logit_saturation=None)


def expected_fraction(t, cfg):
    return cfg.initial_fraction + (1 - cfg.initial_fraction) * np.clip(
        (t - cfg.ramp_start) / (cfg.ramp_end - cfg.ramp_start), 0, 1
    )


def run_ramp(ramp, until, step, auc_at):
    values = {}
    for t in range(0, until + 1, step):
        values[t] = ramp.update(t, auc_at(t))
    return values


def test_ramp_values_with_open_gate_follow_the_linear_schedule():
    cfg = BAND
    values = run_ramp(StyleWeightRamp(cfg), 60_000, 250, lambda t: 0.7)
    for t in (0, 2_000, 5_000, 5_250, 10_000, 27_500, 49_750, 50_000, 60_000):
        assert values[t] == pytest.approx(expected_fraction(t, cfg)), t
    assert values[5_000] == pytest.approx(0.05) and values[27_500] == pytest.approx(0.525) and values[50_000] == 1.0


def test_interval_straddling_ramp_start_counts_only_the_part_after_it():
    ramp = StyleWeightRamp(StyleRampCfg(enabled=True, ramp_start=1000, ramp_end=2000, initial_fraction=0.1))
    ramp.update(800, 0.7)
    assert ramp.update(1200, 0.7) == pytest.approx(0.1 + 0.9 * 0.2)


def test_auc_outside_band_holds_the_ramp_and_it_resumes_later():
    cfg = BAND
    # gate closed between 10k and 20k (discriminator too strong), open elsewhere
    values = run_ramp(StyleWeightRamp(cfg), 70_000, 500, lambda t: 0.95 if 10_000 < t <= 20_000 else 0.7)
    assert values[20_000] == pytest.approx(values[10_000])
    assert values[10_000] == pytest.approx(expected_fraction(10_000, cfg))
    # afterwards the ramp continues where it stopped: the full weight arrives 10k timesteps late
    assert values[40_000] == pytest.approx(expected_fraction(30_000, cfg))
    assert values[55_000] < 1.0 and values[60_000] == 1.0


@pytest.mark.parametrize("auc", [0.55, 0.5, 0.9, None, float("nan")])
def test_collapsed_saturated_or_unknown_auc_never_advances(auc):
    ramp = StyleWeightRamp(BAND)
    values = run_ramp(ramp, 60_000, 1000, lambda t: auc)
    assert set(values.values()) == {0.05}
    assert ramp.held_timesteps == 55_000


def test_logit_saturation_gate():
    ramp = StyleWeightRamp(StyleRampCfg(enabled=True, ramp_start=5000, ramp_end=50000, max_logit_saturation=0.1))
    ramp.update(5_000, 0.7, 0.0)
    assert ramp.update(10_000, 0.7, 0.5) == pytest.approx(0.05)
    assert ramp.update(15_000, 0.7, 0.05) > 0.05


def test_disabled_ramp_is_full_weight_and_state_round_trips():
    assert StyleWeightRamp(StyleRampCfg(enabled=False)).update(0, None) == 1.0
    a = StyleWeightRamp(BAND)
    run_ramp(a, 20_000, 1000, lambda t: 0.7)
    b = StyleWeightRamp(BAND)
    b.load_state_dict(a.state_dict())
    assert b.fraction == a.fraction
    assert b.update(30_000, 0.7) == pytest.approx(a.update(30_000, 0.7))


# ----------------------------------------------------------------------------------------------------------------
LAYOUT = toy_layout(
    num_joints=4, history=2
)  # joint_pos 4, joint_vel 4, root_lin_vel 3, root_ang_vel 3, root_height 1, foot_contacts 4
OBS_DIM = 2 * 19


def stages_cfg(**height_triggers):
    return FeatureStagesCfg(
        stages=[
            FeatureStageCfg(name="stage0", terms=["joint_pos", "joint_vel", "root_lin_vel", "root_ang_vel"]),
            FeatureStageCfg(
                name="height",
                add=["root_height"],
                min_step=50_000,
                **({"max_fall_rate": 0.2, "hold_updates": 3} | height_triggers),
            ),
            FeatureStageCfg(
                name="contacts",
                add=["foot_contacts", "foot_height"],
                min_step=100_000,
                max_fall_rate=0.2,
                hold_updates=1,
            ),
        ]
    )


def masked_terms(schedule):
    return sorted(t for t, cols in LAYOUT.items() if (schedule.mask[cols] == 0).all())


def test_stage0_masks_height_and_contacts_in_every_history_frame():
    s = FeatureStageSchedule(stages_cfg(), LAYOUT, OBS_DIM)
    assert masked_terms(s) == ["foot_contacts", "root_height"]
    assert s.mask.sum().item() == OBS_DIM - 2 * (1 + 4)
    assert s.name == "stage0"


def test_stage_needs_min_step_and_triggers_held_for_hold_updates():
    s = FeatureStageSchedule(stages_cfg(), LAYOUT, OBS_DIM)
    good = {"fall_rate": 0.05}
    assert not any(s.update(t, good) for t in range(0, 50_000, 1000))  # before min_step
    assert not s.update(50_000, good) and not s.update(51_000, good)
    assert not s.update(52_000, {"fall_rate": 0.5})  # a bad update resets the hold count
    assert not s.update(53_000, good) and not s.update(54_000, good)
    assert s.update(55_000, good)
    assert s.name == "height" and masked_terms(s) == ["foot_contacts"]
    assert not s.update(60_000, {"fall_rate": None})  # no finished episode: trigger unknown, no advance
    assert s.update(100_000, good)
    assert s.name == "contacts" and masked_terms(s) == [] and s.mask.sum().item() == OBS_DIM
    assert not s.update(200_000, good)  # last stage stays
    assert s.history == [(0, 0), (55_000, 1), (100_000, 2)]


def test_auc_and_episode_length_triggers():
    s = FeatureStageSchedule(
        stages_cfg(max_fall_rate=None, min_episode_length=200.0, auc_min=0.6, auc_max=0.85, hold_updates=1),
        LAYOUT,
        OBS_DIM,
    )
    assert not s.update(60_000, {"episode_length_mean": 250.0, "auc": 0.95})
    assert not s.update(61_000, {"episode_length_mean": 150.0, "auc": 0.7})
    assert s.update(62_000, {"episode_length_mean": 250.0, "auc": 0.7})


def test_stage_state_round_trips_and_no_layout_means_no_mask():
    a = FeatureStageSchedule(stages_cfg(hold_updates=1), LAYOUT, OBS_DIM)
    a.update(50_000, {"fall_rate": 0.0})
    b = FeatureStageSchedule(stages_cfg(hold_updates=1), LAYOUT, OBS_DIM)
    b.load_state_dict(a.state_dict())
    assert b.stage == 1 and bool((b.mask == a.mask).all())
    none = FeatureStageSchedule(stages_cfg(), None, OBS_DIM)
    assert not none.active and none.mask.sum().item() == OBS_DIM and not none.update(10**6, {"fall_rate": 0.0})


def test_a_long_hold_warns_with_the_reason_and_the_remedy_and_an_open_gate_clears_it(caplog):
    ramp = StyleWeightRamp(StyleRampCfg(enabled=True, ramp_start=0, warn_after_updates=3))
    with caplog.at_level("WARNING"):
        for t in range(100, 600, 100):
            ramp.update(t, 0.52)
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "held for 3 updates" in warnings[0], warnings
    assert "auc_min" in warnings[0] and "gradient penalty" in warnings[0]  # names the remedy
    assert ramp.held_updates == 5 and not ramp.gate_open
    ramp.update(700, 0.7)
    assert ramp.held_updates == 0 and ramp.gate_open and ramp.hold_reason == ""
    assert "auc_max" in StyleWeightRamp(BAND).closed_because(0.97) and ramp.closed_because(0.7) == ""


def test_default_gate_opens_for_a_discriminator_that_ranks_perfectly_but_holds_flat_or_uninformative_ones():
    # the ramp is off by default; its gate's defaults: measured held-out AUC after three updates 0.98-1.0, saturation 0
    ramp = StyleWeightRamp(StyleRampCfg(enabled=True))
    assert ramp.gate(0.999, 0.0) and ramp.gate(1.0, 0.3)
    assert not ramp.gate(0.55, 0.0) and not ramp.gate(1.0, 0.9)
    assert ramp.update(ramp.cfg.ramp_end, 0.99, 0.0) == 1.0  # the default reaches full weight within its span
