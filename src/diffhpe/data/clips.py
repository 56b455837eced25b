"""Which clips the open benchmark holds: found under the data root, each in a split.

Protocol (``../shared/data/README.md``): split by person, like Human3.6M's
S1/S5/S6/S7/S8 versus S9/S11.

- train: CMU 01, 02, 08-13, 131; HDM05 bd, bk
- validation (selection only): CMU 14
- test (reported numbers only): CMU 03; HDM05 dg

Extrinsics: Human3.6M recalibrated the same four cameras for every subject; train clips
cycle through the extrinsics of S1, S5, S6, S7, S8 (Human3.6M's training subjects),
validation clips use S9 and test clips S11, so the test views are calibrations no
training clip was rendered with. Each clip also gets a seeded random yaw
(:func:`plan_clips`; rendering: :mod:`diffhpe.data.render_clips`).

Split file (``diffhpe data build --splits FILE``, ``build_benchmark(splits=...)``):
another partition of the folders found, e.g. a new test set. YAML or JSON, each split a
list of names; an absent split is empty::

    train: [CMU01, CMU02, cmu_bvh_daz/08, HDM_bd]  # subjects or folders
    validation: [CMU14]
    test: [CMU03, "HDM_dg_kickLFront1Reps_013"]  # clip ids pick single clips

A name is a subject (``CMU03``, ``HDM_dg``, ``CMU131``), a folder under the data root
(``cmu_asfamc/03``, ``hdm05/dg``, ``cmu_bvh_daz/14``, ``cmu_bvh_131``), a clip id
(``03_01``) or ``SUBJECT/CLIP``. Unknown names are errors listing the subjects and
folders found; a clip may be in one split only, and a subject's clips all in the same
split (the benchmark splits by person). Clips found but in no split are skipped and
reported (``skipped`` in ``benchmark.json`` and the printed summary), with the
protocol too. Quote clip ids in YAML (``'03_01'``), which would read them as numbers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SPLITS: dict[str, tuple[str, ...]] = {
    "train": (
        "CMU01", "CMU02", "CMU08", "CMU09", "CMU10", "CMU11", "CMU12", "CMU13", "CMU131",
        "HDM_bd", "HDM_bk",
    ),
    "validation": ("CMU14",),
    "test": ("CMU03", "HDM_dg"),
}  # fmt: skip
EXTRINSICS: dict[str, tuple[str, ...]] = {
    "train": ("S1", "S5", "S6", "S7", "S8"),
    "validation": ("S9",),
    "test": ("S11",),
}


@dataclass
class Clip:
    """One motion file of the open data and where it goes in the benchmark."""

    subject: str
    clip_id: str
    path: str
    asf: str | None
    split: str
    action: str
    extrinsics: str = ""
    yaw_deg: float = 0.0
    index: int = 0


def split_of(subject: str) -> str:
    for split, subjects in SPLITS.items():
        if subject in subjects:
            return split
    raise KeyError(f"subject {subject!r} is in no split of the protocol")


def _cmu_index(root: Path) -> dict[str, str]:
    """Clip id -> description, from ``cmu_bvh_daz/CMU-INDEX.md`` and 131's SOURCE.md."""
    names: dict[str, str] = {}
    for f in (root / "cmu_bvh_daz" / "CMU-INDEX.md", root / "cmu_bvh_131" / "SOURCE.md"):
        if f.exists():
            for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
                m = re.match(r"^\s*(\d+_\d+)\s+(.+?)\s*$", line)
                if m:
                    names.setdefault(m.group(1), m.group(2))
    return names


def discover_clips(
    root: str | Path, splits: str | Path | Mapping[str, Sequence[str]] | None = None
) -> list[Clip]:
    """Every clip of the protocol (or of a split file, see :func:`plan_clips`) found
    under ``root`` (``../shared/data``), sorted."""
    return plan_clips(root, splits)[0]


def _find_clips(root: Path) -> list[tuple[Clip, str]]:
    """Every motion clip under ``root`` with its folder (relative, e.g. ``cmu_asfamc/01``);
    ``split`` is left empty."""
    index = _cmu_index(root)
    found: list[tuple[Clip, str]] = []

    def add(subject: str, clip_id: str, path: Path, asf: Path | None, action: str) -> None:
        clip = Clip(subject, clip_id, str(path), str(asf) if asf else None, "", action)
        found.append((clip, path.parent.relative_to(root).as_posix()))

    for d in sorted((root / "cmu_asfamc").glob("*")):
        asfs = sorted(d.glob("*.asf"))
        for amc in sorted(d.glob("*.amc")):
            add(
                f"CMU{d.name}",
                amc.stem,
                amc,
                asfs[0] if asfs else None,
                index.get(amc.stem, "unknown"),
            )
    for d in sorted((root / "hdm05").glob("*")):
        asfs = sorted(d.glob("*.asf"))
        for amc in sorted(d.glob("*.amc")):
            # HDM_bd_kickRSide2Reps_003_120 -> action kickRSide2Reps, clip id without rate
            parts = amc.stem.split("_")
            action = parts[2] if len(parts) > 2 else amc.stem
            clip_id = "_".join(parts[:-1]) if parts[-1] == "120" else amc.stem
            add(f"HDM_{d.name}", clip_id, amc, asfs[0] if asfs else None, action)
    for d in sorted((root / "cmu_bvh_daz").glob("*")):
        for bvh in sorted(d.glob("*.bvh")):
            add(f"CMU{d.name}", bvh.stem, bvh, None, index.get(bvh.stem, "unknown"))
    for bvh in sorted((root / "cmu_bvh_131").glob("*.bvh")):
        add("CMU131", bvh.stem, bvh, None, index.get(bvh.stem, "unknown"))
    return found


