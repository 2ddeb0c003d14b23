"""Kit-less launch of this package's Isaac Lab tasks (Isaac Lab 3.0, Newton / MuJoCo-Warp, CPU by default).

Isaac Lab 3.0 has no ``AppLauncher`` step in kit-less mode: a script resolves the task's env config, then creates
the env inside ``with isaaclab.app.launch_simulation(env_cfg, args):``. For Newton physics that context starts no
runtime (it validates the config and picks the backend), so an env built inside it keeps working after it exits.

API (``task`` is a gymnasium id registered by :mod:`wildrobot_amp_ext.tasks`, e.g. ``"WildRobot-AMP-Flat-v0"``)::

    from wildrobot_amp_ext.isaaclab.launch import launch_env, make_env, load_env_cfg, load_agent_cfg

    with launch_env("WildRobot-AMP-Flat-v0", num_envs=4) as env:      # closes the env (and any runtime) on exit
        obs, extras = env.reset()

    env = make_env("WildRobot-AMP-Flat-v0", num_envs=16, device="cpu",
                   overrides=["env.episode_length_s=5.0", "env.amp.dataset=ref.npz"])
    ...
    env.close()

    cfg = load_env_cfg(task, num_envs=..., device=..., overrides=[...])   # the resolved config only
    agent = load_agent_cfg(task, overrides=["agent.agent.learning_rate=1e-4"])  # typed AmpAgentCfg
    env = create_env(cfg, task=task)                                      # an env from a config you edited

``overrides`` use Isaac Lab's Hydra syntax (``env.<path>=<value>``, ``agent.<path>=<value>``, ``presets=...``).
One env per process at a time (Isaac Lab's SimulationContext is a singleton): close one before making the next.
``make_env`` refuses configs that need Isaac Sim / Kit (PhysX, RTX cameras): use :func:`launch_env` for those,
which keeps the runtime alive for the lifetime of the env.

Visualizers (``--visualizer``, Isaac Lab 3.0's flag and names): :func:`add_visualizer_args` adds the flags of
:class:`VisualizerArgs` to a script's parser (through the one command-line layer, ``utils.cli``);
:func:`apply_visualizer` puts Isaac Lab's own config for it (``NewtonGLVisualizerCfg``, ``KitVisualizerCfg``,
``ViserVisualizerCfg``, ``RerunVisualizerCfg``) into ``env_cfg.sim.visualizer_cfgs`` and the launcher arguments,
after checking that what it needs is installed (``kit`` is the Isaac Sim GUI).

Warp's kernel cache defaults to ``~/.cache/wildrobot_amp_ext/warp`` (``WARP_CACHE_PATH``, set here when the user
has not): a kept cache cuts env creation from about a minute to seconds on CPU.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from wildrobot_amp_ext.agents.config import AmpAgentCfg, renamed_key_hint
from wildrobot_amp_ext.constants import PHYSICS_DT
from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.isaaclab.asset import cache_root
from wildrobot_amp_ext.isaaclab.physics_select import apply_physics_backend
from wildrobot_amp_ext.utils.cli import add_config, opt
from wildrobot_amp_ext.utils.keys import check_override_keys
from wildrobot_amp_ext.utils.typed_cfg import apply_overrides

#: the physics defaults measured to run on CPU (see shared notes: nconmax=10 overflowed for the G1)
DEFAULT_DEVICE = "cpu"
AMP_AGENT_ENTRY_POINT = "skrl_amp_cfg_entry_point"


def configure_warp_cache(path: str | Path | None = None) -> Path:
    """Point warp's kernel cache at ``path`` (default: ``$WARP_CACHE_PATH`` or ``<cache_root>/warp``)."""
    if path is None:
        path = os.environ.get("WARP_CACHE_PATH") or cache_root() / "warp"
    path = Path(path).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    os.environ["WARP_CACHE_PATH"] = str(path)
    import warp

    # before warp.init() the env variable suffices; afterwards the kernel cache must be re-pointed explicitly
    warp.config.kernel_cache_dir = str(path)
    if getattr(warp._src.context, "runtime", None) is not None:
        warp._src.build.init_kernel_cache(str(path))
    return path


