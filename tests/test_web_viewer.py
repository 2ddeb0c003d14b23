"""Browser viewers as a user sees them: headless Chromium opens the served page, the screenshot shows the robot,
and the server stops cleanly on Ctrl-C (SIGINT)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import chromium_page
import numpy as np
import pytest
from PIL import Image

from wildrobot_amp_ext.motion.synthetic import synthetic_walk, write_gmr_pickle
from wildrobot_amp_ext.robots import load_robot

ROOT = Path(__file__).resolve().parents[1]
#: viser's GUI panel (top right), its "software WebGL" notice (top left) and axes gizmo (bottom left) hold dark
#: pixels that are not robot
PANELS = [(0.6, 0.0, 1.0, 0.55), (0.0, 0.0, 0.36, 0.3), (0.0, 0.85, 0.1, 1.0)]
#: dark grey pixels that mean "robot": two G1 copies at the viewer's tracking distance cover ~2-4k pixels of a
#: 960x600 page once the scene has faded in; the empty page (grid and lane discs only) has none
MIN_ROBOT_PIXELS = 800
URL = re.compile(r"(http://\S+:\d+)")

pytestmark = pytest.mark.skipif(
    not chromium_page.available(), reason="needs Debian's chromium (scripts/test.sh installs it)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(cmd: list[str], timeout: float) -> tuple[subprocess.Popen, str, list[str]]:
    """Start a serving command, return it with the URL it printed (and its output so far)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # Ctrl-C's default action in the child even when this run was started in the background (a shell's `cmd &`
    # starts it with SIGINT ignored, and Python then installs no KeyboardInterrupt handler)
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "serving" in line and URL.search(line):
            return proc, URL.search(line).group(1).replace("localhost", "127.0.0.1"), lines
    proc.kill()
    raise AssertionError("the server printed no URL:\n" + "".join(lines[-20:]))


