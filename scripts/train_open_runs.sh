#!/usr/bin/env bash
# The training runs behind docs/RESULTS.md (issue #4), on the open benchmark (data/open), 2 CPU cores.
# Resumable: a run with last.safetensors continues (--resume); a finished run is skipped.
#
# Budget (2 CPU cores): the base runs train longest; every occlusion run is a fine-tune with the
# same recipe from the same base, so the comparisons in Table 4 and the matrices share one recipe:
#   mixste-occ-P  = mixste-cpu (vanilla)          + fine-tune with occlusion pattern P
#   wrapper-cpu   = wrapper-cpu-mix-long (shipped) + fine-tune, no occlusion, on mixste-cpu
#   wrapper-occ-P = wrapper-cpu-mix-long (shipped) + fine-tune with pattern P, on mixste-occ-P
# A fine-tune ends at the first of: OCC_STEPS steps, train.early_stop=3 validations without a new
# best (converged on the validation split), or OCC_MIN minutes. docs/RESULTS.md says which, per run.
# Validation is on clean (un-occluded) 2D for every run, as in sessions 1-3, so "converged" means
# on clean validation; data.val_occlusion=train (added in session 4, not used here) would select
# occlusion runs under their own pattern.
# train.plateau_patience=0 halves the learning rate at every validation without a new best, so a
# run that converges wholly under this recipe has also tried 1/2 and 1/4 of its learning rate.
# mixste-occ-consecutive_right_leg did not: two of its three validations without a new best came
# from session 2 (patience 6, full learning rate), so it stopped at the first one of session 4.
# Wrappers validate with the sampler the tables use (DDIM 10, eta 1, x0 clipped to 1 m, H = 5, from
# noise), so the checkpoint kept as best is chosen by the number the page reports.
# History: in session 2 the occlusion runs were 100-step fine-tunes (val every 40, wrappers from
# wrapper-cpu-mix step 1216, validated with eta 0). In session 4 the MixSTE fine-tunes were resumed
# from those states (step 100) under the recipe below and the wrappers retrained from the shipped
# wrapper (their backbones changed), with OCC_MIN=12; the four wrapper-occ runs were then resumed
# once with OCC_MIN=7 to reach OCC_STEPS. Each run's train_state.json has its sessions.
# Usage: THREADS=2 bash scripts/train_open_runs.sh
set -euo pipefail
OCC_STEPS=${OCC_STEPS:-400}  # MixSTE fine-tunes
WOCC_STEPS=${WOCC_STEPS:-300}  # wrapper fine-tunes
OCC_MIN=${OCC_MIN:-12}  # minutes per fine-tune session
D2D_MIN=${D2D_MIN:-15}
THREADS=${THREADS:-2}  # torch threads per run (1 is steadier when other work shares the cores)
PATTERNS=(random left_arm_right_leg consecutive_right_leg consecutive_frames)
STOP=(train.val_every=50 train.plateau_patience=0 train.early_stop=3 "train.max_minutes=$OCC_MIN")
WSAMPLER=(diffusion.eta=1.0 diffusion.clip_x0=1.0)

run() {  # run NAME PRESET [overrides...]
  local name=$1 preset=$2; shift 2
  local out=runs/$name
  if [[ -f $out/done ]]; then echo "== $name: done, skipped"; return; fi
  local resume=()
  [[ -f $out/last.safetensors ]] && resume=(--resume)
  echo "== $name: $(date -u +%H:%M:%S) diffhpe train $preset $* --out $out ${resume[*]}"
  diffhpe train "$preset" "$@" "train.threads=$THREADS" --out "$out" "${resume[@]}" --quiet
  touch "$out/done"
}

run diffhpe2d-cpu diffhpe2d-cpu "train.max_minutes=$D2D_MIN" train.val_every=150 diffusion.clip_x0=1.0
# diffhpe2d-cpu was resumed several times (sessions 1-4; the last, in session 4, for 10 minutes):
#   diffhpe train runs/diffhpe2d-cpu/config.json train.threads=2 diffusion.eta=1.0 \
#     train.max_minutes=10 --out runs/diffhpe2d-cpu --resume
# The shipped wrapper: wrapper-cpu-mix continued from its last state (step 1216), validated with
# the shipped warm-start sampler (init from the MixSTE estimate at step 5, 2 DDIM steps, eta 1).
# For docs/RESULTS.md, steps 1216-1391 ran first in runs/wrapper-cpu-mix with its own validation
# (DDIM-10, eta 0, from noise), then 1391-1725 here with the warm start, stopped by SIGTERM
# (resumable). This recipe validates every step from 1216 with the warm start instead; the
# learning rate never changed in that run, but the checkpoint chosen as best may differ. The
# shipped best is step 1650 (checkpoints/wrapper-cpu-mix-long).
if [[ ! -f runs/wrapper-cpu-mix-long/last.safetensors ]]; then
  mkdir -p runs/wrapper-cpu-mix-long
  cp runs/wrapper-cpu-mix/last.safetensors runs/wrapper-cpu-mix/config.json runs/wrapper-cpu-mix-long/
fi
run wrapper-cpu-mix-long runs/wrapper-cpu-mix-long/config.json out_dir=runs/wrapper-cpu-mix-long \
  diffusion.init=backbone diffusion.start_step=5 diffusion.sample_steps=2 diffusion.eta=1.0 \
  "train.max_minutes=${LONG_MIN:-150}"
BASE=runs/wrapper-cpu-mix-long/best.safetensors
run wrapper-cpu wrapper-cpu model.backbone=runs/mixste-cpu/best.safetensors \
  "train.init_from=$BASE" "train.max_steps=$WOCC_STEPS" "${STOP[@]}" "${WSAMPLER[@]}"
for p in "${PATTERNS[@]}"; do
  run "mixste-occ-$p" mixste-cpu "data.occlusion=$p" train.init_from=runs/mixste-cpu/best.safetensors \
    "train.max_steps=$OCC_STEPS" "${STOP[@]}"
  run "wrapper-occ-$p" wrapper-cpu "data.occlusion=$p" "model.backbone=runs/mixste-occ-$p/best.safetensors" \
    "train.init_from=$BASE" "train.max_steps=$WOCC_STEPS" "${STOP[@]}" "${WSAMPLER[@]}"
done
echo "== all runs done $(date -u +%H:%M:%S)"
