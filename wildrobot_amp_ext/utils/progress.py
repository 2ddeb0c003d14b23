"""Progress bars with rate and ETA (tqdm), quiet when stderr is not a terminal unless forced."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

from tqdm.auto import tqdm


def progress[T](
    iterable: Iterable[T] | None = None, *, desc: str = "", total: int | None = None, unit: str = "it", **kw: Any
):
    disable = kw.pop("disable", None)
    if disable is None:
        disable = os.environ.get("WILDROBOT_NO_PROGRESS") == "1"
    return tqdm(iterable, desc=desc, total=total, unit=unit, dynamic_ncols=True, file=sys.stderr, disable=disable, **kw)
