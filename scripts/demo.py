"""The main job on a fresh machine, CPU-sized: the whole pipeline on the small robot.

    .venv/bin/python scripts/demo.py [--robot wildrobot] [--iterations 20] [--num-envs 16] [--out outputs/demo]

1. synthesise a small GMR-format motion library (walks at three speeds, a turned walk, a standing sway);
2. convert it to an AMP reference set at 50 Hz and verify it;
3. mine Tier 0+ segments in MuJoCo (report + plots);
4. train AMP on Isaac Lab kit-less (Newton, CPU) for a few iterations: TensorBoard logs and a checkpoint;
5. play the checkpoint headless: evaluation JSON/PNG, a video and the ONNX/TorchScript export.

Each step is the documented command-line tool, run as a subprocess, so this script is also a usage example.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from wildrobot_amp_ext.utils.cli import CliParser, add_config, opt

ROOT = Path(__file__).resolve().parents[1]
TASKS = {
    "wildrobot": "WildRobot-AMP-Flat-v0",
    "unitree_g1_23dof": "G1-23dof-AMP-Flat-v0",
    "unitree_g1_29dof": "G1-29dof-AMP-Flat-v0",
}


def run(step: str, args: list[str]) -> None:
    print(f"\n=== {step}\n$ {' '.join(args)}", flush=True)
    start = time.time()
    subprocess.run(args, cwd=ROOT, check=True)
    print(f"--- {step}: {time.time() - start:.1f} s", flush=True)


@dataclass
class DemoArgs:
    """scripts/demo.py's flags."""

    robot: str = opt("wildrobot", choices=sorted(TASKS))
    iterations: int = opt(20, help="training iterations (rollouts of 16 steps)")
    num_envs: int = 16
    device: str = "cpu"
    out: str = "outputs/demo"
    skip_mining: bool = False


def build_parser() -> CliParser:
    parser = CliParser(description=__doc__.splitlines()[0])
    add_config(parser, DemoArgs)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)

    os.environ.setdefault("WARP_CACHE_PATH", str(Path.home() / ".cache" / "wildrobot_amp_ext" / "warp"))
    py = sys.executable
    out = (ROOT / args.out).resolve()
    motions = out / "motions"
    dataset = out / f"{args.robot}_reference.npz"
    task = TASKS[args.robot]

    sys.path.insert(0, str(ROOT))
    from wildrobot_amp_ext.motion.synthetic import write_demo_motions
    from wildrobot_amp_ext.robots import load_robot

    print(f"=== synthesise demo motions for {args.robot} -> {motions}")
    for path in write_demo_motions(load_robot(args.robot), motions):
        print(f"  {path.name}")

    run(
        "convert",
        [
            py,
            "convert_dataset/convert_dataset.py",
            "--robot",
            args.robot,
            "--input",
            str(motions),
            "--output",
            str(dataset),
            "--target-fps",
            "50",
        ],
    )
    run("verify", [py, "utils/verify_dataset.py", str(dataset), "--robot", args.robot])
    run(
        "analyze", [py, "utils/analyze_dataset.py", str(dataset), "--robot", args.robot, "--out", str(out / "analysis")]
    )
    if not args.skip_mining:
        run(
            "mine Tier 0+",
            [
                py,
                "-m",
                "wildrobot_amp_ext.mine",
                "--robot",
                args.robot,
                "--input",
                str(motions),
                "--output",
                str(out / "tier0.npz"),
                "--report-dir",
                str(out / "tier0_report"),
            ],
        )
    run(
        "train",
        [py, "train_amp.py", "--task", task, "--num_envs", str(args.num_envs), "--device", args.device, "--headless",
         "--max_iterations", str(args.iterations), "--dataset", str(dataset), "--experiment_name", "demo"],
    )  # fmt: skip
    checkpoints = sorted(
        glob.glob(str(ROOT / "logs" / "skrl" / task / "*demo*" / "checkpoints" / "*.pt")), key=os.path.getmtime
    )
    if not checkpoints:
        raise SystemExit("error: training wrote no checkpoint")
    run(
        "play + evaluate",
        [py, "play.py", "--task", task, "--checkpoint", checkpoints[-1], "--num_envs", "4", "--device", args.device,
         "--headless", "--video", "--eval", "--eval_duration", "4", "--eval_envs_per_command", "2", "--export",
         "--dataset", str(dataset)],
    )  # fmt: skip
    print(f"\nDone. Outputs under {out} and {Path(checkpoints[-1]).parents[1]}")


if __name__ == "__main__":
    main()
