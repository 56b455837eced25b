"""What one evaluation of the page is: a checkpoint under a test occlusion, sampling and subset."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SamplerSetting:
    """Sampling overrides of one evaluation; None keeps the checkpoint's value."""

    sampler: str | None = None
    steps: int | None = None
    eta: float | None = None
    aggregation: str | None = None
    clip_x0: float | None = None  # metres; 0: no clipping
    init: str | None = None  # "noise" | "backbone"
    start_step: int | None = None  # with init "backbone"

    def label(self) -> str:
        """Short name for files and tables, e.g. ``ddim10``, ``ddpm-noclip``, ``default``,
        ``ddim4-from-backbone10``."""
        name = self.sampler or "default"
        if self.steps is not None and self.sampler != "ddpm":
            name += str(self.steps)
        if self.eta is not None:
            name += f"-eta{self.eta:g}"
        if self.aggregation is not None:
            name += f"-{self.aggregation}"
        if self.clip_x0 is not None:
            name += "-noclip" if self.clip_x0 == 0 else f"-clip{self.clip_x0:g}"
        if self.init == "noise":
            name += "-from-noise"
        elif self.init == "backbone":
            name += f"-from-backbone{'' if self.start_step is None else self.start_step}"
        return name


@dataclass(frozen=True)
class Subset:
    """Which test frames: cameras (None: all four), every ``stride``-th frame, a window cap."""

    cameras: tuple[str, ...] | None = None
    stride: int = 1
    max_windows: int = 0  # 0: the manifest's eval.max_windows
    window_stride: int = 1  # every k-th window

    def label(self) -> str:
        parts = ["cam" + "+".join(self.cameras)] if self.cameras else ["allcams"]
        if self.stride != 1:
            parts.append(f"stride{self.stride}")
        if self.window_stride != 1:
            parts.append(f"wstride{self.window_stride}")
        if self.max_windows:
            parts.append(f"max{self.max_windows}")
        return "-".join(parts)

    def describe(self) -> str:
        cams = ", ".join(self.cameras) if self.cameras else "all four"
        frames = f"1 frame in {self.stride}" if self.stride != 1 else "every frame"
        windows = f", first {self.max_windows} windows" if self.max_windows else ""
        if self.window_stride != 1:
            windows += f", one window in {self.window_stride} (27 frames at the full rate)"
        return f"cameras {cams}, {frames}{windows}"


@dataclass(frozen=True)
class Job:
    """One evaluation: a checkpoint under a test occlusion, sampling and subset."""

    checkpoint: str
    occlusion: str = "none"
    hypotheses: int | None = None
    sampler: SamplerSetting = field(default_factory=SamplerSetting)
    subset: Subset = field(default_factory=Subset)
