#!/usr/bin/env bash
# Reproduce the shipped WildRobot walking policy (pretrained/wildrobot_walk/) from a fresh clone, on a CPU:
#
#   bash scripts/reproduce_walk.sh MOTIONS_DIR [OUT_DIR]
#
# MOTIONS_DIR holds the Unitree G1 29-DoF GMR clips (the project's dev clips: ../shared/motions/g1_dev; provenance
# and licence in its README). Steps, each the documented command-line tool, each skipped when its output exists
# (so an interrupted run resumes; training resumes from its newest checkpoint):
#   1. retarget the G1 clips onto WildRobot (wildrobot-retarget, robot to robot)
#   2. keep the clips the task's commands can ask for (stand, forward walk, curved walk; see REFERENCE_CLIPS)
#   3. mine Tier 0+ segments in MuJoCo (wildrobot-mine)
#   4. train WildRobot-AMP-Flat-v0 (train_amp.py, mujoco-cpu physics, 1024 envs, TRAIN_ITERATIONS PPO updates)
#   5. evaluate in Isaac Lab on the fixed command grid (EVAL_GRID) with three eval seeds (wildrobot-evaluate)
#   6. export the deploy bundle (wildrobot-export) and run it alone in MuJoCo: the grid and the robustness sweep
#   7. learning curves (PNG) and the side-by-side video (reference | Isaac Lab | MuJoCo)
#   8. collect the files pretrained/wildrobot_walk/ ships
# Environment: TRAIN_ITERATIONS (default 630, the shipped run: about 70 min on an idle 2-core CPU), SEED (default 0), CHECKPOINT (skip
# training: evaluate and collect this agent checkpoint of a train_amp.py run folder), CONTROLS (default none; "bonus
# shuffled" trains and evaluates the controls at the same seed and budget: task rewards plus a constant bonus equal to
# the AMP run's mean style reward, and AMP on a time-shuffled reference; the goal table then compares their style).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MOTIONS="${1:?usage: bash scripts/reproduce_walk.sh MOTIONS_DIR [OUT_DIR]}"
OUT="$(mkdir -p "${2:-$ROOT/outputs/reproduce_walk}" && cd "${2:-$ROOT/outputs/reproduce_walk}" && pwd)"
SEED="${SEED:-0}"
CONTROLS="${CONTROLS:-}"
TRAIN_ITERATIONS="${TRAIN_ITERATIONS:-630}"
TASK=WildRobot-AMP-Flat-v0
# The commands of WildRobot-AMP-Flat-v0 ask for forward 0-0.5 m/s, sideways +-0.15 m/s, yaw +-1 rad/s. Measured on
# the mined G1 dev clips (physics-tracked on WildRobot): the backward walks move at -0.14 m/s on average and the
# jogged arc turns at 1.31 rad/s on average; the commands never ask for either, so the discriminator would reward
# motions the policy is never told to make. Kept: standing turns (idle_turn, step_rotate), walk_forward, walk_arc.
# (in this order: the shipped reference.npz lists its motions so)
REFERENCE_CLIPS=(idle_turn_270_001__A048 step_rotate_idle_000_002__A026 walk_arc_cw_loop_002__A046
                 walk_forward_loop_002__A024)
# The grid the shipped metrics are measured on (vx, vy, wz): standing, forward 0.1-0.5, sideways, forward turns
EVAL_GRID="0,0,0;0.1,0,0;0.3,0,0;0.5,0,0;0,0.15,0;0,-0.15,0;0.3,0,0.3;0.3,0,-0.3;0.3,0,0.5;0.3,0,-0.5"

cd "$ROOT"
[ -x .venv/bin/python ] || bash scripts/setup.sh
PY="$ROOT/.venv/bin/python"
BIN="$ROOT/.venv/bin"
export WARP_CACHE_PATH="${WARP_CACHE_PATH:-$HOME/.cache/wildrobot_amp_ext/warp}"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"  # torch's OpenMP threads must not spin against the physics

step() { echo; echo "=== [$(date +%H:%M:%S)] $*"; }

step "1/8 retarget $MOTIONS onto WildRobot"
[ -f "$OUT/retarget/retarget_report.json" ] || \
  "$BIN/wildrobot-retarget" --robot wildrobot --input "$MOTIONS" --source-robot unitree_g1_29dof --output "$OUT/retarget"

step "2/8 reference clips the commands can ask for"
CLIPS=()
for name in "${REFERENCE_CLIPS[@]}"; do
  if [ -f "$OUT/retarget/$name.pkl" ]; then CLIPS+=("$OUT/retarget/$name.pkl"); else echo "missing: $name (retarget failed or not in $MOTIONS)"; fi
