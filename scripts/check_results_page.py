"""Regenerate docs/RESULTS.md into a temporary folder with evaluation forbidden; diff it.

Usage: python scripts/check_results_page.py [--docs docs]

Exits 0 when the page comes out byte-identical from the stored results alone (0 evaluations
run), 1 with a unified diff otherwise. Refactors of the experiment runner (issue 17) must
keep this passing.
"""

from __future__ import annotations

import argparse
import difflib
import shutil
import sys
import tempfile
from pathlib import Path


def _forbidden(*args: object, **kwargs: object) -> None:
    raise RuntimeError("an evaluation was started: the stored results no longer match the page")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", default="docs", help="folder holding RESULTS.md and results/")
    args = ap.parse_args()
    import diffhpe.experiments.cache as cache
    from diffhpe.experiments.page import run_paper_experiment

    cache.evaluate = _forbidden  # type: ignore[assignment]
    cache.denoising_profile = _forbidden  # type: ignore[assignment]
    docs = Path(args.docs)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        shutil.copytree(docs / "results", out / "results")
        res = run_paper_experiment(None, out, force=False, progress=False, prune=False)
        # the page names a non-default --out in its command line; the check writes elsewhere
        new = (out / "RESULTS.md").read_text().replace(f" --out {out}", "")
    old = (docs / "RESULTS.md").read_text()
    print(f"{res['evaluations_run']} evaluations run, {res['evaluations_reused']} reused")
    if new == old and res["evaluations_run"] == 0:
        print("RESULTS.md: identical")
        return 0
    diff = difflib.unified_diff(
        old.splitlines(True), new.splitlines(True), "docs/RESULTS.md", "regenerated"
    )
    sys.stdout.writelines(diff)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
