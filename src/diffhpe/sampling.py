"""One sampling override: the sampling settings of one evaluation, lift or shipping.

:class:`SamplingOverride` holds sampler, steps, eta, hypotheses, aggregation, clip_x0, init
and start_step, each None for "the checkpoint's". It is applied to a
:class:`~diffhpe.config.DiffusionConfig`, added to and read from a command line (with the
checks of flags that would be ignored), turned back into flags for a reproducing command,
and described as a dict for summaries, lift outputs and exports. The samplers and their
settings come from :mod:`diffhpe.diffusion.registry`, the aggregations from
:data:`diffhpe.diffusion.aggregate.METHODS`.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from diffhpe.config import DiffusionConfig, RunConfig, validate_sampling
from diffhpe.diffusion.aggregate import METHODS
from diffhpe.diffusion.registry import (
    INITS,
    SAMPLER_OPTIONS,
    SAMPLERS,
    SamplerSpec,
    honouring,
    sampler_spec,
)

# The override's names that differ in DiffusionConfig.
_CONFIG_NAMES = {"steps": "sample_steps"}


@dataclass(frozen=True)
class SamplingOverride:
    """Sampling settings; None keeps the checkpoint's. Field order is the order of
    :meth:`describe` (evaluation summaries, export.json)."""

    sampler: str | None = None  # a name of diffhpe.diffusion.registry.SAMPLERS
    steps: int | None = None  # DiffusionConfig.sample_steps
    eta: float | None = None
    hypotheses: int | None = None
    aggregation: str | None = None  # one of diffhpe.diffusion.aggregate.METHODS
    clip_x0: float | None = None  # metres; 0: no clipping
    init: str | None = None  # one of diffhpe.diffusion.registry.INITS
    start_step: int | None = None  # with init "backbone"

    @staticmethod
    def keys() -> tuple[str, ...]:
        return tuple(f.name for f in fields(SamplingOverride))

    @classmethod
    def of(cls, diff: DiffusionConfig) -> SamplingOverride:
        """Every setting of ``diff`` (nothing left to the checkpoint)."""
        return cls(**{k: getattr(diff, _CONFIG_NAMES.get(k, k)) for k in cls.keys()})

    @classmethod
    def from_config(cls, values: Mapping[str, Any]) -> SamplingOverride:
        """From DiffusionConfig names (``sample_steps``, ...); unknown names are errors."""
        names = {_CONFIG_NAMES.get(k, k): k for k in cls.keys()}
        unknown = set(values) - set(names)
        if unknown:
            raise ValueError(
                f"unknown sampling settings {sorted(unknown)}; expected some of {sorted(names)}"
            )
        return cls(**{names[k]: v for k, v in values.items()})

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> SamplingOverride:
        """From parsed flags (a command without a flag leaves its setting None); check
        them with :meth:`check`."""
        return cls(**{k: getattr(args, k, None) for k in cls.keys()})

    def as_config(self) -> dict[str, Any]:
        """Every setting (None too) by its DiffusionConfig name, in field order."""
        return {_CONFIG_NAMES.get(k, k): v for k, v in self.describe().items()}

    def config_overrides(self) -> dict[str, Any]:
        """The settings given, by their DiffusionConfig names."""
        return {k: v for k, v in self.as_config().items() if v is not None}

    def apply(self, diff: DiffusionConfig) -> DiffusionConfig:
        """A checked copy of ``diff`` with the settings given (see :func:`with_sampling`)."""
        return with_sampling(diff, **self.config_overrides())

    def apply_to(self, cfg: RunConfig) -> RunConfig:
        """A copy of ``cfg`` with :meth:`apply` on its diffusion, checked for its model."""
        diff = self.apply(cfg.diffusion)
        validate_sampling(diff, cfg.model.kind)
        return replace(cfg, diffusion=diff)

    def describe(self, keys: Iterable[str] | None = None) -> dict[str, Any]:
        """The settings as a dict (``keys``: these only, in that order)."""
        return {k: getattr(self, k) for k in (self.keys() if keys is None else keys)}

    def to_flags(self, command: str = "evaluate") -> list[str]:
        """The flags of ``command`` (a key of :data:`COMMAND_KEYS`) for the settings given,
        in its help's order, e.g. ``["-H 5", "--steps 2"]``."""
        out = []
        for key in COMMAND_KEYS[command]:
            f, value = _FLAG[key], getattr(self, key)
            if value is not None:
                out.append(f"{f.short} {format(value, f.fmt) if f.fmt else value}")
        return out

    def label(self) -> str:
        """Short name for files and tables, without the hypotheses: ``ddim10``,
        ``ddpm-noclip``, ``default``, ``ddim4-from-backbone10``."""
        name = self.sampler or "default"
        if self.steps is not None and (self.sampler is None or _honours(self.sampler, "steps")):
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

    def check(
        self, cfg: RunConfig | None = None, name: str = "", also_given: Iterable[str] = ()
    ) -> None:
        """Flags that would be ignored, or mean something else than they say, are errors.
        Without ``cfg`` (the checkpoint's RunConfig, named ``name``) only the checks that
        need none; ``also_given``: other sampling-only flags given (``--oracle``)."""
        from diffhpe.safety import check_hypotheses

        check_hypotheses(self.hypotheses)
        if self.steps is not None and self.steps < 1:
            raise ValueError(f"--steps must be >= 1, got {self.steps}")
        if self.sampler is not None:
            spec = sampler_spec(self.sampler, "--sampler")
            for flag, only in self._ignored_by(spec):
                raise ValueError(
                    f"{flag} applies to {only} only: {spec.name.upper()} runs {spec.visits} "
                    f"from its start; drop {flag} or use --sampler {only}"
                )
        if self.init == "noise" and self.start_step is not None:
            raise ValueError(
                "--start-step applies to --init backbone only: from pure noise sampling starts "
                "at step T-1; drop --start-step or use --init backbone"
            )
        if cfg is None:
            return
        given = [f.shown for f in FLAGS if getattr(self, f.key) is not None] + list(also_given)
        if cfg.model.kind == "mixste":
            if given:
                raise ValueError(
                    f"{', '.join(given)}: {name} is a MixSTE (one deterministic pose, no "
                    "sampling); these flags would be ignored, drop them"
                )
            return
        d = cfg.diffusion
        spec = sampler_spec(self.sampler or d.sampler)
        for flag, only in self._ignored_by(spec):
            raise ValueError(
                f"{flag} applies to {only} only, and {name} samples with {spec.name.upper()} "
                f"({spec.visits}); drop {flag} or add --sampler {only}"
            )
        if self.start_step is not None and (self.init or d.init) == "noise":
            raise ValueError(
                f"--start-step applies to --init backbone only ({name} starts from noise); "
                "add --init backbone or drop --start-step"
            )
        keeps_sampler = self.sampler is None and self.steps is None
        if self.init == "noise" and d.init != "noise" and keeps_sampler:
            raise ValueError(
                f"--init noise alone keeps {name}'s sampler ({d.sampler.upper()} with "
                f"{d.sample_steps} steps, tuned for its backbone start), which is not the "
                f"paper's setting; add --sampler ddpm for the paper's (DDPM over all "
                f"{d.num_steps} steps), or --sampler ddim --steps K"
            )

    def _ignored_by(self, spec: SamplerSpec) -> Iterator[tuple[str, str]]:
        """(flag, samplers honouring it) of each setting given that ``spec`` ignores."""
        for key in SAMPLER_OPTIONS:
            if getattr(self, key) is not None and key not in spec.honours:
                yield _FLAG[key].shown, " or ".join(honouring(key))

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser, command: str = "evaluate") -> None:
        """The sampling flags of ``command`` (a key of :data:`COMMAND_KEYS`), default None."""
        for key in COMMAND_KEYS[command]:
            f = _FLAG[key]
            parser.add_argument(
                *f.names,
                type=f.type,
                choices=list(f.choices) if f.choices else None,
                default=None,
                help=_COMMAND_HELP.get((command, key), f.help),
            )