def read_split_file(path: str | Path) -> dict[str, list[str]]:
    """A split file (YAML, or JSON): ``{train: [...], validation: [...], test: [...]}``
    naming subjects (``CMU03``, ``HDM_dg``), folders (``cmu_asfamc/03``, ``hdm05/dg``) or
    clip ids (``03_01``, ``CMU03/03_01``); an absent split is empty. Names must be strings
    (quote ``'03_01'`` in YAML, which would read it as a number)."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"split file {path}: cannot read it ({e})") from None
    try:
        doc = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        why = " ".join(str(e).split())
        raise ValueError(
            f"split file {path}: not valid {path.suffix[1:] or 'YAML'} ({why})"
        ) from None
    return check_splits(doc, f"split file {path}")


def check_splits(doc: object, where: str = "splits") -> dict[str, list[str]]:
    """``{split: [names]}`` with the known split names and string names, else ValueError."""
    if not isinstance(doc, Mapping):
        raise ValueError(
            f"{where}: expected a mapping {{train: [...], validation: [...], test: [...]}}, "
            f"got {type(doc).__name__}"
        )
    unknown = [str(k) for k in doc if k not in SPLITS]
    if unknown:
        raise ValueError(f"{where}: unknown splits {unknown}; expected some of {list(SPLITS)}")
    out: dict[str, list[str]] = {}
    for split in SPLITS:
        names = doc.get(split) or []
        if isinstance(names, str) or not isinstance(names, Sequence):
            raise ValueError(f"{where}: '{split}' must be a list of names, got {names!r}")
        for i, name in enumerate(names):
            if not isinstance(name, str) or not name.strip():
                raise ValueError(
                    f"{where}: {split}[{i}] = {name!r} is not a name; write subjects, folders "
                    "and clip ids as strings (in YAML quote them, e.g. '03_01')"
                )
        out[split] = [n.strip().strip("/") for n in names]
    if not any(out.values()):
        raise ValueError(f"{where}: every split is empty")
    return out


def _assign_from_file(
    found: list[tuple[Clip, str]], splits: dict[str, list[str]], where: str, root: Path
) -> None:
    """Set each found clip's split from the split file's names (in place)."""
    unknown: list[str] = []
    for split, names in splits.items():
        for name in names:
            hits = [
                (c, folder)
                for c, folder in found
                if name in (c.subject, folder, c.clip_id, f"{c.subject}/{c.clip_id}")
            ]
            if not hits:
                unknown.append(name)
            for c, _ in hits:
                if c.split and c.split != split:
                    raise ValueError(
                        f"{where}: {c.subject}/{c.clip_id} is in both {c.split!r} and "
                        f"{split!r} ({name!r}); each clip goes in one split"
                    )
                c.split = split
    if unknown:
        subjects = sorted({c.subject for c, _ in found})
        folders = sorted({f for _, f in found})
        raise ValueError(
            f"{where}: unknown names {unknown}: no such subject, folder or clip id under "
            f"{root}; subjects found: {subjects}; folders: {folders} (or a clip id such as "
            f"{found[0][0].clip_id!r})"
            if found
            else f"{where}: unknown names {unknown}: no motion clips under {root}"
        )
    by_subject: dict[str, set[str]] = {}
    for c, _ in found:
        if c.split:
            by_subject.setdefault(c.subject, set()).add(c.split)
    mixed = {s: sorted(v) for s, v in by_subject.items() if len(v) > 1}
    if mixed:
        raise ValueError(
            f"{where}: subjects with clips in several splits: {mixed}; the benchmark splits "
            "by person (like Human3.6M), so a subject's clips go in one split"
        )


def plan_clips(
    root: str | Path, splits: str | Path | Mapping[str, Sequence[str]] | None = None
) -> tuple[list[Clip], list[dict]]:
    """The clips to build and what was skipped.

    ``splits``: None for the protocol (:data:`SPLITS`), or a split file / mapping (see
    :func:`read_split_file`); unknown names are errors. Returns the clips in a split
    (sorted by source, folder and file) and, per subject found but with clips in no
    split, ``{"subject", "folder", "clips"}`` (the number of clips skipped).
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data root {root} does not exist (expected ../shared/data)")
    found = _find_clips(root)
    if splits is None:
        protocol = {s for ss in SPLITS.values() for s in ss}
        for c, _ in found:
            c.split = split_of(c.subject) if c.subject in protocol else ""
    else:
        if isinstance(splits, (str, Path)):
            doc, where = read_split_file(splits), f"split file {splits}"
        else:
            doc, where = check_splits(splits), "splits"
        _assign_from_file(found, doc, where, root)
    clips = [c for c, _ in found if c.split]
    skipped: dict[tuple[str, str], int] = {}
    for c, folder in found:
        if not c.split:
            skipped[(c.subject, folder)] = skipped.get((c.subject, folder), 0) + 1
    if not clips:
        raise FileNotFoundError(
            f"{root}: no motion clips found (expected cmu_asfamc/, hdm05/, cmu_bvh_*)"
            + (
                f"; found only subjects in no split: {sorted({s for s, _ in skipped})}"
                if skipped
                else ""
            )
        )
    rng = np.random.default_rng(12345)  # placement only; independent of the noise seed
    counters: dict[str, int] = {}
    for i, c in enumerate(clips):
        k = counters.get(c.split, 0)
        counters[c.split] = k + 1
        pool = EXTRINSICS[c.split]
        c.extrinsics = pool[k % len(pool)]
        c.yaw_deg = float(rng.uniform(-180, 180))
        c.index = i
    report = [{"subject": s, "folder": f, "clips": n} for (s, f), n in sorted(skipped.items())]
    return clips, report
