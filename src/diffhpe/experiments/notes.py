"""The lines sections add under their tables: "not run" lines, and checks that each
checkpoint is what its place on the page says (wrapper on its MixSTE, training occlusion)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from diffhpe.checkpoint import weights_digest
from diffhpe.experiments.cache import Evaluation
from diffhpe.experiments.manifest import OcclusionManifest
from diffhpe.experiments.markdown import DISPLAY

MISSING_FILE = "not run: checkpoint "  # how a "not run" line names a checkpoint file not there


def checkpoint_path(path: str | None, where: str, missing: list[str]) -> str | None:
    """``path`` if the file exists; otherwise None and a "not run" line in ``missing``."""
    if path is None:
        missing.append(f"not run: `{where}` is not in the manifest")
        return None
    if not Path(path).is_file():
        missing.append(f"{MISSING_FILE}{path} missing (`{where}`)")
        return None
    return path


def unique(evals: Iterable[Evaluation | None]) -> list[Evaluation]:
    seen: dict[str, Evaluation] = {}
    for e in evals:
        if e is not None:
            seen.setdefault(e.file.name, e)
    return list(seen.values())


def backbone_notes(pairs: Iterable[tuple[Evaluation | None, Evaluation | None]]) -> list[str]:
    """Check that each (wrapper, MixSTE) pair compared on the page shares its MixSTE.

    A wrapper bundles the frozen MixSTE it was trained on (``model.backbone.*``); a
    comparison "wrapper vs its MixSTE" holds only when those tensors equal the listed
    MixSTE's (``model.*``). One line per mismatch, or one line saying all pairs matched.
    """
    unique = {
        (w.info.path, b.info.path)
        for w, b in pairs
        if w is not None and b is not None
        and w.info.kind == "wrapper" and b.info.kind == "mixste"
    }  # fmt: skip
    checked, notes = len(unique), []
    for w, b in sorted(unique):
        if weights_digest(w, "model.backbone.") != weights_digest(b, "model."):
            notes.append(
                f"- note: the MixSTE inside `{w}` is not `{b}` (their weights differ), so "
                "this is not a comparison of a wrapper with its own MixSTE"
            )
    if checked and not notes:
        notes.append(
            f"- checked: {checked} wrapper-MixSTE pair(s) compared here; in each, the "
            "wrapper's frozen MixSTE has exactly the listed MixSTE's weights"
        )
    return sorted(set(notes))


def occlusion_notes(
    table: Mapping[str, Mapping[str, Evaluation | None]], occ: OcclusionManifest
) -> list[str]:
    """Flag checkpoints whose recorded training occlusion differs from their manifest role."""
    notes = []
    for col, cells in table.items():
        for p, e in cells.items():
            if e is None:
                continue
            trained = e.info.train_occlusion
            if col == "wrapper_on_vanilla":
                if e.info.backbone_occlusion not in (None, "none"):
                    notes.append(
                        f"- note: `{e.info.path}` (listed as {DISPLAY[col]}) has a MixSTE trained with `{e.info.backbone_occlusion}`"
                    )
                if not isinstance(occ.wrapper_on_vanilla, str) and trained != p:
                    notes.append(
                        f"- note: `{e.info.path}` (listed for `{p}`) was trained with occlusion `{trained}`"
                    )
            else:
                if trained != p:
                    notes.append(
                        f"- note: `{e.info.path}` (listed for `{p}`) was trained with occlusion `{trained}`"
                    )
                if col == "wrapper" and e.info.backbone_occlusion not in (None, p):
                    notes.append(
                        f"- note: `{e.info.path}` (listed for `{p}`) has a MixSTE trained with `{e.info.backbone_occlusion}`"
                    )
    return sorted(set(notes)) + ([""] if notes else [])
