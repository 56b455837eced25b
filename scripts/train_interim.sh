#!/usr/bin/env bash
# Generation 2.5 (session 8): the shipped generation-2 pair fine-tuned on the real-2D inputs
# of issue #15, to ship while the generation-3 campaign (scripts/train_gen3.sh) trains.
#   mixste-interim  = mixste-occ-mix (shipped gen 2) + a mask token, fine-tuned 400 steps
#   wrapper-interim = wrapper-occ-mix (shipped gen 2) on mixste-interim, fine-tuned 300 steps
# Inputs (both): exact and detected 2D through the Human3.6M and virtual cameras, the
# exact/MPII/COCO joint families, gross detector errors, whole-window absences among the
# occlusions; warm-up + cosine schedule; validated on clean detected 2D (wrapper: with the
# shipped warm-start sampler). Session 8 ran both with THREADS=1 beside the gen-3 run:
# 32 + 30 minutes of wall time. Choice to ship: validation split (docs/ROBUSTNESS.md, run
# with --split validation), never the test split.
set -euo pipefail
THREADS=${THREADS:-1}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
DATA=(data.families=exact:2,mpii:1,coco:1 data.hard_errors=0.3 "data.train_extra_detectors=[gt]"
      "data.train_extra_roots=[data/open-virtual]" data.val_occlusion=none
      "data.occlusion=none:3,absent:2,random:1,left_arm_right_leg:1,consecutive_right_leg:1,consecutive_frames:1")
COMMON=(train.schedule=cosine train.min_lr=1e-5 train.early_stop=0 train.batch_size=128
        train.grad_clip=1.0 "train.threads=$THREADS")
[[ -f data/open-virtual/benchmark.json ]] ||
  diffhpe data build --virtual-cameras 4 --out data/open-virtual

diffhpe train checkpoints/mixste-occ-mix/config.json model.mixste.mask_token=true \
  train.init_from=checkpoints/mixste-occ-mix/best.safetensors "${DATA[@]}" "${COMMON[@]}" \
  train.lr=2e-4 train.warmup_steps=30 train.max_steps=400 train.val_every=100 \
  train.max_minutes=32 out_dir=runs/mixste-interim --out runs/mixste-interim --quiet

diffhpe train checkpoints/wrapper-occ-mix/config.json \
  model.backbone=runs/mixste-interim/best.safetensors \
  train.init_from=checkpoints/wrapper-occ-mix/best.safetensors "${DATA[@]}" "${COMMON[@]}" \
  data.val_max_windows=400 diffusion.init=backbone diffusion.start_step=5 \
  diffusion.sample_steps=2 train.lr=1.5e-4 train.warmup_steps=20 train.max_steps=300 \
  train.val_every=100 train.train_eval_windows=256 train.max_minutes=30 \
  out_dir=runs/wrapper-interim --out runs/wrapper-interim --quiet

# Shipped (when validation says it is the better pair):
#   diffhpe ship runs/wrapper-interim --cameras 54138969 --sampler ddim --steps 2 --eta 1.0 \
#     -H 5 --clip-x0 1.0 --init backbone --start-step 5
