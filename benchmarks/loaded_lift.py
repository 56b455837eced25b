"""Lifting on a loaded machine (issue #18): ``diffhpe lift sample`` frames/s with the
default thread policy against OpenMP's spinning ``ACTIVE`` wait, while other processes
use the cores.

Each repeat runs ``diffhpe lift sample -o TMP.npz`` in a fresh process, once with
``OMP_WAIT_POLICY`` unset (diffhpe then sets ``PASSIVE`` before torch starts) and once
with ``OMP_WAIT_POLICY=ACTIVE`` (the OpenMP default diffhpe replaced), alternating, and
reads the lifting rate the command prints. ``--load N`` starts N busy-looping processes
for the duration (0: measure under whatever load the machine already has, e.g. a
training run); the 1-minute load average is recorded.

    python benchmarks/loaded_lift.py --repeats 3            # beside a running training job
    python benchmarks/loaded_lift.py --repeats 3 --load 2   # on an idle machine
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import RESULTS, write_results

RATE = re.compile(r"lifting ([0-9.]+) frames/s")


def _spin(stop: float) -> None:
    while time.time() < stop:
        pass


def lift_rate(policy: str | None) -> float:
    """Frames/s of one ``diffhpe lift sample`` run with ``OMP_WAIT_POLICY=policy``."""
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "diffhpe", "lift", "sample", "-o", str(Path(tmp) / "o.npz")]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    m = RATE.search(out.stdout + out.stderr)
    if not m:
        raise RuntimeError(f"no rate in the output of {' '.join(cmd)}:\n{out.stdout}{out.stderr}")
    return float(m.group(1))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--load", type=int, default=0, help="busy processes to start (0: none)")
    p.add_argument("--json", default=str(RESULTS / "loaded-lift.json"))
    args = p.parse_args()
    spinners = [mp.Process(target=_spin, args=(time.time() + 3600,)) for _ in range(args.load)]
    for s in spinners:
        s.start()
    rows = []
    try:
        time.sleep(2 if args.load else 0)
        for i in range(args.repeats):
            for name, policy in (("default (diffhpe sets PASSIVE)", None), ("ACTIVE", "ACTIVE")):
                load = os.getloadavg()[0]
                rate = lift_rate(policy)
                rows.append({"repeat": i, "policy": name, "frames_per_s": rate, "load_1m": load})
                print(f"{name:<32} {rate:8.1f} frames/s (load {load:.2f})", flush=True)
    finally:
        for s in spinners:
            s.terminate()
    summary = {
        name: statistics.median(r["frames_per_s"] for r in rows if r["policy"] == name)
        for name in {r["policy"] for r in rows}
    }
    write_results(args.json, "loaded_lift", False, 0, False, rows=rows, median=summary,
                  extra_load_processes=args.load)  # fmt: skip
    print(f"medians: {summary}; wrote {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
