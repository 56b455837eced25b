"""When a training run ends: early stopping, the step and time budgets, stop signals."""

from __future__ import annotations

import signal
import threading
from collections.abc import Sequence
from typing import Any

from diffhpe.config import TrainConfig


def validations_since_best(history: Sequence[dict[str, Any]]) -> int:
    """Validations after the best one so far (0 when the latest is the best)."""
    values = [float(h["val_mpjpe_mm"]) for h in history]
    if not values:
        return 0
    best = min(range(len(values)), key=values.__getitem__)
    return len(values) - 1 - best


def stop_reason(
    t: TrainConfig,
    step: int,
    history: Sequence[dict[str, Any]],
    minutes: float,
    steps_this_call: int,
    stop_after: int | None,
    signalled: int | None,
) -> str | None:
    """Why training ends after ``step`` (None: it goes on): "early_stop", "max_steps",
    "max_minutes", "signal" or "interrupted" (``stop_after`` steps in this call).
    Validation runs on every process, so ``early_stop`` is decided identically on all."""
    just_validated = step % t.val_every == 0 or step == t.max_steps
    if t.early_stop > 0 and just_validated and validations_since_best(history) >= t.early_stop:
        return "early_stop"
    if step >= t.max_steps:
        return "max_steps"
    if t.max_minutes > 0 and minutes >= t.max_minutes:
        return "max_minutes"
    if signalled is not None:
        return "signal"
    if stop_after is not None and steps_this_call >= stop_after:
        return "interrupted"
    return None


class StopSignals:
    """SIGTERM / SIGINT while installed end training after the current step, with
    ``last.safetensors`` written (so ``kill`` loses nothing); ``received`` says which."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        """Catch the signals (main thread only: elsewhere Python cannot)."""
        self.received = None
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._previous[sig] = signal.getsignal(sig)
            signal.signal(sig, self._request_stop)

    def _request_stop(self, signum: int, _frame: Any) -> None:
        self.received = signum

    def restore(self) -> None:
        """Put the handlers found by :meth:`install` back."""
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}
