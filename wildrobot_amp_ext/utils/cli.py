"""The one command-line layer of every entry point: flags generated from typed config dataclasses.

Every command (``train_amp.py``, ``play.py`` / ``wildrobot-evaluate`` and the ``wildrobot-*`` scripts) builds its
parser with :class:`CliParser` and declares its settings as a dataclass whose fields become flags
(:func:`add_config`; a field's :func:`opt` metadata gives its help, aliases, choices). The rules live here once:

* Spelling: snake_case, Isaac Lab's own (``--num_envs``, ``--max_iterations``, ``--target_fps``): the flag is the
  field's name. The Isaac Lab flags of the design card (:data:`ISAAC_LAB_FLAGS`) are spelt exactly as Isaac Lab's
  scripts spell them, which this rule keeps without an exception.
* Aliases: every multi-word flag also answers to its dash spelling (``--target-fps``), the spelling several commands
  used before, so no existing command line breaks; a renamed flag keeps its old name through ``opt(aliases=...)``.
  ``--help`` shows the snake spelling (and the renamed flags' old names).
* A flag that is not known is refused in one line naming the closest flag, exit 2 (like a misspelt ``env.*`` /
  ``agent.*`` override key, which :mod:`utils.typed_cfg` refuses naming the closest key).

This module imports only the standard library and the error types: ``--help`` stays as fast as the command's own
imports allow.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import difflib
import sys
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from wildrobot_amp_ext.errors import EXIT_BAD_INPUT, InputError, OneLineParser

#: Isaac Lab's flags of the design card, spelt as Isaac Lab's scripts spell them
ISAAC_LAB_FLAGS = ("--task", "--num_envs", "--headless", "--device", "--checkpoint", "--video")
#: the metadata key of a dataclass field that holds its command-line options (see :func:`opt`)
META = "cli"
SPELLING_NOTE = "Flags are spelt snake_case (--num_envs); each also accepts dashes (--num-envs)."


def canonical(option: str) -> str:
    """The snake_case spelling of a long option (``--target-fps`` -> ``--target_fps``); short options unchanged."""
    return "--" + option[2:].replace("-", "_") if option.startswith("--") else option


def dashed(option: str) -> str:
    """The dash spelling of a long option (``--target_fps`` -> ``--target-fps``)."""
    return "--" + option[2:].replace("_", "-") if option.startswith("--") else option


def opt(default: Any = dataclasses.MISSING, *, factory: Callable[[], Any] | None = None, **cli: Any) -> Any:
    """A config field with its command-line options: ``help``, ``aliases`` (old flag names), ``choices``,
    ``metavar``, ``nargs``, ``type`` (a parser for the text), ``required``, ``action``, ``const``, ``flag`` (a name
    other than the field's), ``group`` (a help section), ``exclusive`` (a name shared by mutually exclusive
    flags), ``negatable`` (``--x`` / ``--no_x``), ``positional``."""
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata={META: cli})
    return dataclasses.field(default=default, metadata={META: cli})


class NegatableAction(argparse.BooleanOptionalAction):
    """``--x`` / ``--no_x`` (also ``--no-x``): argparse's BooleanOptionalAction, reading either separator."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any):
        super().__init__(option_strings, dest, **kwargs)
        strings = [s for s in option_strings if not canonical(s).startswith("--no_")]
        self.option_strings = [x for s in strings for x in (s, canonical("--no_" + s[2:]) if s[:2] == "--" else s)]

    def format_usage(self) -> str:
        twins = getattr(self, "_cli_twins", ())
        return " | ".join(s for s in self.option_strings if s not in twins)

    def __call__(self, parser, namespace, values, option_string=None):  # noqa: ANN001
        if option_string in self.option_strings:
            setattr(namespace, self.dest, not canonical(option_string).startswith("--no_"))


class CliHelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows each flag's snake spelling and its renamed aliases, not the automatic dash twins, and its default
    where its help does not say it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.option_strings and "default" not in text and action.default not in (None, False, argparse.SUPPRESS):
            text += " (default: %(default)s)"
        return text

    def _format_action_invocation(self, action: argparse.Action) -> str:
        twins = getattr(action, "_cli_twins", ())
        if twins:
            action = copy.copy(action)
            action.option_strings = [s for s in action.option_strings if s not in twins]
        return super()._format_action_invocation(action)


