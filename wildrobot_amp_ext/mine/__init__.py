"""``wildrobot-mine`` (``python -m wildrobot_amp_ext.mine``): the Tier 0+ miner's command, along its steps:
:mod:`.flags` (the flags, the :class:`~wildrobot_amp_ext.miner.config.MinerConfig` they make; its docstring is the
command's help and describes the miner) and :mod:`.mining` (the run: checks, clips, jobs, dataset, report), which
loads MuJoCo and torch once the flags are parsed."""

from __future__ import annotations

from collections.abc import Sequence

from wildrobot_amp_ext.errors import cli_entry
from wildrobot_amp_ext.mine.flags import MineArgs, build_parser, config_from_args, tracker_of, validate_config

__all__ = ["MineArgs", "build_parser", "config_from_args", "main", "run", "validate_config"]


def run(argv: Sequence[str] | None = None) -> dict:
    args = build_parser(tracker_of(argv)).parse_args(argv)
    from wildrobot_amp_ext.mine.mining import mine_from_flags  # why here: MuJoCo + torch; --help stays fast

    return mine_from_flags(args)


@cli_entry
def main(argv: Sequence[str] | None = None) -> int:
    run(argv)
    return 0
