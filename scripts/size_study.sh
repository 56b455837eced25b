#!/usr/bin/env bash
# Issue 16, item 4: MixSTE capacity chosen from learning curves. The mixste-open recipe
# (same inputs, batch 128, warm-up + cosine) at three widths, each given the SAME CPU budget:
# BUDGET_H core-hours on THREADS threads. Each run's cosine is planned for the steps its
# width reaches in that budget (a 40-step speed probe, minus 10 % for validation), so every
# run anneals within its budget; max_minutes stops a run that turns out slower
# (it then resumes at the next call, so a session's end loses nothing).
# Resumable: run it again and unfinished runs continue (runs/size-W, kept in checkpoints/).
# The page (docs/RESULTS.md section 6) plots validation and training error against
# core-hours; `diffhpe experiment paper` reads the runs listed in its `learning` block.
#   BUDGET_H=1 THREADS=1 bash scripts/size_study.sh            # widths 32 64 128
set -euo pipefail
BUDGET_H=${BUDGET_H:-1}
THREADS=${THREADS:-1}
WIDTHS=${WIDTHS:-"32 64 128"}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

planned_steps() {  # planned_steps WIDTH: steps of 128 windows that fit the budget
  local probe=runs/size-probe-$1
  rm -rf "$probe"
  diffhpe train mixste-open "model.mixste.dim=$1" train.max_steps=40 train.warmup_steps=0 \
    train.val_every=100000 train.train_eval_windows=0 "train.threads=$THREADS" \
    "out_dir=$probe" --out "$probe" --quiet >/dev/null
  python3 - "$probe/metrics.jsonl" "$BUDGET_H" "$THREADS" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"windows_per_s"' in l]
wps = sorted(r["windows_per_s"] for r in rows[1:])[len(rows[1:]) // 2]  # median, not the first
core_s = float(sys.argv[2]) * 3600.0
print(int(0.9 * core_s / int(sys.argv[3]) * wps / 128))
PY
  rm -rf "$probe"
}

for w in $WIDTHS; do
  out=runs/size-$w keep=checkpoints/size-$w
  if [[ ! -f $out/last.safetensors && -f $keep/last.safetensors ]]; then
    mkdir -p "$out" && cp "$keep"/* "$out"/
  fi
  if [[ -f $out/train_state.json ]] && python3 -c 'import json, sys
sys.exit(json.load(open(sys.argv[1])).get("stop_reason") != "max_steps")' "$out/train_state.json"
  then
    echo "== size-$w: done"; continue
  fi
  resume=() steps=
  if [[ -f $out/last.safetensors ]]; then
    resume=(--resume)
    steps=$(python3 -c 'import json; print(json.load(open("'"$out"'/config.json"))["train"]["max_steps"])')
  else
    steps=$(planned_steps "$w")
  fi
  if ! [[ $steps =~ ^[0-9]+$ ]] || ((steps < 20)); then
    echo "size_study: width $w: planned '$steps' steps; need >= 20 (raise BUDGET_H)" >&2
    exit 1
  fi
  warm=$((steps / 20))
  echo "== size-$w: $(date -u +%H:%M:%S) $steps steps (warm-up $warm), budget $BUDGET_H core-h"
  rc=0
  diffhpe train mixste-open "model.mixste.dim=$w" "train.max_steps=$steps" \
    "train.warmup_steps=$warm" "train.val_every=$((steps / 10))" "train.threads=$THREADS" \
    "train.max_minutes=$(python3 -c "print(round($BUDGET_H * 60 / $THREADS * 1.3))")" \
    "out_dir=$out" --out "$out" "${resume[@]}" --quiet || rc=$?
  mkdir -p "$keep"
  for f in last.safetensors best.safetensors train_state.json metrics.jsonl config.json; do
    [[ -f $out/$f ]] && cp "$out/$f" "$keep/$f"
  done
  [[ $rc == 0 ]] || exit $rc
done
