"""Headless Chromium (Debian's ``chromium``) as a user's browser: open a page, wait, take a screenshot.

Chromium's ``--screenshot`` waits for the page to go idle, which a page streaming a live 3D scene never does, so the
screenshot is taken through the DevTools protocol after a fixed wait instead.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import numpy as np

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: flags that run here: no sandbox (root in a container), software GL, no network beyond the page
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # containers often mount a 64 MB /dev/shm: Chromium's renderer then fails on large WebGL scenes
    "--disable-dev-shm-usage",
)  # fmt: skip


def available() -> bool:
    return Path(CHROMIUM).is_file()


def _devtools_port(user_dir: Path, timeout: float) -> int:
    marker = user_dir / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.is_file() and marker.read_text().strip():
            return int(marker.read_text().splitlines()[0])
        time.sleep(0.1)
    raise TimeoutError("chromium did not open its DevTools port")


def _call(ws, msg_id: int, method: str, params: dict | None = None) -> dict:
    ws.send(json.dumps({"id": msg_id, "method": method, "params": params or {}}))
    while True:
        reply = json.loads(ws.recv())
        if reply.get("id") == msg_id:
            if "error" in reply:
                raise RuntimeError(f"{method}: {reply['error']}")
            return reply.get("result", {})


def screenshot(
    url: str,
    out: Path,
    wait_s: float = 3.0,
    size: tuple[int, int] = (960, 600),
    every_s: float = 1.0,
    timeout_s: float = 40.0,
    until: Callable[[np.ndarray], bool] | None = None,
) -> list[np.ndarray]:
    """Open ``url`` in a fresh headless Chromium profile, wait ``wait_s``, then take a screenshot every ``every_s``
    until ``until(image)`` holds or ``timeout_s`` has passed (one screenshot without ``until``); the last is saved
    to ``out``. Returns them all (RGB arrays)."""
    from PIL import Image
    from websockets.sync.client import connect

    # the profile is removed only after every process of the browser has exited: Chromium's helpers (renderer, GPU,
    # crashpad) outlive the main process for a moment and keep writing into it
    with tempfile.TemporaryDirectory(prefix="chromium-", ignore_cleanup_errors=True) as tmp:
        user_dir = Path(tmp)
        args = [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={user_dir}",
            "--remote-debugging-port=0",
            f"--window-size={size[0]},{size[1]}",
            "about:blank",
        ]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            port = _devtools_port(user_dir, 30.0)
            targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=10).read())
            page = next(t for t in targets if t.get("type") == "page")
            with connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=10) as ws:
                _call(ws, 1, "Page.enable")
                # the page's viewport pinned (a headless window's size varies with the browser's chrome)
                metrics = {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": False}
                _call(ws, 1000, "Emulation.setDeviceMetricsOverride", metrics)
                _call(ws, 2, "Page.navigate", {"url": url})
                _call(ws, 3, "Page.bringToFront")
                deadline = time.monotonic() + wait_s + timeout_s
                time.sleep(wait_s)
                images: list[np.ndarray] = []
                while True:
                    data = _call(ws, 4 + len(images), "Page.captureScreenshot", {"format": "png"})["data"]
                    out.write_bytes(base64.b64decode(data))
                    images.append(np.asarray(Image.open(out).convert("RGB")))
                    if until is None or until(images[-1]) or time.monotonic() + every_s > deadline:
                        break
                    time.sleep(every_s)
        finally:
            _stop_group(proc)
    return images


def _stop_group(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM the browser's whole process group, SIGKILL what is left after ``timeout``, and wait until the group
    is gone (so nothing writes into the profile while it is removed)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            continue
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


def robot_pixels(image: np.ndarray, exclude: list[tuple[float, float, float, float]], level: int = 170) -> np.ndarray:
    """(K, 2) row/col of grey pixels darker than ``level``, outside the ``exclude`` boxes (fractions x0, y0, x1, y1 of
    the image: GUI panels). On the white page with a light grid and coloured lane discs, that is robot geometry."""
    h, w = image.shape[:2]
    rgb = image.astype(np.int16)
    grey = (rgb.max(axis=-1) - rgb.min(axis=-1)) < 30
    mask = grey & (rgb.max(axis=-1) < level)
    for x0, y0, x1, y1 in exclude:
        mask[int(y0 * h) : int(y1 * h), int(x0 * w) : int(x1 * w)] = False
    return np.argwhere(mask)
