"""Package faces that load a module on first use of one of its names (PEP 562), so that importing one light
module of a package (``features.spec``, ``miner.config``) does not import its heavy siblings (torch, MuJoCo):
that is what keeps ``wildrobot-convert/-verify/-mine --help`` well under a second."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(package: str, exports: Mapping[str, tuple[str, ...]]) -> tuple[Callable, Callable]:
    """``(__getattr__, __dir__)`` for ``package``'s ``__init__``: ``exports`` maps each submodule to the names it
    hands on; a name is imported from its submodule when first asked for, then kept in the package."""
    home = {name: module for module, names in exports.items() for name in names}
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name: str):
        if name not in home:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{home[name]}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(home))

    return __getattr__, __dir__
