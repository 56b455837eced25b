"""Section 5 (optional diagnosis): why a wrapper may trail its MixSTE; x0 recovered in one
step at each noise level, for each listed diffusion checkpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from diffhpe.experiments.cache import Evaluator
from diffhpe.experiments.manifest import Manifest
from diffhpe.experiments.markdown import md_table, num
from diffhpe.experiments.notes import checkpoint_path
from diffhpe.experiments.provenance import _validation_curve


@dataclass(frozen=True)
class Profile:
    """One listed checkpoint: its cached denoising profile, or the "not run" lines."""

    path: str | None  # None: the file is missing
    profile: dict[str, Any] | None
    missing: tuple[str, ...] = ()


def collect(m: Manifest, ev: Evaluator) -> tuple[Profile, ...] | None:
    """Run or reuse one profile per listed checkpoint; None without a ``denoising`` block."""
    dn = m.denoising
    if dn is None:
        return None
    out = []
    for ckpt in dn.checkpoints:
        missing: list[str] = []
        path = checkpoint_path(ckpt, "denoising.checkpoints", missing)
        if path is None:
            out.append(Profile(None, None, tuple(missing)))
        else:
            out.append(Profile(path, ev.profile(path, dn.steps, dn.subset)))
    return tuple(out)


def render(m: Manifest, profiles: tuple[Profile, ...] | None) -> list[str]:
    dn = m.denoising
    if dn is None or profiles is None:  # an optional diagnosis: no section at all
        return []
    lines = ["## 5. Diagnosis: denoising by noise level", ""]
    lines += [
        "Each test window's ground truth is noised to step t (eq. 3), the model predicts "
        "the noise once and x0 is recovered from it (eq. 4). Large t: x_t holds almost no "
        "signal, so the pose must come from the conditioning; the eps-prediction loss "
        "(eq. 7) weighs an x0 error there by alpha_bar_t / (1 - alpha_bar_t), i.e. hardly "
        f"at all. Subset: {dn.subset.describe()}, no occlusion.",
        "",
    ]
    for entry in profiles:
        path, prof = entry.path, entry.profile
        if path is None or prof is None:
            lines += [f"- {x}" for x in entry.missing] + [""]
            continue
        rows = [
            [
                str(row["t"] + 1),
                f"{row['alpha_bar']:.4f}",
                f"{row['eps_mse']:.4f}",
                num(row["x0_mpjpe_mm"]),
                num(row["x0_mpjpe_clipped_mm"]),
            ]
            for row in prof["steps"]
        ]
        clip = prof.get("clip_x0")
        lines += [
            f"`{path}` ({prof['frames']} frames, {prof['seconds']:.0f} s; "
            f"[{prof['file']}](results/{prof['file']})):",
            "",
        ]
        lines += md_table(
            ["t (paper)", "alpha_bar_t", "eps MSE", "x0 MPJPE (mm)",
             f"x0 clipped to {clip:g} m (mm)" if clip else "x0, no clipping (mm)"],
            rows,
        )  # fmt: skip
        curve = _validation_curve(path)
        if curve:
            lines += [
                "",
                "Validation MPJPE while training (mm, the run's own sampler): "
                + ", ".join(f"step {s}: {v:.1f}" for s, v in curve),
            ]
        lines += [""]
    return lines