def stop(proc: subprocess.Popen, lines: list[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    return proc.returncode, "".join(lines) + out


def robot_in_view(image: np.ndarray) -> bool:
    robot = chromium_page.robot_pixels(image, PANELS)
    if len(robot) < MIN_ROBOT_PIXELS:
        return False
    centre = robot.mean(axis=0) / image.shape[:2]  # the camera follows the robots: they are near the middle
    return bool(0.2 < centre[0] < 0.8 and 0.15 < centre[1] < 0.85)


def browse(url: str, out: Path) -> np.ndarray:
    """Screenshots every second once the page has had 3 s to load (viser fades the scene in while its meshes
    arrive) until the robots are in view or 40 s have passed; the one with the most robot pixels."""
    shots = chromium_page.screenshot(url, out, wait_s=3.0, every_s=1.0, timeout_s=40.0, until=robot_in_view)
    counts = [len(chromium_page.robot_pixels(s, PANELS)) for s in shots]
    print(f"[browser] robot pixels per screenshot: {counts}")
    best = shots[int(np.argmax(counts))]
    Image.fromarray(best).save(out)
    return best


def assert_robot_shown(image: np.ndarray) -> np.ndarray:
    assert image.std() > 10, "blank page"
    robot = chromium_page.robot_pixels(image, PANELS)
    assert robot_in_view(image), f"{len(robot)} robot pixels (need {MIN_ROBOT_PIXELS}), centred at {robot.mean(axis=0)}"
    return robot


def test_motion_viewer_serves_side_by_side_lanes_in_a_browser(tmp_path):
    g1 = load_robot("unitree_g1_29dof")
    walk = write_gmr_pickle(synthetic_walk(g1, duration=2.0, fps=30.0, name="walk"), tmp_path / "walk.pkl")
    turned = write_gmr_pickle(
        synthetic_walk(g1, duration=2.0, fps=30.0, heading=1.0, name="turned"), tmp_path / "turned.pkl"
    )
    cmd = [
        sys.executable,
        "utils/motion_viewer.py",
        str(walk),
        str(turned),
        "--robot",
        g1.name,
        "--serve",
        "--port",
        str(free_port()),
        "--fps",
        "10",  # fewer pose messages per second: a browser without a GPU keeps up
    ]
    t0 = time.monotonic()
    proc, url, lines = start_server(cmd, timeout=60)
    t1 = time.monotonic()
    try:
        image = browse(url, tmp_path / "viewer.png")
    finally:
        t2 = time.monotonic()
        rc, out = stop(proc, lines)
        print(f"[browser] start {t1 - t0:.1f} s, browse {t2 - t1:.1f} s, stop {time.monotonic() - t2:.1f} s")
    robot = assert_robot_shown(image)
    print(f"[browser] {len(robot)} robot pixels of {image.shape[0] * image.shape[1]}")
    assert rc == 0 and "server stopped" in out, out[-2000:]


def solid_shapes(image: np.ndarray) -> int:
    """Pixels of filled grey shapes (robots) on Isaac Lab's viser page: drawn pixels outside the panels that survive a
    5x5 erosion (the floor grid's 1-2 px lines do not), below the horizon, where the grid's lines merge into a band.
    Measured: 3.5k with two WildRobots in view, 0 for the same page before the robots arrive; 6.9k with one robot
    close to the camera (its body and shadow are wide rows below the band)."""
    from scipy import ndimage

    h, w = image.shape[:2]
    rgb = image.astype(np.int16)
    drawn = (rgb.max(axis=-1) < 245) & (rgb.max(axis=-1) - rgb.min(axis=-1) < 30)
    for x0, y0, x1, y1 in PANELS:
        drawn[int(y0 * h) : int(y1 * h), int(x0 * w) : int(x1 * w)] = False
    solid = ndimage.binary_erosion(drawn, np.ones((5, 5)))
    wide = np.flatnonzero(solid.sum(axis=1) > 0.1 * w)
    if len(wide):
        # the horizon band is the topmost run of wide rows; a near robot's body and shadow make wide rows lower down
        band_end = wide[np.flatnonzero(np.diff(wide) > 1)[0]] if np.any(np.diff(wide) > 1) else wide[-1]
        solid[: band_end + 15] = False
    return int(solid.sum())


@pytest.mark.slow
@pytest.mark.isaaclab
def test_play_serves_isaac_labs_viser_visualizer(tmp_path):
    """play.py --visualizer viser: Isaac Lab 3.0's own viser visualizer (kit-less, Newton) serves the playback; the
    page shows the scene and Ctrl-C ends the session cleanly (exit 0, the env closed)."""
    port = free_port()
    cmd = [sys.executable, "play.py", "--task", "WildRobot-AMP-Flat-Play-v0", "--zero_policy", "--num_envs", "2"]
    cmd += ["--visualizer", "viser", "--viz_port", str(port), "--out", str(tmp_path)]
    proc, url, lines = start_server(cmd, timeout=240)
    try:
        shots = chromium_page.screenshot(
            url, tmp_path / "play.png", wait_s=5.0, every_s=2.0, timeout_s=60.0, until=lambda s: solid_shapes(s) > 500
        )
    finally:
        rc, out = stop(proc, lines)
    counts = [solid_shapes(s) for s in shots]
    print(f"[browser] robot-shape pixels per screenshot: {counts}")
    if max(counts) <= 500:  # say what the page did show: blank, an error page, or a scene without robots
        for i, shot in enumerate(shots):
            Image.fromarray(shot).save(tmp_path / f"play_{i:02d}.png")
        looks = [
            f"std {s.std():.0f} drawn {int((s.max(axis=-1) < 245).sum())}" for s in shots[:: max(1, len(shots) // 4)]
        ]
        tail = out[-1500:]
        raise AssertionError(
            f"no robot on the page (robot-shape pixels {counts}; {looks}; shots in {tmp_path}):\n{tail}"
        )
    assert rc == 0 and "[play]" in out and "Traceback" not in out, out[-2000:]
