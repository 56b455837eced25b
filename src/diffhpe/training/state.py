"""A training run's record: ``train_state.json`` and the ``train_state`` metadata of
``last.safetensors`` (the same JSON object).

Written by :meth:`diffhpe.training.Trainer.save_last`, read back to resume a run and by
the results page and the model card (training time, hardware, why training ended).
Files from older runs lack keys (``sessions``, ``stop_reason``) or hold retired ones
(``windows_rng``): missing keys read as empty, unknown ones are ignored.

``history``: one record per validation, ``{"step", "val_mpjpe_mm", "time_s"}`` (seconds
since the session started) and ``train_mpjpe_mm`` when measured. ``sessions``: one
record per ``fit`` call (a resumed run has several), ``{"started_utc", "start_step",
"end_step", "seconds", "environment"}`` (:func:`diffhpe.hardware.environment`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor

from diffhpe.hardware import describe

Record = dict[str, Any]


@dataclass(frozen=True)
class CurvePoint:
    """One validation of a run: step, wall hours since the run began (summed over
    sessions), core-hours (wall time x training threads: the CPU budget spent),
    validation and training MPJPE (mm; training None when not measured)."""

    step: int
    hours: float
    val_mm: float
    train_mm: float | None
    core_hours: float = 0.0


@dataclass(frozen=True)
class TrainState:
    """Counters, optimizer/scheduler/RNG state and the logs of one training run.

    Every field may be absent from an older file (None or empty). ``optimizer``,
    ``scheduler`` and ``data_rng`` are the JSON parts of the states resuming needs
    (their tensors are in ``last.safetensors``).
    """

    step: int | None = None
    best: float | None = None  # best validation MPJPE (mm); None before any validation
    optimizer: dict[str, Any] | None = None  # checkpoint.optimizer_to_tensors' JSON part
    scheduler: dict[str, Any] | None = None  # the LR scheduler's state_dict
    data_rng: dict[str, Any] | None = None  # numpy bit generator state of the data stream
    history: tuple[Record, ...] = ()
    sessions: tuple[Record, ...] = ()
    stop_reason: str | None = None  # early_stop, max_steps, max_minutes, signal, interrupted
    world_size: int | None = None
    ddp_max_weight_diff: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, keys in the order training has always written them."""
        return {
            "step": self.step,
            "best": self.best,
            "optimizer": self.optimizer,
            "scheduler": self.scheduler,
            "data_rng": self.data_rng,
            "history": list(self.history),
            "sessions": list(self.sessions),
            "stop_reason": self.stop_reason,
            "world_size": self.world_size,
            "ddp_max_weight_diff": self.ddp_max_weight_diff,
        }

    def to_json(self, indent: int | None = None) -> str:
        """:meth:`to_dict` as JSON (numpy scalars and tensors as numbers and lists)."""
        return json.dumps(self.to_dict(), default=_json_default, indent=indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "train state") -> TrainState:
        """The record of a parsed JSON object; ``where`` names it in errors."""
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected a JSON object (a run's train state)")
        return cls(
            step=data.get("step"),
            best=data.get("best"),
            optimizer=data.get("optimizer"),
            scheduler=data.get("scheduler"),
            data_rng=data.get("data_rng"),
            history=tuple(data.get("history", [])),
            sessions=tuple(data.get("sessions", [])),
            stop_reason=data.get("stop_reason"),
            world_size=data.get("world_size"),
            ddp_max_weight_diff=data.get("ddp_max_weight_diff"),
        )

    @classmethod
    def from_json(cls, text: str, where: str = "train state") -> TrainState:
        """The record of a JSON text (a checkpoint's ``train_state`` metadata or a file)."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{where}: not valid JSON ({e})") from None
        return cls.from_dict(data, where)

    @classmethod
    def read(cls, path: str | Path) -> TrainState:
        """A ``train_state.json`` file."""
        return cls.from_json(Path(path).read_text(encoding="utf-8"), str(path))

    def training_seconds(self) -> float | None:
        """Seconds of training, summed over sessions (see :func:`training_time`)."""
        return training_time(self.history)

    def hardware(self) -> str:
        """The machines the run trained on (see :func:`training_hardware`)."""
        return training_hardware(self.sessions)

    def elapsed_curve(self, threads: int = 1) -> list[CurvePoint]:
        """Every validation with the wall and core hours at it (see :func:`elapsed_curve`;
        ``threads`` counts steps no session record covers)."""
        return elapsed_curve(self.history, self.sessions, threads)

    def validation_curve(self) -> list[tuple[int, float]]:
        """(step, validation MPJPE mm) at every validation."""
        return [(int(h["step"]), float(h["val_mpjpe_mm"])) for h in self.history]


def run_state(path: str | Path) -> tuple[TrainState | None, dict[str, str]]:
    """The train state of the run that wrote ``path`` (a checkpoint in a run folder), and
    that folder's ``last.safetensors`` metadata.

    Read from ``last.safetensors`` beside ``path`` when present, else from the run's
    ``train_state.json`` (the same state without weights, as committed for finished runs);
    ``(None, {})`` when neither exists.
    """
    from diffhpe.checkpoint import read_metadata

    last = Path(path).parent / "last.safetensors"
    record = Path(path).parent / "train_state.json"
    if last.is_file():
        last_meta = read_metadata(last)
        text = last_meta.get("train_state", "{}")
        return TrainState.from_json(text, f"{last}:train_state"), last_meta
    if not record.is_file():
        return None, {}
    return TrainState.read(record), {}


def elapsed_curve(
    history: list[Record] | tuple[Record, ...],
    sessions: list[Record] | tuple[Record, ...] = (),
    threads: int = 1,
) -> list[CurvePoint]:
    """Every validation with the run's wall time and core time at it.

    ``time_s`` restarts at 0 in each resumed session, so the earlier sessions' last values
    are added (time after a session's last validation is not recorded, as in
    :func:`training_time`). Core time counts each interval between validations times the
    threads of the session that trained it (``sessions[].environment.threads``, matched by
    step); steps before the first session record count the first record's threads, or
    ``threads`` when there is none.
    """
    spans = [
        (int(s.get("start_step", 0)), int(s.get("end_step", 0)),
         int(s.get("environment", {}).get("threads") or threads))
        for s in sessions
    ]  # fmt: skip
    first = spans[0][2] if spans else threads

    def threads_at(step: int) -> int:
        for lo, hi, n in spans:
            if lo < step <= hi:
                return n
        return first

    out: list[CurvePoint] = []
    done = 0.0  # seconds of the sessions before the current one
    core = 0.0  # core-seconds up to the previous validation
    prev = 0.0  # time_s of the previous validation in the current session
    for i, h in enumerate(history):
        t = float(h.get("time_s", 0.0))
        if i and t < prev:  # a resumed session: its clock restarts at 0
            done += prev
            prev = 0.0
        core += (t - prev) * threads_at(int(h["step"]))
        prev = t
        train = h.get("train_mpjpe_mm")
        out.append(
            CurvePoint(
                step=int(h["step"]),
                hours=(done + t) / 3600.0,
                val_mm=float(h["val_mpjpe_mm"]),
                train_mm=None if train is None else float(train),
                core_hours=core / 3600.0,
            )
        )
    return out


def training_time(history: list[Record] | tuple[Record, ...]) -> float | None:
    """Seconds of training from a train state's ``history`` (``time_s`` per validation).

    ``time_s`` restarts at 0 when a run is resumed, so each session's last value is
    summed. Time after a session's last validation is not recorded.
    """
    times = [float(h["time_s"]) for h in history if "time_s" in h]
    if not times:
        return None
    total = 0.0
    for prev, cur in zip(times, times[1:] + [-1.0], strict=True):
        if cur < prev:  # a session ends here
            total += prev
    return total


def training_hardware(sessions: list[Record] | tuple[Record, ...]) -> str:
    """The machines a run trained on, from its session records (``Trainer.sessions``)."""
    if not sessions:
        return "not recorded"
    kinds = list(dict.fromkeys(describe(s["environment"]) for s in sessions))
    text = " + ".join(kinds)
    first = int(sessions[0].get("start_step", 0))
    return text + (f" (steps 0-{first}: not recorded)" if first > 0 else "")


def _json_default(o: object) -> object:
    if isinstance(o, (np.integer, np.floating)):
        return o.item()
    if isinstance(o, Tensor):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