done
[ "${#CLIPS[@]}" -gt 0 ] || { echo "error: none of ${REFERENCE_CLIPS[*]} in $OUT/retarget" >&2; exit 2; }
printf '  %s\n' "${CLIPS[@]}"

step "3/8 mine Tier 0+ segments"
[ -f "$OUT/reference.npz" ] || \
  "$BIN/wildrobot-mine" --robot wildrobot --input "${CLIPS[@]}" --output "$OUT/reference.npz" \
    --report-dir "$OUT/mine_report" --cache-dir "$OUT/mine_cache"

step "4/8 train $TASK (seed $SEED, $TRAIN_ITERATIONS updates)"
RUN_ROOT="$OUT/logs"
RUN="$(ls -d "$RUN_ROOT/$TASK"/*_walk_s"$SEED" 2>/dev/null | tail -1 || true)"
LAST="$(ls "$RUN"/checkpoints/agent_*.pt 2>/dev/null | sort -t_ -k2 -n | tail -1 || true)"
FINAL="agent_$((TRAIN_ITERATIONS * 16)).pt"
if [ -n "${CHECKPOINT:-}" ]; then  # evaluate and ship a given checkpoint instead of training
  RUN="$(cd "$(dirname "$CHECKPOINT")/.." && pwd)"
elif [ -z "$RUN" ] || [ ! -f "$RUN/checkpoints/$FINAL" ]; then
  RESUME=()
  [ -n "$LAST" ] && RESUME=(--checkpoint "$LAST")
  "$PY" train_amp.py --task "$TASK" --num_envs 1024 --headless --device cpu --physics mujoco-cpu \
    --dataset "$OUT/reference.npz" --seed "$SEED" --max_iterations "$TRAIN_ITERATIONS" \
    --log_root "$RUN_ROOT" --experiment_name "walk_s$SEED" "${RESUME[@]}" agent.agent.experiment.checkpoint_interval=400
  RUN="$(ls -d "$RUN_ROOT/$TASK"/*_walk_s"$SEED" | tail -1)"
fi
CKPT="${CHECKPOINT:-$(ls "$RUN"/checkpoints/agent_*.pt | sort -t_ -k2 -n | tail -1)}"
echo "checkpoint: $CKPT"

evaluate() {  # evaluate CHECKPOINT DIR: the Isaac Lab grid with eval seeds 0-2 into DIR/eval_seed*
  # --dataset: style is always measured against the real reference (a shuffled control trained on another file)
  for s in 0 1 2; do
    [ -f "$2/eval_seed$s/eval/metrics.json" ] || \
      "$PY" play.py --task WildRobot-AMP-Flat-Play-v0 --checkpoint "$1" --headless --eval --physics mujoco-cpu \
        --dataset "$OUT/reference.npz" --eval_commands "$EVAL_GRID" --eval_envs_per_command 4 --eval_duration 10 --seed "$s" --out "$2/eval_seed$s"
  done
}

step "5/8 evaluate in Isaac Lab on the grid (eval seeds 0, 1, 2)"
evaluate "$CKPT" "$OUT"
CONTROL_ARGS=()
for name in $CONTROLS; do  # each control differs from the AMP run in one thing; same seed, budget and evaluation
  step "5/8 control '$name' (seed $SEED, $TRAIN_ITERATIONS updates)"
  case "$name" in
    bonus) DATA="$OUT/reference.npz"
           OVERRIDE=("agent.amp.constant_style_reward=$("$PY" -m wildrobot_amp_ext.evaluation.curves "$RUN" --mean-style-reward)") ;;
    shuffled) DATA="$OUT/reference_shuffled.npz" OVERRIDE=()
              [ -f "$DATA" ] || "$PY" -m wildrobot_amp_ext.dataset.controls "$OUT/reference.npz" --out "$DATA" ;;
    *) echo "error: CONTROLS: unknown control '$name' (use bonus, shuffled)" >&2; exit 2 ;;
  esac
  echo "  reference $DATA ${OVERRIDE[*]}"
  CRUN="$(ls -d "$RUN_ROOT/$TASK"/*_control_"$name"_s"$SEED" 2>/dev/null | tail -1 || true)"
  if [ -z "$CRUN" ] || [ ! -f "$CRUN/checkpoints/$FINAL" ]; then
    "$PY" train_amp.py --task "$TASK" --num_envs 1024 --headless --device cpu --physics mujoco-cpu \
      --dataset "$DATA" --seed "$SEED" --max_iterations "$TRAIN_ITERATIONS" --log_root "$RUN_ROOT" \
      --experiment_name "control_${name}_s$SEED" agent.agent.experiment.checkpoint_interval=400 "${OVERRIDE[@]}"
    CRUN="$(ls -d "$RUN_ROOT/$TASK"/*_control_"$name"_s"$SEED" | tail -1)"
  fi
  evaluate "$CRUN/checkpoints/$FINAL" "$OUT/control_$name"
  "$PY" -m wildrobot_amp_ext.evaluation.goals --isaac "$OUT/control_$name"/eval_seed{0,1,2}/eval/metrics.json \
    --reference "$OUT/reference.npz" --out "$OUT/control_$name/goals.json"
  CONTROL_ARGS+=(--control "$name=$OUT/control_$name/goals.json")