# set at import so any later `import warp` + init picks it up, whoever triggers it
if "WARP_CACHE_PATH" not in os.environ:
    os.environ["WARP_CACHE_PATH"] = str(cache_root() / "warp")


def default_sim_cfg(
    device: str = DEFAULT_DEVICE,
    dt: float = PHYSICS_DT,
    njmax: int = 300,
    nconmax: int = 40,
    num_substeps: int = 2,
    use_cuda_graph: bool = True,
):
    """Newton / MuJoCo-Warp simulation config. CUDA graphs on by default (Newton's own default): the task configs
    are built at import, before the device is known, and Isaac Lab captures a graph only on a CUDA device (CPU
    physics runs eagerly whatever the flag says); :func:`load_env_cfg` writes False for a CPU device."""
    from isaaclab.sim import SimulationCfg
    from isaaclab_newton.physics import MJWarpSolverCfg, NewtonCfg

    return SimulationCfg(
        device=device,
        dt=dt,
        physics=NewtonCfg(
            solver_cfg=MJWarpSolverCfg(njmax=njmax, nconmax=nconmax),
            num_substeps=num_substeps,
            use_cuda_graph=use_cuda_graph,
        ),
    )


def _register_tasks() -> None:
    # here, not at the top: the task configs import this module (a circle) and load Isaac Lab (keeps --help fast)
    import wildrobot_amp_ext.tasks  # noqa: F401  (gym.register side effects)


def is_isaaclab_cfg(cfg: Any) -> bool:
    """Isaac Lab env configs have ``sim`` and ``scene``; a plain dataclass task config (the toy) has neither and is
    resolved by this package's typed reader instead of Isaac Lab's Hydra layer."""
    return hasattr(cfg, "sim") and hasattr(cfg, "scene")


def load_env_cfg(
    task: str,
    num_envs: int | None = None,
    device: str | None = None,
    overrides: Sequence[str] | None = None,
):
    """Resolve a registered task's env config, with Hydra-style ``overrides`` applied (never read from sys.argv).
    A misspelled ``env.*`` key fails naming the closest valid key."""
    _register_tasks()
    from isaaclab_tasks.utils.parse_cfg import load_cfg_from_registry, parse_env_cfg

    if isinstance(overrides, str):
        raise TypeError(f"overrides must be a list of 'key=value' strings, got the string {overrides!r}")
    overrides = [str(t) for t in overrides or ()]
    cfg = load_cfg_from_registry(task, "env_cfg_entry_point")
    if not is_isaaclab_cfg(cfg):
        rest = apply_overrides(cfg, overrides, "env.")
        if rest:
            raise InputError(None, rest[0], f"{task} takes env.<field>=<value> overrides only", None)
        cfg.num_envs = num_envs or cfg.num_envs
        cfg.device = device or cfg.device
        return cfg
    schemas = cfg.key_schemas() if hasattr(cfg, "key_schemas") else None
    check_override_keys(cfg, overrides, "env.", schemas)  # Isaac Lab's Hydra layer accepts a misspelled key
    cfg = parse_env_cfg(task, device=device, num_envs=num_envs, overrides=overrides)
    _align_physics_device(cfg, cfg.sim.device)

    apply_physics_backend(cfg)  # env.physics_backend / --physics: after the overrides, before the env exists
    return cfg


def load_agent_cfg(task: str, overrides: Sequence[str] = (), entry_point: str = AMP_AGENT_ENTRY_POINT):
    """The task's agent config (:class:`~wildrobot_amp_ext.agents.config.AmpAgentCfg`, or a YAML entry point read
    into one) with ``agent.*`` overrides applied; a misspelled key fails naming the closest valid key."""
    _register_tasks()
    from isaaclab_tasks.utils.parse_cfg import load_cfg_from_registry

    source = f"{task}:{entry_point}"
    cfg = load_cfg_from_registry(task, entry_point)
    if isinstance(cfg, dict):  # a user task registering skrl-style YAML
        cfg = AmpAgentCfg.from_dict(cfg, source)
    rest = apply_overrides(cfg, list(overrides), "agent.", hint=renamed_key_hint)
    if rest:
        raise InputError(None, rest[0], "not an agent.* override", "write agent.<path>=<value>")
    return cfg.validate(source)


