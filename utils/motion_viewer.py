"""Play motion sets on the robot in MuJoCo, side by side (see wildrobot_amp_ext/eval/viewer.py).

    python utils/motion_viewer.py data/motions/walk.pkl data/ref.npz --robot wildrobot --out walk.mp4
    python utils/motion_viewer.py data/tier0_segments.npz --lanes clips --max-lanes 4 --layout tiles --out seg.gif
    python utils/motion_viewer.py logs/play/rollout.npz --out rollout.mp4      # a recorded policy rollout
    python utils/motion_viewer.py walk.pkl                                      # a window (needs a display)
"""

import sys

from wildrobot_amp_ext.eval.viewer import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