class CliParser(OneLineParser):
    """The parser of every entry point: snake_case flags with their dash twins, one-line errors naming the closest
    flag (exit 2), a help note on the spelling."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("formatter_class", CliHelpFormatter)
        epilog = kwargs.get("epilog")
        kwargs["epilog"] = f"{epilog}\n{SPELLING_NOTE}" if epilog else SPELLING_NOTE
        super().__init__(*args, **kwargs)

    def normalise(self) -> None:
        """Give every long flag its snake spelling first and its dash twin (idempotent; a flag added to the parser
        with ``add_argument`` follows the same rule)."""
        for action in self._actions:
            if isinstance(action, argparse.BooleanOptionalAction):
                action.__class__ = NegatableAction
            strings = list(action.option_strings)
            if not strings or not strings[0].startswith("--"):
                continue
            ordered = [canonical(strings[0])] + [s for s in strings if s != canonical(strings[0])]
            for s in list(ordered):
                for twin in (canonical(s), dashed(s)):
                    if twin not in ordered and self._option_string_actions.get(twin, action) is action:
                        ordered.append(twin)
            shown: dict[str, str] = {}  # one spelling per name: the first (snake for the flag's own name)
            for s in ordered:
                shown.setdefault(canonical(s), s)
                self._option_string_actions.setdefault(s, action)
            action.option_strings = ordered
            action._cli_twins = tuple(s for s in ordered if s not in shown.values())

    def parse_known_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:
        self.normalise()
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        self.normalise()
        return super().format_help()

    def format_usage(self) -> str:
        self.normalise()
        return super().format_usage()

    def _get_option_tuples(self, option_string: str) -> list:
        # an abbreviation matching a flag and its dash twin is not ambiguous: one match per action
        seen: dict[int, tuple] = {}
        for tup in super()._get_option_tuples(option_string):
            seen.setdefault(id(tup[0]), tup)
        return list(seen.values())

    def known_flags(self) -> list[str]:
        """Every flag's shown spelling (snake, and renamed aliases)."""
        self.normalise()
        twins = {t for a in self._actions for t in getattr(a, "_cli_twins", ())}
        return sorted(s for s in self._option_string_actions if s.startswith("--") and s not in twins)

    def closest_flag(self, flag: str) -> str | None:
        """The known flag nearest ``flag`` (separators ignored), or None."""
        name = canonical(flag.split("=", 1)[0])
        by_key = {canonical(s): s for s in self.known_flags()}
        match = difflib.get_close_matches(name, sorted(by_key), n=1, cutoff=0.6)
        return by_key[match[0]] if match else None

    def unknown_flag_error(self, tokens: Sequence[str]) -> InputError | None:
        """An InputError naming the first unknown flag among ``tokens`` and the closest known one, or None."""
        flag = next((t for t in tokens if t.startswith("-")), None)
        if flag is None:
            return None
        guess = self.closest_flag(flag)
        fix = f"did you mean {guess}? see {self.prog} --help" if guess else f"see {self.prog} --help"
        return InputError(None, None, f"{self.prog}: unrecognized arguments: {' '.join(tokens)}", fix)

    def error(self, message: str) -> None:  # type: ignore[override]
        prefix = "unrecognized arguments: "
        if message.startswith(prefix):
            err = self.unknown_flag_error(message[len(prefix) :].split())
            if err is not None:
                print(f"error: {err.one_line()}", file=sys.stderr)
                raise SystemExit(EXIT_BAD_INPUT)
        super().error(message)