def _align_physics_device(cfg: Any, device: str) -> None:
    """CUDA graphs cannot be captured on CPU: switch them off when the device is not CUDA (the saved env.yaml then
    says what ran). On CUDA they stay as the config has them: on by default, off only where the user said so
    (``env.sim.physics.use_cuda_graph=false``); without them every MuJoCo-Warp kernel launches from Python."""
    physics = getattr(getattr(cfg, "sim", None), "physics", None)
    if physics is not None and hasattr(physics, "use_cuda_graph") and not str(device).startswith("cuda"):
        physics.use_cuda_graph = False


# ----------------------------------------------------------------------------------------------------------------
# visualizers
# ----------------------------------------------------------------------------------------------------------------
#: ``--visualizer`` values: Isaac Lab 3.0's visualizer types (``newton`` is its alias of ``newton_gl``) and ``none``
VISUALIZERS = ("newton", "newton_gl", "kit", "viser", "rerun", "none")
#: per visualizer: (module it needs, install command). Isaac Lab ships the configs; these are the runtimes behind them
VISUALIZER_REQUIREMENTS = {
    "kit": (
        "isaacsim",
        "pip install 'isaaclab[isaacsim]==3.0.0' (Isaac Sim 6.2, from NVIDIA's package index)",
    ),
    "viser": ("viser", "pip install -e '.[viser]'"),
    "rerun": ("rerun", "pip install -e '.[rerun]'"),
}
DEFAULT_VISUALIZER_PORT = {"viser": 8080, "rerun": 9090}
#: visualizers that open no window of their own (none, or a page served to a browser): the launcher runs headless
HEADLESS_VISUALIZERS = (None, "none", "viser", "rerun")


def launcher_args_for(visualizer: str | None) -> dict[str, Any]:
    """The launcher arguments of a run with ``--visualizer visualizer`` (before :func:`apply_visualizer` adds it)."""
    return {"headless": visualizer in HEADLESS_VISUALIZERS}


@dataclasses.dataclass
class VisualizerArgs:
    """The visualizer flags of every command that shows an env (flags through :mod:`wildrobot_amp_ext.utils.cli`)."""

    visualizer: str | None = opt(
        None,
        aliases=("--viz",),
        choices=VISUALIZERS,
        help="Isaac Lab visualizer: newton (GL window), kit (Isaac Sim GUI), viser / rerun (browser, local port)",
    )
    viz_port: int | None = opt(None, help="port of the viser / rerun web viewer (default 8080 / 9090)")


def add_visualizer_args(parser: Any, default: str | None = None) -> None:
    """``--visualizer`` / ``--viz`` (Isaac Lab 3.0's flag) and ``--viz_port`` for the browser visualizers
    (:class:`VisualizerArgs`; ``default``: the visualizer when the flag is not given)."""
    add_config(parser, VisualizerArgs, defaults=VisualizerArgs(visualizer=default))


def canonical_visualizer(name: str) -> str:
    from isaaclab.visualizers.visualizer_cfg import _VISUALIZER_ALIASES

    return _VISUALIZER_ALIASES.get(name, name)


def check_visualizer_installed(name: str) -> None:
    """Refuse, in one line naming the install command, a visualizer whose runtime is missing."""
    import importlib.util

    module, install = VISUALIZER_REQUIREMENTS.get(canonical_visualizer(name), (None, None))
    if module is not None and importlib.util.find_spec(module) is None:
        what = "the Isaac Sim GUI" if name == "kit" else f"Isaac Lab's {name} visualizer"
        raise InputError(
            None, "--visualizer", f"'{name}' is {what} and needs the '{module}' package, not installed", install
        )


