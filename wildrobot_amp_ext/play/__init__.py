"""Play a trained AMP policy (skrl 2.1.1 checkpoint) in an Isaac Lab 3.0 task of this package (kit-less, Newton).

Usage::

    # window (needs a display): the Newton GL visualizer; arrow keys = forward speed / turn rate, z / x = sideways,
    # space = stop (polled from the visualizer window once per step)
    python play.py --task WildRobot-AMP-Flat-Play-v0 --checkpoint logs/skrl/<task>/<run>/checkpoints/agent_32000.pt
    # headless: a video of 4 envs walking at a scripted command
    python play.py --task ... --checkpoint ... --headless --video --command 0.3,0,0 --video_length 300
    # export (ONNX + TorchScript, normaliser folded in, parity-checked) and evaluate (JSON + PNG + rollout.npz)
    python play.py --task ... --checkpoint ... --headless --export --eval
    python play.py --task ... --checkpoint ... --headless --eval \
        --eval_commands "0,0,0;0.25,0,0;0.5,0,0" --eval_envs_per_command 8
    # a zero-action baseline (no checkpoint)
    python play.py --task ... --zero_policy --headless --eval

Video (``--video``): Isaac Lab 3.0's own recorder (``env_cfg.video_recorders``) needs ``moviepy`` (not installed) and a
visualizer. Kit-less on CPU the Newton GL visualizer itself does render headless (through EGL), but from a fixed
camera, so **by default the rollout's root / joint states are recorded and rendered with this package's MuJoCo motion
viewer** (``wildrobot_amp_ext.viewing.viewer``: a tracking camera, one robot copy per env, text overlay with env,
episode, time, joint-limit and foot-penetration flags). ``--video_renderer newton`` instead grabs the Newton GL
visualizer's frames every step (camera ``--camera_eye`` / ``--camera_lookat``) and writes them with imageio.

Outputs go to ``<run>/play/`` for a checkpoint inside a ``train_amp.py`` run folder (else ``./play_outputs/``):
``play.mp4``, ``rollout.npz`` (``--record``; plays in ``utils/motion_viewer.py``), ``exported/``, ``eval/``.

Bad input is refused with one line (exit code 2): a checkpoint trained for another robot, another task (its ``-Play``
variant counts as the same; ``--allow_other_task`` overrides) or with other observation / action / AMP widths, a
``--dataset`` whose feature version differs from the env's, a malformed ``--command``.
Trailing ``env.<path>=<value>`` arguments override the env config (Isaac Lab Hydra syntax).

Layout, along play's steps: :mod:`.flags` (the flags and their checks, light), :mod:`.export_step` (``--export`` /
``--sim2sim``: torch, ONNX, MuJoCo), :mod:`.session` (the env config, the env, the policy handed to evaluation or
playback: torch, Isaac Lab). Each heavy step is imported when play reaches it, so ``--help`` and flag errors answer
without them, and ``--export_only`` without Isaac Lab.
"""

from __future__ import annotations

import sys

from wildrobot_amp_ext.deploy.checkpoint import read_checkpoint
from wildrobot_amp_ext.errors import cli_entry
from wildrobot_amp_ext.isaaclab.physics_select import prefer_passive_omp, requested_backend
from wildrobot_amp_ext.play.flags import PlayArgs, build_parser, check_flags, output_dir, parse_vec3

__all__ = ["PlayArgs", "build_parser", "evaluate_main", "main", "output_dir"]


def main(argv: list[str] | None = None) -> int:
    return cli_entry(_run)(argv)


def _run(argv: list[str] | None) -> int:
    args, rest = build_parser().parse_known_args(argv)
    overrides = check_flags(args, rest)
    command = parse_vec3(args.command, "--command") if args.command else None
    out_dir = output_dir(args)
    info = read_checkpoint(args.checkpoint) if args.checkpoint else None
    if args.export:
        from wildrobot_amp_ext.play.export_step import export_policy  # why here: torch + ONNX, for --export only

        code = export_policy(args, info, command, out_dir)
        if code is not None:
            return code
    # before the session imports torch (libgomp reads OMP_WAIT_POLICY once, as torch loads); a checkpoint has loaded
    # torch already, and then this does nothing, as before
    prefer_passive_omp(requested_backend(args, overrides), args.device)
    from wildrobot_amp_ext.play.session import play_in_env  # why here: torch + Isaac Lab; --help stays fast

    return play_in_env(args, info, overrides, command, out_dir)


def evaluate_main(argv: list[str] | None = None) -> int:
    """The evaluation command (``wildrobot-evaluate``): ``play.py --eval --headless`` with the same flags."""
    return main(["--eval", "--headless", *(sys.argv[1:] if argv is None else argv)])