def _unwrap(hint: Any) -> tuple[Any, bool]:
    """(the type inside ``X | None``, whether None is allowed)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        rest = [a for a in typing.get_args(hint) if a is not type(None)]
        return (rest[0] if len(rest) == 1 else str), type(None) in typing.get_args(hint)
    return hint, False


def _field_kwargs(name: str, hint: Any, default: Any, meta: Mapping[str, Any]) -> dict[str, Any]:
    """argparse keyword arguments of one field from its type, default and :func:`opt` metadata."""
    kw = {
        k: meta[k] for k in ("help", "choices", "metavar", "nargs", "type", "required", "action", "const") if k in meta
    }
    kw["default"] = default
    if "action" in kw:
        return kw
    inner, _ = _unwrap(hint)
    if inner is bool:
        kw["action"] = NegatableAction if meta.get("negatable", default is True) else "store_true"
        if kw["action"] is NegatableAction:
            kw.setdefault("help", f"(default: {default})")
        kw.pop("type", None)
        return kw
    if isinstance(default, (tuple, list)):
        kw.setdefault("help", f"(default: {' '.join(map(str, default))})")
    if "choices" not in kw and typing.get_origin(inner) is not typing.Literal:
        kw.setdefault("metavar", meta.get("flag", name).upper())
    origin = typing.get_origin(inner)
    if typing.get_origin(inner) is typing.Literal:
        kw.setdefault("choices", typing.get_args(inner))
    elif origin in (list, tuple) or inner in (list, tuple):
        item = next((a for a in typing.get_args(inner) if a is not Ellipsis), str)
        kw.setdefault("nargs", "+")
        kw.setdefault("type", item if item in (int, float) else None)
    elif inner in (int, float):
        kw.setdefault("type", inner)
    if kw.get("type") is None:
        kw.pop("type", None)
    return kw


def add_config(
    parser: argparse.ArgumentParser | Any,
    cls: type,
    *,
    defaults: Any = None,
    dest_prefix: str = "",
    title: str | None = None,
    fields: Mapping[str, Mapping[str, Any]] | None = None,
    skip: Sequence[str] = (),
    negatable: bool = False,
) -> None:
    """One flag per field of the dataclass ``cls`` (``--field_name``; dest ``dest_prefix + field_name``). Defaults
    come from ``defaults`` (an instance) or the fields' own; ``fields`` adds or replaces options per field name
    (for a dataclass whose module must not know about the command line); a field whose options name a ``group``
    goes into that help section; ``negatable``: every boolean gets ``--x`` / ``--no_x`` (else only those
    defaulting to True)."""
    hints = typing.get_type_hints(cls)
    target = parser.add_argument_group(title) if title else parser
    sections: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in skip or not f.init:
            continue
        meta = {**f.metadata.get(META, {}), **(fields or {}).get(f.name, {})}
        if negatable:
            meta.setdefault("negatable", True)
        if defaults is not None:
            default = getattr(defaults, f.name)
        elif f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = None
        kw = _field_kwargs(f.name, hints[f.name], default, meta)
        if kw.get("required"):
            kw.pop("default", None)
        group = target
        if meta.get("exclusive"):  # one of a set of flags (required if any member says so)
            group = sections.get(meta["exclusive"]) or sections.setdefault(
                meta["exclusive"], target.add_mutually_exclusive_group()
            )
            group.required = group.required or bool(kw.pop("required", False))
            kw.setdefault("default", None)
        elif meta.get("group"):
            group = sections.get(meta["group"]) or sections.setdefault(
                meta["group"], parser.add_argument_group(meta["group"])
            )
        if meta.get("positional"):  # a positional argument: its name is its dest
            kw.pop("required", None)
            kw.pop("metavar", None)
            group.add_argument(dest_prefix + f.name, **kw)
            continue
        names = ["--" + meta.get("flag", f.name), *meta.get("aliases", ())]
        group.add_argument(*names, dest=dest_prefix + f.name, **kw)


def config_from_args(args: argparse.Namespace, cls: type, *, dest_prefix: str = "", **extra: Any) -> Any:
    """The ``cls`` instance :func:`add_config` flags describe (lists back to tuples where the field is a tuple);
    ``extra`` fills fields that have no flag."""
    hints = typing.get_type_hints(cls)
    values = dict(extra)
    for f in dataclasses.fields(cls):
        dest = dest_prefix + f.name
        if f.name in values or not hasattr(args, dest):
            continue
        value = getattr(args, dest)
        inner, _ = _unwrap(hints[f.name])
        if isinstance(value, list) and (typing.get_origin(inner) is tuple or inner is tuple):
            value = tuple(value)
        values[f.name] = value
    return cls(**values)
