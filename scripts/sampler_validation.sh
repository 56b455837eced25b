#!/usr/bin/env bash
# Sampler settings of a wrapper on the VALIDATION split (camera 54138969, detected 2D, every
# second window): MPJPE, symmetry gap (eq. 13) and segment std (eq. 14) of each setting beside its
# MixSTE, to choose the shipped default without looking at the test split (issue 16).
#   bash scripts/sampler_validation.sh WRAPPER.safetensors MIXSTE.safetensors OUT_DIR
# Prints one line per setting and writes OUT_DIR/NAME.json (diffhpe evaluate --json).
set -euo pipefail
wrapper=$1 mixste=$2 out=$3
mkdir -p "$out"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
common=(--split validation --cameras 54138969 --window-stride 2 --quiet)
ev() {  # ev NAME CHECKPOINT [evaluate options...]
  local name=$1 ckpt=$2; shift 2
  [[ -f $out/$name.json ]] || diffhpe evaluate "$ckpt" "${common[@]}" "$@" --json "$out/$name.json" >/dev/null
}
ev mixste "$mixste"
ev default "$wrapper"                                   # the checkpoint's own sampler
ev h20 "$wrapper" -H 20
ev eta0-h1 "$wrapper" --eta 0 -H 1
ev s2-k1 "$wrapper" --start-step 2 --steps 1
ev s10-k4 "$wrapper" --start-step 10 --steps 4
ev s20-k4 "$wrapper" --start-step 20 --steps 4
ev median "$wrapper" --aggregation median
ev h50 "$wrapper" -H 50                                   # session 12: more hypotheses
ev s2-k1-h20 "$wrapper" --start-step 2 --steps 1 -H 20
ev s10-k2-h20 "$wrapper" --start-step 10 --steps 2 -H 20
python3 - "$out" <<'PY'
import json, sys
from pathlib import Path
print(f"{'setting':10} {'MPJPE':>7} {'sym gap':>8} {'seg std':>8}  sampling")
for f in sorted(Path(sys.argv[1]).glob("*.json"), key=lambda p: p.stat().st_mtime):
    d = json.loads(f.read_text())
    m = d["metrics_mm"]
    s = d.get("sampling") or {}
    print(f"{f.stem:10} {m['mpjpe']['frame_weighted']:7.1f} {m['symmetry_gap']['frame_weighted']:8.1f}"
          f" {m['segment_std']['frame_weighted']:8.2f}  {s}")
PY
