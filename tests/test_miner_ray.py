"""``--executor ray``: the same per-clip jobs on a local 2-worker Ray cluster give the same dataset as the process
pool for the same seed and resume from the same cache; without Ray installed the flag is one line naming the extra."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

from wildrobot_amp_ext.miner.probes import standing_sway
from wildrobot_amp_ext.motion.synthetic import write_gmr_pickle
from wildrobot_amp_ext.robots import load_robot

HAS_RAY = importlib.util.find_spec("ray") is not None


def _mine(tmp_path, motions, name: str, executor: str, capsys) -> dict[str, np.ndarray]:
    from wildrobot_amp_ext.mine import run

    out = tmp_path / f"{name}.npz"
    # two short clips, played once, mirrored variants skipped (symmetric sways): 2 jobs, one per worker
    run(["--robot", "wildrobot", "--input", str(motions), "--output", str(out), "--loop-seconds", "0",
         "--time-warps", "1.0", "--no-mirror", "--workers", "2", "--executor", executor,
         "--no-plots", "--no-progress"])  # fmt: skip
    printed = capsys.readouterr().out
    with np.load(out) as data:
        return {k: data[k] for k in data.files}, printed


@pytest.fixture(scope="module")
def motions(tmp_path_factory):
    robot = load_robot("wildrobot")
    folder = tmp_path_factory.mktemp("motions")
    write_gmr_pickle(standing_sway(robot, duration=1.5), folder / "sway_a.pkl")
    write_gmr_pickle(standing_sway(robot, duration=1.2, squat=0.06), folder / "sway_b.pkl")
    return folder


@pytest.mark.skipif(not HAS_RAY, reason="ray is not installed (optional extra: pip install -e '.[ray]')")
def test_ray_executor_equals_process_pool_and_resumes(tmp_path, motions, capsys):
    pool, _ = _mine(tmp_path, motions, "pool", "process", capsys)
    ray, printed = _mine(tmp_path, motions, "ray", "ray", capsys)
    assert "jobs: 2 (0 from cache" in printed
    assert pool.keys() == ray.keys() and pool["features"].shape[0] > 0
    for key in pool:
        np.testing.assert_array_equal(ray[key], pool[key], err_msg=key)
    # a rerun takes both jobs from the cache the Ray run wrote (and starts no Ray at all)
    again, printed = _mine(tmp_path, motions, "ray", "ray", capsys)
    assert "jobs: 2 (2 from cache" in printed
    np.testing.assert_array_equal(again["features"], pool["features"])


def test_ray_executor_without_ray_is_one_line(tmp_path, motions, monkeypatch, capsys):
    from wildrobot_amp_ext.mine import main

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError, as when the extra is not installed
    out = tmp_path / "tier0.npz"
    with pytest.raises(SystemExit) as exit_info:
        main(["--robot", "wildrobot", "--input", str(motions), "--output", str(out), "--executor", "ray"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "pip install -e '.[ray]'" in err, err
    assert not out.exists()
    with pytest.raises(SystemExit):
        main(["--robot", "wildrobot", "--input", str(motions), "--output", str(out), "--ray-address", "auto"])
    assert "--executor ray" in capsys.readouterr().err


@pytest.mark.skipif(not HAS_RAY, reason="ray is not installed (optional extra: pip install -e '.[ray]')")
def test_unreachable_ray_address_is_one_line(tmp_path, motions, capsys):
    from wildrobot_amp_ext.mine import main

    out = tmp_path / "tier0.npz"
    with pytest.raises(SystemExit) as exit_info:
        main(["--robot", "wildrobot", "--input", str(motions), "--output", str(out), "--executor", "ray",
              "--ray-address", "127.0.0.1:9", "--no-cache", "--no-plots", "--no-progress"])  # fmt: skip
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "cannot reach Ray" in err, err