def with_sampling(diff: DiffusionConfig, **overrides: Any) -> DiffusionConfig:
    """A copy of ``diff`` with the non-None ``overrides`` (DiffusionConfig fields: sampler,
    sample_steps, hypotheses, eta, aggregation, clip_x0, init, start_step), checked. A
    sampler that takes no step count (DDPM) runs every step from ``start_step`` (T-1 by
    default); ``clip_x0=0`` turns clipping off; ``init='noise'`` resets ``start_step``."""
    names = {f.name for f in fields(DiffusionConfig)}
    unknown = set(overrides) - names
    if unknown:
        raise ValueError(
            f"unknown sampling settings {sorted(unknown)}; expected some of {sorted(names)}"
        )
    d = replace(diff, **{k: v for k, v in overrides.items() if v is not None})
    if d.init == "noise":
        d.start_step = None
    if d.sampler in SAMPLERS and not _honours(d.sampler, "steps"):
        d.sample_steps = d.num_steps if d.start_step is None else d.start_step + 1
    if d.clip_x0 == 0:
        d.clip_x0 = None
    validate_sampling(d)
    return d


def _honours(sampler: str, option: str) -> bool:
    return option in sampler_spec(sampler).honours


def _only(option: str) -> tuple[str, str]:
    """(``DDIM``, ``ddim``): the samplers honouring ``option``, for help texts."""
    names = honouring(option)
    return "/".join(n.upper() for n in names), " or ".join(names)


