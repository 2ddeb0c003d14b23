"""User-facing input errors: one line naming the file, the field and the fix, exit code 2."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

EXIT_BAD_INPUT = 2


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
        return "".join(ch if ch.isprintable() else _escape(ch) for ch in " ".join(msg.split()))


def _escape(ch: str) -> str:
    """A control or format character from a file name or a file (an ANSI escape, a right-to-left override, an
    undecodable byte) shown as its code, so the one line cannot rewrite the terminal or hide the name."""
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def cli_entry[F: Callable[..., Any]](fn: F) -> F:
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


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line (argparse prints the whole usage block, a dozen lines
    for the converter) and exit 2, like every other input error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        line = f"error: {self.prog}: {message} (fix: see {self.prog} --help)"
        print(InputError(None, None, line).one_line(), file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)
