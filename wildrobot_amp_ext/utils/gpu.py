"""Whether torch sees a CUDA device, and in one phrase why not (the default device of a run depends on it)."""

from __future__ import annotations

import os
from pathlib import Path

#: from this many envs a run on the CPU is never what a user meant by leaving ``--device`` out: refused, not
#: silently started (4096 G1 envs on the kit-less CPU path step at about 17 s per env step)
LARGE_RUN_ENVS = 1024

#: the oldest NVIDIA driver (Linux) that runs a torch build for each CUDA major version (minor-version compatibility)
MIN_DRIVER_FOR_CUDA = {"13": 580, "12": 525, "11": 450}

NVIDIA_DRIVER_VERSION_FILE = Path("/proc/driver/nvidia/version")


def cuda_unavailable_reason() -> str | None:
    """None when torch sees a CUDA device; else why not, in one phrase naming the torch build and the driver."""
    import warnings

    import torch

    with warnings.catch_warnings():  # torch warns (once, at length) about a missing or old driver: the reason says it
        warnings.simplefilter("ignore")
        if torch.cuda.is_available():
            return None
    build = torch.version.cuda
    if build is None:
        return f"this torch build ({torch.__version__}) has no CUDA support"
    needed = MIN_DRIVER_FOR_CUDA.get(build.split(".")[0])
    needs = f" (needs NVIDIA driver >= {needed})" if needed else ""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return f"CUDA_VISIBLE_DEVICES={visible!r} hides every GPU"
    driver = nvidia_driver_version()
    if driver is None:
        return f"no NVIDIA driver is loaded; torch {torch.__version__} is built for CUDA {build}{needs}"
    return f"torch {torch.__version__} (CUDA {build}{needs}) sees no GPU with NVIDIA driver {driver}"


def nvidia_driver_version(path: Path = NVIDIA_DRIVER_VERSION_FILE) -> str | None:
    """The loaded NVIDIA kernel module's version (``/proc/driver/nvidia/version``), or None when there is none."""
    try:
        text = path.read_text()
    except OSError:
        return None
    for word in text.split():
        head = word.split(".")[0]
        if head.isdigit() and word.count(".") >= 1 and int(head) >= 100:
            return word
    return "unknown version"
