"""The samplers by name: what each builds and which sampling settings it honours.

The command line's choices and help, config validation, the experiment manifest, the
checks of sampling flags and ``inference.make_sampler`` all read :data:`SAMPLERS`.
Adding a sampler: one class or function in ``samplers.py`` plus one entry here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from .samplers import DDIMSampler, DDPMSampler, Sampler
from .schedule import NoiseSchedule

# Where the reverse process starts: pure noise at step T-1 (eq. 8, the paper) or the
# wrapper's MixSTE estimate noised to ``start_step`` (SDEdit-style).
INITS = ("noise", "backbone")

# The settings a sampler may or may not honour (the others, hypotheses, aggregation and
# init, apply to every sampler).
SAMPLER_OPTIONS = ("steps", "eta", "clip_x0", "start_step")


class SamplerFactory(Protocol):
    """Builds a sampler on ``schedule``; settings it does not honour are ignored."""

    def __call__(
        self,
        schedule: NoiseSchedule,
        *,
        steps: int,
        eta: float,
        clip_x0: float | None,
        start_step: int | None,
    ) -> Sampler: ...


@dataclass(frozen=True)
class SamplerSpec:
    """One registered sampler."""

    name: str
    build: SamplerFactory
    honours: frozenset[str]  # of SAMPLER_OPTIONS
    visits: str  # the steps it visits, for messages: "every step"
    help: str  # after its name in --sampler's help: "runs every step"


def _ddpm(
    schedule: NoiseSchedule, *, clip_x0: float | None, start_step: int | None, **_: object
) -> Sampler:
    """Every step of the schedule: ``steps`` and ``eta`` do not apply."""
    return DDPMSampler(schedule, clip_x0=clip_x0, start_step=start_step)


def _ddim(
    schedule: NoiseSchedule,
    *,
    steps: int,
    eta: float,
    clip_x0: float | None,
    start_step: int | None,
) -> Sampler:
    return DDIMSampler(schedule, steps, eta=eta, clip_x0=clip_x0, start_step=start_step)


SAMPLERS: dict[str, SamplerSpec] = {
    "ddpm": SamplerSpec(
        "ddpm", _ddpm, frozenset({"clip_x0", "start_step"}), "every step", "runs every step"
    ),
    "ddim": SamplerSpec(
        "ddim", _ddim, frozenset(SAMPLER_OPTIONS), "--steps of the steps", "--steps of them"
    ),
}


def sampler_names() -> tuple[str, ...]:
    """The registered samplers, in registry order."""
    return tuple(SAMPLERS)


def one_of(names: Iterable[str]) -> str:
    """``'a'``, ``'a' or 'b'``, ``'a', 'b' or 'c'``: choices for a message."""
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def sampler_spec(name: str, where: str = "diffusion.sampler") -> SamplerSpec:
    """The spec of sampler ``name``; an unknown name is an error naming ``where``."""
    if name not in SAMPLERS:
        raise ValueError(f"{where} must be {one_of(SAMPLERS)}, got {name!r}")
    return SAMPLERS[name]


def honouring(option: str) -> tuple[str, ...]:
    """The samplers that honour ``option`` (one of :data:`SAMPLER_OPTIONS`)."""
    return tuple(n for n, s in SAMPLERS.items() if option in s.honours)
