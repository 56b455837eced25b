"""docs/ROBUSTNESS.md: what real 2D costs a model, measured with ``diffhpe evaluate``.

For each checkpoint, on the open test split (camera 54138969 of the Human3.6M build, every
frame), with exact 2D unless said:

- each of the 17 joints missing in every frame (``--occlusion missing:JOINT``), and the
  head joints a detector family may lack (``missing:head``);
- the 2D joint-definition families (``--family exact|mpii|coco``);
- detected 2D (``--detector det``);
- the virtual-camera test split (``--data-root data/open-virtual``: 4 drawn cameras per
  clip), exact and detected.

Each row is one ``diffhpe evaluate`` call (its command is on the page); results are cached
as JSON beside the page (``docs/results/robustness/``), keyed by the checkpoint's SHA-256
and the options, so a rerun only evaluates what changed.

    python scripts/robustness.py CKPT [CKPT ...] [--out docs/ROBUSTNESS.md]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import sys
from dataclasses import asdict, replace
from pathlib import Path

from diffhpe.checkpoint import file_sha256
from diffhpe.evaluation import EvalOptions, evaluate
from diffhpe.experiments import evaluate_command
from diffhpe.skeleton import JOINT_NAMES

CAMERA = "54138969"
REPO = Path(__file__).resolve().parents[1]


def settings(bench: str, virtual: str, split: str = "test") -> list[tuple[str, str, EvalOptions]]:
    """(group, label, options) of every row."""
    base = EvalOptions(split=split, cameras=[CAMERA], data_root=bench, detector="gt")
    rows = [("reference", "exact 2D, every joint visible", base)]
    for j in JOINT_NAMES:
        rows.append(
            ("missing", f"{j} missing in every frame", replace(base, occlusion=f"missing:{j}"))
        )
    rows.append(("missing", "Neck/Nose and Head missing (no face)",
                 replace(base, occlusion="missing:head")))  # fmt: skip
    for fam in ("mpii", "coco"):
        rows.append(("family", f"{fam} joint definitions", replace(base, family=fam)))
    rows.append(("detected", "detected 2D (noise model)", replace(base, detector="det")))
    vbase = replace(base, cameras=None, data_root=virtual)
    rows.append(("virtual", "virtual cameras, exact 2D", vbase))
    rows.append(("virtual", "virtual cameras, detected 2D", replace(vbase, detector="det")))
    return rows


def run(ckpt: str, o: EvalOptions, cache: Path) -> dict:
    key = {"checkpoint_sha256": file_sha256(ckpt), "options": asdict(o)}
    name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    path = cache / f"{Path(ckpt).parent.name}-{name}.json"
    if path.exists():
        stored = json.loads(path.read_text())
        if stored.get("key") == key:
            return stored
    summary = evaluate(ckpt, o, progress=False)
    m = summary["metrics_mm"]
    out = {"key": key, "command": evaluate_command(o, ckpt), "frames": summary["frames"],
           "mpjpe": m["mpjpe"]["frame_weighted"], "p_mpjpe": m["p_mpjpe"]["frame_weighted"]}  # fmt: skip
    cache.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoints", nargs="+")
    p.add_argument("--bench", default="data/open")
    p.add_argument("--virtual", default="data/open-virtual")
    p.add_argument("--out", type=Path, default=REPO / "docs" / "ROBUSTNESS.md")
    p.add_argument("--labels", nargs="+", default=None,
                   help="column names, one per checkpoint (default: their paths)")  # fmt: skip
    p.add_argument("--note", default="", help="a paragraph under the table's introduction")
    p.add_argument("--split", default="test",
                   help="test (reported numbers) or validation (to choose a model)")  # fmt: skip
    args = p.parse_args()
    cache = args.out.parent / "results" / "robustness"
    rows = settings(args.bench, args.virtual, args.split)
    results = {}
    for ckpt in args.checkpoints:
        for _, label, o in rows:
            results[ckpt, label] = run(ckpt, o, cache)
            print(f"{ckpt} | {label}: {results[ckpt, label]['mpjpe']:.1f} mm", file=sys.stderr)
    if args.labels is not None and len(args.labels) != len(args.checkpoints):
        p.error(f"--labels: give one per checkpoint ({len(args.checkpoints)})")
    names = args.labels or [f"`{c}`" for c in args.checkpoints]
    lines = [
        "# Robustness to real 2D",
        "",
        "_Written by `python scripts/robustness.py "
        + shlex.join(sys.argv[1:])
        + "`; every number is one `diffhpe evaluate` run (its command is in "
        "`docs/results/robustness/`)._",
        "",
        f"Open {args.split} split, camera {CAMERA} of the Human3.6M build (every frame) unless the "
        "row says virtual cameras (the `data/open-virtual` build: the same test clips, 4 drawn "
        "cameras each). Exact 2D unless the row says detected. MPJPE in mm; in brackets, the "
        "change from the first row of the same model.",
        "",
        *([args.note, ""] if args.note else []),
        "| setting | " + " | ".join(names) + " |",
        "|:--|" + "--:|" * len(names),
    ]
    for group, label, _ in rows:
        cells = []
        for c in args.checkpoints:
            v = results[c, label]["mpjpe"]
            ref = results[c, rows[0][1]]["mpjpe"]
            cells.append(f"{v:.1f}" if group == "reference" else f"{v:.1f} ({v - ref:+.1f})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    worst = {
        c: max(
            (results[c, label]["mpjpe"] - results[c, rows[0][1]]["mpjpe"], label)
            for group, label, _ in rows
            if group == "missing"
        )
        for c in args.checkpoints
    }
    lines += ["", "Largest cost of one absence (issue #15 asks for at most 10 mm):", ""]
    for name, (cost, label) in zip(names, worst.values(), strict=True):
        lines.append(f"- {name}: {cost:+.1f} mm ({label})")
    lines.append("")
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
