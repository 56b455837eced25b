#!/usr/bin/env bash
# Issue 16: does the wrapper refine its MixSTE once the diffusion sees unit-variance poses?
# Three wrappers, identical but for diffusion.prediction and diffusion.pose_scale (0.3 m:
# the training poses' spread, 0.29 m per coordinate; 1: the paper's metres), trained from
# scratch on the same frozen MixSTE (runs/mixste-open-4500: mixste-open's best, step 4500),
# 800 steps of 64 windows each. Then the sampler grid on the validation split
# (scripts/sampler_validation.sh). Results: docs/POSE_SCALE.md.
#   THREADS=1 bash scripts/pose_scale_ablation.sh
set -euo pipefail
THREADS=${THREADS:-1}
BACKBONE=${BACKBONE:-runs/mixste-open-4500/best.safetensors}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
for run in "eps 0.3" "x0 0.3" "x0 1.0"; do
  set -- $run
  out=runs/scale-$1-$2
  [[ -f $out/train_state.json ]] || diffhpe train wrapper-open "model.backbone=$BACKBONE" \
    model.denoiser.channels=32 "diffusion.prediction=$1" "diffusion.pose_scale=$2" \
    train.batch_size=64 train.micro_batch=0 train.lr=5e-4 train.warmup_steps=50 \
    train.max_steps=800 train.val_every=100 train.train_eval_windows=128 \
    data.val_max_windows=400 "train.threads=$THREADS" "out_dir=$out" --out "$out" --quiet
done
# Session 12: the eps wrapper was still improving at step 800; 1600 more steps from its last
# weights (fresh optimizer, warm-up 50, cosine from 3e-4), same backbone.
out=runs/scale-eps-0.3-long
[[ -f $out/train_state.json ]] || diffhpe train wrapper-open "model.backbone=$BACKBONE" \
  model.denoiser.channels=32 diffusion.prediction=eps diffusion.pose_scale=0.3 \
  train.init_from=runs/scale-eps-0.3/last.safetensors \
  train.batch_size=64 train.micro_batch=0 train.lr=3e-4 train.warmup_steps=50 \
  train.max_steps=1600 train.val_every=200 train.train_eval_windows=128 \
  data.val_max_windows=400 "train.threads=$THREADS" "out_dir=$out" --out "$out" --quiet
for run in eps-0.3 x0-0.3 x0-1.0 eps-0.3-long; do
  OMP_NUM_THREADS=$THREADS bash scripts/sampler_validation.sh runs/scale-$run/best.safetensors \
    "$BACKBONE" docs/pose_scale/$run
done
