"""Output paths checked before any work: not a folder, parent creatable and writable, never one of the inputs,
never two outputs on one file; names read from files kept inside the folder they belong to.

API::

    check_outputs({"--output": path, "--export-pkl": other}, inputs=[...])     # one-line InputError or None
    check_output_dir("--out", folder, inputs=[...])
    check_link_loop(path, flag)                   # a path that loops through symbolic links
    safe_component(file, field, name) -> str       # a file/folder name from a file: no separators, no '..'
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from wildrobot_amp_ext.errors import InputError

_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")


def link_loop(path: str | Path) -> bool:
    """The path (or a folder on it) is a symbolic link that leads back to itself: opening it fails with ELOOP, and
    pathlib's resolve() raises RuntimeError rather than an OSError."""
    try:
        os.stat(path)
    except OSError as err:
        return err.errno == errno.ELOOP
    return False


def check_link_loop(path: str | Path, flag: str | None = None) -> None:
    if link_loop(path):
        raise InputError(path, flag, "loops through symbolic links", "point it at the file or folder itself")


def _existing_ancestor(path: Path) -> Path:
    for parent in (path, *path.parents):
        if parent.exists() or parent.is_symlink():
            return parent
    return Path("/")


def _check_parent(flag: str, path: Path) -> None:
    ancestor = _existing_ancestor(path.parent)
    if not ancestor.is_dir():
        raise InputError(path, flag, f"'{ancestor}' is a file, so nothing can be written under it", "pick another path")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(path, flag, f"folder '{ancestor}' is not writable", "pick a folder you can write to")


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def _inputs_under(inputs: Iterable[str | Path]) -> list[Path]:
    return [Path(p) for p in inputs]


def check_outputs(outputs: Mapping[str, str | Path | None], inputs: Iterable[str | Path] = ()) -> None:
    """Refuse, before any work, output files that cannot be written or that would overwrite an input."""
    ins = _inputs_under(inputs)
    for src in ins:
        check_link_loop(src)
    seen: dict[Path, str] = {}
    for flag, raw in outputs.items():
        if raw is None:
            continue
        path = Path(raw)
        if str(raw).strip() == "" or path.name in ("", ".", ".."):
            raise InputError(None, flag, f"'{raw}' is not a file name", "name an output file")
        check_link_loop(path, flag)
        if path.is_dir():
            raise InputError(path, flag, "is a folder", "name a file inside it")
        if path.exists() and not path.is_file():  # a FIFO, a socket or a device (/dev/null) would be replaced
            raise InputError(
                path, flag, "exists and is not a regular file (a device, FIFO or socket)", "name a regular file"
            )
        if path.exists() and not os.access(path, os.W_OK):
            raise InputError(path, flag, "exists and is read-only", "pick another name or make it writable")
        _check_parent(flag, path)
        for src in ins:
            if _same_file(path, src):
                raise InputError(
                    path, flag, "is also an input: writing it would overwrite your file", "write elsewhere"
                )
            if (
                src.is_dir()
                and path.resolve().is_relative_to(src.resolve())
                and path.suffix.lower() in (".pkl", ".pickle", ".npz")
            ):
                raise InputError(
                    path,
                    flag,
                    f"is inside the input folder '{src}', so the next run would read it as a motion",
                    "write the output outside the input folder",
                )
        key = path.resolve()
        if key in seen:
            raise InputError(path, flag, f"is the same file as {seen[key]}", "give each output its own name")
        seen[key] = flag


def check_output_dir(flag: str, folder: str | Path, inputs: Iterable[str | Path] = ()) -> None:
    folder = Path(folder)
    for src in _inputs_under(inputs):
        check_link_loop(src)
    check_link_loop(folder, flag)
    if folder.exists() and not folder.is_dir():
        raise InputError(folder, flag, "is a file, not a folder", "name a folder (it is created if missing)")
    if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(folder, flag, "folder is not writable", "pick a folder you can write to")
    _check_parent(flag, folder / "x")
    for src in _inputs_under(inputs):
        if src.is_file() and _same_file(folder, src):
            raise InputError(folder, flag, "is also an input", "write elsewhere")


def safe_component(file: str | Path | None, field: str, name: object) -> str:
    """A single safe path component (letters, digits, ``._+-``; no separators, no leading dot, no ``..``)."""
    if not isinstance(name, str) or not _SAFE.match(name) or ".." in name:
        raise InputError(
            file,
            field,
            f"{name!r} is not a safe name (it becomes a file or folder name)",
            "use letters, digits, '_', '-', '.' only (no '/', no '..', no leading dot)",
        )
    return name
