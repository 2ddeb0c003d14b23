"""Reference sets for control experiments: the same frames with the motion destroyed.

A time-shuffled reference keeps every frame (its pose, its velocities, its contacts: each is a state the robot could
be in, so reference-state init still works) and the clip structure, but puts the frames in a random order, so a
transition (frame t, frame t+1) is no longer a motion. AMP trained on it gets a style reward with no motion in it:
the control for "does the policy learn the motion, or just a pose prior?".
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

from wildrobot_amp_ext.dataset.schema import ReferenceDataset, load_dataset, save_dataset
from wildrobot_amp_ext.errors import cli_entry
from wildrobot_amp_ext.motion.kinematics import ClipStates
from wildrobot_amp_ext.utils.cli import CliParser, add_config, opt


def time_shuffled(ds: ReferenceDataset, seed: int = 0) -> ReferenceDataset:
    """Rows of every per-frame array permuted together; clip boundaries, ids and names stay where they were."""
    order = np.random.default_rng(seed).permutation(ds.num_frames)
    states = ClipStates(**{f.name: getattr(ds.states, f.name)[order] for f in fields(ClipStates)})
    meta = {**ds.meta, "control": f"time-shuffled frames (seed {seed}): no motion, every frame kept"}
    return replace(ds, features=ds.features[order], states=states, meta=meta)


def write_time_shuffled(source: str | Path, out: str | Path, seed: int = 0) -> Path:
    return save_dataset(out, time_shuffled(load_dataset(source), seed))


@dataclass
class ControlsArgs:
    """``python -m wildrobot_amp_ext.dataset.controls``'s flags."""

    dataset: str = opt(positional=True, help="reference dataset .npz")
    out: str = opt(required=True, help="the shuffled dataset .npz (written atomically)")
    seed: int = 0


def build_parser() -> CliParser:
    p = CliParser(description="A time-shuffled copy of a reference dataset (the AMP control reference).")
    add_config(p, ControlsArgs)
    return p


@cli_entry
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    print(f"[controls] time-shuffled -> {write_time_shuffled(args.dataset, args.out, args.seed)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
