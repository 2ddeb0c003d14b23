"""The miner's per-clip jobs on a Ray cluster (``--executor ray``): the unit of work is the process pool's
(:func:`miner.pipeline.mine_variant` on one clip x variant), so the results, and the dataset, are the same.

``ray.init()`` without an address starts a local cluster with ``--workers`` CPUs and stops it at the end; with
``--ray-address`` the run joins an existing cluster, whose CPUs decide the parallelism. A task returns its result to
the driver, which writes the result cache: workers on other machines cannot see the driver's cache folder, and the
cache and resume work as with the process pool. Ray is optional (``pip install -e '.[ray]'``).
"""

from __future__ import annotations

import importlib
import logging
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.miner.pipeline import mine_variant

INSTALL_HINT = "pip install -e '.[ray]'"
START_HINT = "start it with `ray start --head` or omit --ray-address for a local cluster"


def require_ray() -> ModuleType:
    """The ``ray`` module, or the one-line input error naming the extra that installs it."""
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise InputError(None, "--executor", "ray is not installed", INSTALL_HINT) from None


def _mine(job, robot_ref: str, cfg):
    return mine_variant(job.clip, robot_ref, job.variant, cfg)


@contextmanager
def ray_session(workers: int, address: str | None = None) -> Iterator[ModuleType]:
    """Ray, initialised for this run: a local cluster of ``workers`` CPUs, or the cluster at ``address``. A Ray
    the caller already initialised is used as it is and left running."""
    ray = require_ray()
    started = not ray.is_initialized()
    if started and address:
        _check_reachable(address)
    if started:
        kwargs: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
        if address is None:
            kwargs["num_cpus"] = workers
        try:
            ray.init(address=address, **kwargs)
        except (ConnectionError, ValueError, RuntimeError) as err:
            problem = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise InputError(
                None, "--ray-address", f"cannot start or reach Ray at {address!r}: {problem}", START_HINT
            ) from None
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Ray retries an unreachable GCS for minutes, printing warnings: a head that refuses a TCP connection is
    one line now. ("auto" and addresses without a port are left to Ray.)"""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as err:
        problem = f"cannot reach Ray at {address!r}: {err.strerror or err}"
        raise InputError(None, "--ray-address", problem, START_HINT) from None


def cluster_cpus(ray: ModuleType) -> int:
    return int(ray.cluster_resources().get("CPU", 1))


def run_on_ray(
    ray: ModuleType,
    order: list[int],
    jobs: list,
    robot_ref: str,
    cfg,
    done: Callable[[int, Any], None],
) -> None:
    """Submit jobs ``order`` (one CPU each) and call ``done(index, VariantResult)`` as each one finishes."""
    task = ray.remote(num_cpus=1, max_retries=1)(_mine)
    cfg_ref = ray.put(cfg)
    pending = {task.remote(jobs[i], robot_ref, cfg_ref): i for i in order}
    try:
        while pending:
            finished, _ = ray.wait(list(pending), num_returns=1)
            for ref in finished:
                done(pending.pop(ref), ray.get(ref))
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