@dataclass(frozen=True)
class Flag:
    """One sampling flag of the command line."""

    key: str  # the SamplingOverride field
    names: tuple[str, ...]  # argparse option strings
    shown: str  # in messages
    short: str  # in a reproducing command
    type: type | None  # None: a string among choices
    help: str
    choices: tuple[str, ...] | None = None
    fmt: str = ""  # format spec of the value in a reproducing command


_DEFAULT = " (default: the checkpoint's)"
_START_HELP = (
    "start of sampling: pure noise at step T-1 (the paper's, with --sampler ddpm) or the "
    "wrapper's MixSTE estimate noised to --start-step (default: the checkpoint's)"
)
_START_STEP_HELP = "0-based step the backbone start is noised to, with --init backbone" + _DEFAULT
_AGGREGATION_HELP = (
    "how hypotheses combine: mean, median, or reproj (per joint the hypothesis whose "
    "reprojection {how} best matches the 2D input; docs/AGGREGATION.md) (default: the "
    "checkpoint's)"
)

# In command-line order: the order of a reproducing command and of the messages.
FLAGS: tuple[Flag, ...] = (
    Flag("hypotheses", ("--hypotheses", "-H"), "-H/--hypotheses", "-H", int,
         "number of hypotheses H, averaged into the pose; their spread is the uncertainty "
         "(1..1000; default: the checkpoint's)"),
    Flag("sampler", ("--sampler",), "--sampler", "--sampler", None,
         "reverse process: " + ", ".join(f"{n} {s.help}" for n, s in SAMPLERS.items())
         + _DEFAULT, tuple(SAMPLERS)),
    Flag("steps", ("--steps",), "--steps", "--steps", int,
         "{} steps K, with --sampler {} only".format(*_only("steps")) + _DEFAULT),
    Flag("eta", ("--eta",), "--eta", "--eta", float,
         f"{_only('eta')[0]} eta, 0 deterministic to 1 stochastic" + _DEFAULT),
    Flag("aggregation", ("--aggregation",), "--aggregation", "--aggregation", None,
         _AGGREGATION_HELP.format(how="through the data's camera calibration"), METHODS),
    Flag("clip_x0", ("--clip-x0",), "--clip-x0", "--clip-x0", float,
         "clip predicted x0 to +-this (metres); 0 turns clipping off" + _DEFAULT, fmt="g"),
    Flag("init", ("--init",), "--init", "--init", None, _START_HELP, INITS),
    Flag("start_step", ("--start-step",), "--start-step", "--start-step", int,
         _START_STEP_HELP),
)  # fmt: skip
_FLAG = {f.key: f for f in FLAGS}

# The sampling flags each command offers, in its help's order.
COMMAND_KEYS: dict[str, tuple[str, ...]] = {
    "evaluate": tuple(_FLAG),
    "lift": ("hypotheses", "sampler", "steps", "aggregation", "init", "start_step"),
    "ship": ("sampler", "steps", "eta", "hypotheses", "clip_x0", "init", "start_step"),
}
_COMMAND_HELP: dict[tuple[str, str], str] = {
    ("lift", "aggregation"): _AGGREGATION_HELP.format(
        how="with the root trajectory's camera, --focal,"
    ),
    ("ship", "sampler"): "default sampler shipped",
    ("ship", "steps"): "default {} steps shipped".format(_only("steps")[0]),
    ("ship", "eta"): "default {} eta shipped (0 deterministic, 1 stochastic)".format(
        _only("eta")[0]
    ),
    ("ship", "hypotheses"): "default H shipped",
    ("ship", "clip_x0"): "default x0 clipping shipped (metres)",
    ("ship", "init"): "shipped " + _START_HELP,
    ("ship", "start_step"): "shipped " + _START_STEP_HELP,
}