def visualizer_cfg(name: str, port: int | None = None, eye=None, lookat=None, headless: bool = False) -> Any:
    """Isaac Lab's own config for visualizer ``name`` (None for ``none``)."""
    name = canonical_visualizer(name)
    view = {k: tuple(v) for k, v in (("eye", eye), ("lookat", lookat)) if v is not None}
    if name == "none":
        return None
    if name == "newton_gl":
        from isaaclab_visualizers.newton.newton_visualizer_cfg import NewtonGLVisualizerCfg

        return NewtonGLVisualizerCfg(window_width=960, window_height=540, headless=headless, **view)
    if name == "kit":
        from isaaclab_visualizers.kit.kit_visualizer_cfg import KitVisualizerCfg

        return KitVisualizerCfg(headless=headless, **view)
    if name == "viser":
        from isaaclab_visualizers.viser.viser_visualizer_cfg import ViserVisualizerCfg

        # bound to localhost: a playback server is not published on every interface unless the user asks
        return ViserVisualizerCfg(port=port or DEFAULT_VISUALIZER_PORT["viser"], bind_address="127.0.0.1", **view)
    if name == "rerun":
        from isaaclab_visualizers.rerun.rerun_visualizer_cfg import RerunVisualizerCfg

        return RerunVisualizerCfg(web_port=port or DEFAULT_VISUALIZER_PORT["rerun"], bind_address="127.0.0.1", **view)
    raise ValueError(f"unknown visualizer '{name}' (one of {VISUALIZERS})")


def _patch_newton_viser() -> None:
    """isaaclab_visualizers 3.0.0's viser visualizer calls ``ViewerViser._to_numpy`` (to cache the ground grid),
    which newton 1.6.1's viewer does not have: the first frame fails and the visualizer is dropped, leaving an empty
    page. Supply the conversion it expects (warp / torch / numpy array -> numpy) when it is missing."""
    import numpy as np
    from newton.viewer import ViewerViser

    if hasattr(ViewerViser, "_to_numpy"):
        return

    def _to_numpy(self, array):
        if array is None:
            return None
        if hasattr(array, "numpy"):
            return np.asarray(array.numpy())
        return np.asarray(array)

    ViewerViser._to_numpy = _to_numpy


def apply_visualizer(env_cfg: Any, launcher_args: dict, name: str | None, **cfg_kwargs: Any) -> Any:
    """Select visualizer ``name`` for ``env_cfg`` (Isaac Lab's config in ``sim.visualizer_cfgs`` plus the launcher's
    ``visualizer`` list, as ``--visualizer`` does in Isaac Lab's scripts); returns the config (None: no visualizer)."""
    if name is None:
        return None
    check_visualizer_installed(name)
    if canonical_visualizer(name) == "viser":
        _patch_newton_viser()
    cfg = visualizer_cfg(name, **cfg_kwargs)
    env_cfg.sim.visualizer_cfgs = [cfg] if cfg is not None else []
    launcher_args["visualizer"] = [canonical_visualizer(name)] if cfg is not None else []
    return cfg


def visualizer_url(cfg: Any, env: Any = None) -> str | None:
    """The browser address of a viser / rerun visualizer config. With the running ``env``, a viser address carries
    the port the server really bound (viser moves to the next free port when the configured one is taken)."""
    kind = getattr(cfg, "visualizer_type", None)
    if kind == "viser":
        return f"http://{cfg.display_address}:{_live_viser_port(env) or cfg.port}"
    if kind == "rerun":
        from urllib.parse import quote

        # rerun's web page must be told where its data server is, else it opens empty
        data = f"rerun+http://127.0.0.1:{cfg.grpc_port}/proxy"
        return f"http://127.0.0.1:{cfg.web_port}/?url={quote(data, safe='')}"
    return None


def _live_viser_port(env: Any) -> int | None:
    visualizers = getattr(getattr(getattr(env, "unwrapped", None), "sim", None), "visualizers", None) or []
    for visualizer in visualizers:
        server = getattr(getattr(visualizer, "_viewer", None), "_server", None)
        if server is not None and hasattr(server, "get_port"):
            return int(server.get_port())
    return None


def _launcher_args(launcher_args: dict | None) -> dict:
    return dict(launcher_args or {})


