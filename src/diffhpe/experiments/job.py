"""What one evaluation of the page is: a checkpoint under a test occlusion, sampling and subset."""

from __future__ import annotations

from dataclasses import dataclass, field

from diffhpe.sampling import SamplingOverride

# The sampling of one evaluation (None: the checkpoint's; its ``hypotheses`` stay None:
# ``Job.hypotheses`` holds them). The old name of diffhpe.sampling.SamplingOverride.
SamplerSetting = SamplingOverride


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
    sampler: SamplingOverride = field(default_factory=SamplingOverride)
    subset: Subset = field(default_factory=Subset)
