"""Section 6: the claims' verdicts, after a line on how many checkpoints converged."""

from __future__ import annotations

from diffhpe.experiments.claims import Claim
from diffhpe.experiments.provenance import CheckpointInfo


def training_status(infos: list[CheckpointInfo]) -> list[str]:
    """One line on how many of the page's checkpoints converged on validation, then the
    others with why they stopped (from each run's saved stop reason)."""
    if not infos:
        return []
    done = [i for i in infos if i.ended_by.startswith("converged")]
    lines = [
        f"Training: {len(done)} of {len(infos)} checkpoints on this page ended converged on the "
        "validation split (`train.early_stop`); verdicts that rest on the others are on models "
        "trained for a budget, not to convergence."
    ]
    if len(done) < len(infos):
        lines += ["", "<details><summary>Checkpoints not converged</summary>", ""]
        lines += [f"- `{i.path}`: {i.ended_by}" for i in infos if i not in done]
        lines += ["", "</details>"]
    return lines + [""]


def render(claims: list[Claim], infos: list[CheckpointInfo] | None = None) -> list[str]:
    lines = [
        "## 7. Claims",
        "",
        "Each verdict is computed from the numbers above (frame-weighted means); none is typed by hand.",
        "",
        *training_status(infos or []),
    ]
    for c in claims:
        lines.append(f"- **{c.verdict}**: {c.statement}. Measured: {c.evidence}.")
    return lines + [""]
