"""User-facing input errors: one line naming the file, the field and the fix, exit code 2."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

EXIT_BAD_INPUT = 2

F = TypeVar("F", bound=Callable[..., Any])


class InputError(Exception):
    """Bad user input. ``str(err)`` is a single line: ``<file>: <field>: <problem> (fix: <fix>)``."""

    def __init__(self, file: str | Path | None, field: str | None, problem: str, fix: str | None = None):
        self.file = str(file) if file is not None else None
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(self.one_line())

    def one_line(self) -> str:
        parts = [p for p in (self.file, f"field '{self.field}'" if self.field else None) if p]
        msg = ": ".join(parts + [self.problem])
        if self.fix:
            msg += f" (fix: {self.fix})"
        return " ".join(msg.split())


def cli_entry(fn: F) -> F:
    """Wrap a ``main()`` so an :class:`InputError` prints one line to stderr and exits with code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InputError as err:
            line = f"error: {err.one_line()}"  # a non-UTF-8 file name must not turn into a traceback here
            print(line.encode("utf-8", "backslashreplace").decode("utf-8", "replace"), file=sys.stderr)
            raise SystemExit(EXIT_BAD_INPUT) from None

    return wrapper  # type: ignore[return-value]
