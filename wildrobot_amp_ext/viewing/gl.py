"""Pick a working OpenGL backend for MuJoCo's offscreen renderer.

MuJoCo chooses its GL backend from ``MUJOCO_GL`` when ``mujoco`` is first imported (and PyOpenGL fixes its platform
on first import), so a backend cannot be tried in-process and then swapped. :func:`configure_gl` therefore probes
candidates (``egl`` then ``osmesa``) in short subprocesses, exports the first that renders, and re-points an
already imported ``mujoco`` at it. A user's own ``MUJOCO_GL`` is always respected.

``egl`` needs ``libEGL`` (Mesa's software rasteriser works without a GPU); ``osmesa`` needs ``libOSMesa``
(``apt-get install -y libosmesa6``; ``scripts/setup.sh`` tries it as an optional step).
"""

from __future__ import annotations

import os
import subprocess
import sys

#: headless backends, in the order they are tried
HEADLESS_BACKENDS: tuple[str, ...] = ("egl", "osmesa")
PROBE_TIMEOUT_S = 60.0

_PROBE = """
import mujoco
m = mujoco.MjModel.from_xml_string('<mujoco><worldbody><geom size="1"/></worldbody></mujoco>')
with mujoco.Renderer(m, 8, 8) as r:
    d = mujoco.MjData(m); mujoco.mj_forward(m, d); r.update_scene(d); r.render()
"""

_chosen: str | None = None


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def probe_backend(backend: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """True when a fresh interpreter with ``MUJOCO_GL=backend`` can create a context and render."""
    env = {**os.environ, "MUJOCO_GL": backend}
    env.pop("PYOPENGL_PLATFORM", None)
    if backend in ("egl", "osmesa"):
        env["PYOPENGL_PLATFORM"] = backend
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, timeout=timeout)
    except (subprocess.TimeoutExpired, OSError):
        return False
    return done.returncode == 0


def _repoint_mujoco(backend: str) -> None:
    """If ``mujoco`` is already imported, make its Renderer use ``backend``'s GLContext from now on."""
    if "mujoco" not in sys.modules:
        return
    from mujoco.rendering.classic import gl_context

    if backend == "egl":
        from mujoco.egl import GLContext
    elif backend == "osmesa":
        from mujoco.osmesa import GLContext
    else:
        from mujoco.glfw import GLContext
    gl_context.GLContext = GLContext


def configure_gl(candidates: tuple[str, ...] = HEADLESS_BACKENDS) -> str:
    """Make MuJoCo render offscreen; returns the backend name (``MUJOCO_GL`` as set by the user wins).

    Raises RuntimeError naming the fix when no candidate works."""
    global _chosen
    user = os.environ.get("MUJOCO_GL", "").strip().lower()
    if user:
        return user
    if _chosen is not None:
        return _chosen
    for backend in candidates:
        if probe_backend(backend):
            os.environ["MUJOCO_GL"] = backend
            if backend in ("egl", "osmesa"):
                os.environ.setdefault("PYOPENGL_PLATFORM", backend)
            _repoint_mujoco(backend)
            _chosen = backend
            return backend
    raise RuntimeError(
        f"no headless OpenGL backend works (tried {', '.join(candidates)}); install one: "
        "apt-get install -y libegl1 libosmesa6 (scripts/setup.sh tries this), or set MUJOCO_GL"
    )