done

step "6/8 deploy bundle; the bundle alone in MuJoCo: the same grid and the robustness sweep"
[ -f "$OUT/bundle/deploy.yaml" ] || "$PY" -m wildrobot_amp_ext.deploy.export --checkpoint "$CKPT" --out "$OUT/bundle"
[ -f "$OUT/mujoco_grid/mujoco_grid.json" ] || "$PY" -m wildrobot_amp_ext.evaluation.robustness --bundle "$OUT/bundle" \
  --grid "$EVAL_GRID" --episodes 4 --duration 10 --reference "$OUT/reference.npz" --out "$OUT/mujoco_grid"
[ -f "$OUT/bundle/robustness.json" ] || "$PY" -m wildrobot_amp_ext.evaluation.robustness --bundle "$OUT/bundle" --sweep

step "7/8 learning curves and the side-by-side video (reference | Isaac Lab | MuJoCo, forward 0.3 m/s)"
"$PY" -m wildrobot_amp_ext.evaluation.curves "$RUN" --out "$OUT/curves.png" --title "$TASK seed $SEED"
if [ ! -f "$OUT/walk.mp4" ]; then
  "$PY" play.py --task WildRobot-AMP-Flat-Play-v0 --checkpoint "$CKPT" --headless --eval --physics mujoco-cpu \
    --eval_commands "0.3,0,0" --eval_envs_per_command 1 --eval_duration 8 --out "$OUT/video_isaaclab"
  "$PY" -m wildrobot_amp_ext.evaluation.robustness --bundle "$OUT/bundle" --grid "0.3,0,0" --episodes 1 \
    --duration 8 --out "$OUT/video_mujoco"
  cp "$OUT/video_isaaclab/eval/rollout.npz" "$OUT/isaaclab.npz" && cp "$OUT/video_mujoco/rollout.npz" "$OUT/mujoco.npz"
  "$PY" -m wildrobot_amp_ext.viewing.cli "$OUT/retarget/walk_forward_loop_002__A024.pkl" "$OUT/isaaclab.npz" \
    "$OUT/mujoco.npz" --robot wildrobot --layout tiles --max-clips 1 --max-seconds 8 --width 960 --height 320 \
    --out "$OUT/walk.mp4"
  "$PY" -c "import imageio.v3 as i, sys; i.imwrite(sys.argv[2], i.imread(sys.argv[1], index=120))" "$OUT/walk.mp4" "$OUT/walk.png"
fi

step "8/8 the files pretrained/wildrobot_walk/ ships -> $OUT/shipped"
mkdir -p "$OUT/shipped"
cp "$CKPT" "$OUT/bundle/policy.onnx" "$OUT/bundle/deploy.yaml" "$OUT/bundle/robustness.json" "$OUT/curves.png" \
  "$OUT/walk.mp4" "$OUT/walk.png" "$OUT/mujoco_grid/mujoco_grid.json" "$OUT/shipped/"
cp "$OUT/eval_seed0/eval/metrics.json" "$OUT/shipped/metrics.json"
for s in 1 2; do cp "$OUT/eval_seed$s/eval/metrics.json" "$OUT/shipped/metrics_seed$s.json"; done
mkdir -p "$OUT/shipped/checkpoints" && mv "$OUT/shipped/$(basename "$CKPT")" "$OUT/shipped/checkpoints/"
cp "$OUT/reference.npz" "$OUT/shipped/reference.npz"
cp -r "$RUN/params" "$OUT/shipped/"
"$PY" -m wildrobot_amp_ext.evaluation.goals --isaac "$OUT"/eval_seed{0,1,2}/eval/metrics.json \
  --mujoco "$OUT/mujoco_grid/mujoco_grid.json" --reference "$OUT/reference.npz" "${CONTROL_ARGS[@]}" \
  --out "$OUT/shipped/goals.json"

echo
echo "done: $OUT/shipped (checkpoint $CKPT)"
