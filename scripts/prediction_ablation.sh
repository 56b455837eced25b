#!/usr/bin/env bash
# Issue #16 item 4: does an x0- or v-parameterised denoiser fix the high-noise x0 weakness of
# docs/RESULTS.md section 5 (eps: x0 error grows as sqrt((1 - abar_t) / abar_t) x eps error)?
# Three wrappers trained from scratch, identical but for diffusion.prediction (same seed, data,
# schedule and budget), on the frozen generation-2.5 MixSTE (checkpoints/mixste-interim), with
# the inputs of the gen-3 presets. Then each one's one-step denoising profile by noise level
# and its validation MPJPE with the paper's sampler and with the shipped warm start
# (scripts/prediction_profile.py; validation split only, never the test split).
#   THREADS=1 STEPS=400 bash scripts/prediction_ablation.sh
set -euo pipefail
THREADS=${THREADS:-1}
STEPS=${STEPS:-400}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
for P in ${PREDICTIONS:-eps x0 v}; do
  out=runs/pred-$P
  resume=()
  [[ -f $out/last.safetensors ]] && resume=(--resume)
  if [[ -f $out/train_state.json ]] && python3 -c 'import json, sys
sys.exit(json.load(open(sys.argv[1])).get("stop_reason") != "max_steps")' "$out/train_state.json"; then
    echo "== pred-$P: done"; continue
  fi
  echo "== pred-$P: $(date -u +%H:%M:%S)"
  diffhpe train wrapper-open model.backbone=checkpoints/mixste-interim/best.safetensors \
    model.denoiser.channels=32 diffusion.prediction="$P" train.batch_size=64 train.micro_batch=0 \
    train.lr=5e-4 train.warmup_steps=50 train.max_steps="$STEPS" train.val_every=100 \
    train.train_eval_windows=128 data.val_max_windows=400 "train.threads=$THREADS" \
    out_dir="$out" --out "$out" "${resume[@]}" --quiet
done