def _instantiate(cfg: Any, task: str | None, render_mode: str | None):
    import gymnasium as gym

    from isaaclab.sim import SimulationContext

    if SimulationContext.instance() is not None:
        # Isaac Lab keeps one simulation per process; a second env would fail deep inside ManagerBasedEnv
        raise RuntimeError("an Isaac Lab env is already open in this process: close it (env.close()) first")

    if task is not None:
        return gym.make(task, cfg=cfg, render_mode=render_mode)
    from isaaclab.utils.string import string_to_callable

    env_class = getattr(cfg, "class_type", None)
    if isinstance(env_class, str):
        env_class = string_to_callable(env_class.replace("{DIR}", "isaaclab.envs"))
    if env_class is None:
        from isaaclab.envs import ManagerBasedRLEnv as env_class
    return env_class(cfg, render_mode=render_mode)


def resolve_env_inputs(cfg: Any) -> Any:
    """Settle what the env reads before it exists (the config's ``resolve_inputs``: reference dataset, FeatureSpec,
    settings overridden after the config was built), outside the simulation: a refused input costs nothing and
    prints one line. Every env this module creates goes through here; configs without the method pass unchanged."""
    resolve = getattr(cfg, "resolve_inputs", None)
    if callable(resolve):
        resolve()
    return cfg


def create_env(cfg: Any, task: str | None = None, render_mode: str | None = None, launcher_args: dict | None = None):
    """Create an env from a resolved config (kit-less only). ``task`` picks the registered env class; without it
    the config's ``class_type`` (Isaac Lab's env-class field) is instantiated."""
    from isaaclab.app import launch_simulation, validate_launch

    resolve_env_inputs(cfg)
    configure_warp_cache()
    args = _launcher_args(launcher_args)
    _, kit_sources = validate_launch(cfg, dict(args))
    if kit_sources:
        raise RuntimeError(
            f"this config needs Isaac Sim / Kit ({', '.join(kit_sources)}); use launch_env(...) which keeps the "
            "runtime alive while the env exists"
        )
    refused = None
    with launch_simulation(cfg, args):
        try:
            return _instantiate(cfg, task, render_mode)
        except InputError as err:  # Isaac Lab prints a traceback for any exception leaving its block: one line
            refused = err
    raise refused


def make_env(
    task: str,
    num_envs: int | None = None,
    device: str = DEFAULT_DEVICE,
    overrides: Sequence[str] | None = None,
    render_mode: str | None = None,
    launcher_args: dict | None = None,
):
    """Resolve ``task``'s config and create its env (kit-less). The caller closes it with ``env.close()``."""
    cfg = load_env_cfg(task, num_envs=num_envs, device=device, overrides=overrides)
    if not is_isaaclab_cfg(cfg):  # no simulation to launch
        import gymnasium as gym

        return gym.make(task, cfg=cfg, render_mode=render_mode)
    return create_env(cfg, task=task, render_mode=render_mode, launcher_args=launcher_args)


@contextlib.contextmanager
def env_session(cfg: Any, task: str | None = None, render_mode: str | None = None, launcher_args: dict | None = None):
    """Context manager: an env from a resolved config, inside whatever runtime it needs (Isaac Sim for ``kit``,
    nothing for kit-less Newton); closes both on exit."""
    if not is_isaaclab_cfg(cfg):  # a task without simulation (the toy): nothing to launch
        import gymnasium as gym

        env = gym.make(task, cfg=cfg, render_mode=render_mode)
        try:
            yield env
        finally:
            env.close()
        return
    from isaaclab.app import launch_simulation

    resolve_env_inputs(cfg)
    configure_warp_cache()
    refused = None
    with launch_simulation(cfg, _launcher_args(launcher_args)):
        try:
            env = _instantiate(cfg, task, render_mode)
        except InputError as err:  # as in create_env: leave the block first, so no traceback is printed
            refused = err
        else:
            try:
                yield env
            finally:
                env.close()
    if refused is not None:
        raise refused


@contextlib.contextmanager
def launch_env(
    task: str,
    num_envs: int | None = None,
    device: str = DEFAULT_DEVICE,
    overrides: Sequence[str] | None = None,
    render_mode: str | None = None,
    launcher_args: dict | None = None,
) -> Iterator[Any]:
    """Context manager: launch whatever runtime the config needs, yield the env, close both on exit."""
    cfg = load_env_cfg(task, num_envs=num_envs, device=device, overrides=overrides)
    with env_session(cfg, task, render_mode, launcher_args) as env:
        yield env
