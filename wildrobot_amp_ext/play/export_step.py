"""play's ``--export`` step: the checkpoint exported (ONNX + TorchScript, normaliser folded in, parity-checked) into
``<out>/exported``, then with ``--sim2sim`` the exported ONNX policy run in MuJoCo beside the Isaac Lab metrics."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wildrobot_amp_ext.deploy.checkpoint import CheckpointInfo
from wildrobot_amp_ext.deploy.export import export_checkpoint, format_result
from wildrobot_amp_ext.evaluation.sim2sim_report import compare_in_mujoco


def export_policy(args: argparse.Namespace, info: CheckpointInfo, command, out_dir: Path) -> int | None:
    """Export ``info``; the exit status when play ends here (a failed parity check, ``--export_only``,
    ``--sim2sim``), None when it goes on to the env."""
    result = export_checkpoint(info, out_dir / "exported")
    print(format_result(result))
    if not result.ok:
        print("[export] parity check FAILED: the exported files do not reproduce the policy", file=sys.stderr)
        return 1
    if args.export_only:
        return 0
    if args.sim2sim:
        return compare_in_mujoco(result, command, args.eval_duration, out_dir)
    return None
