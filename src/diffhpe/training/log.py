"""Where a training run's numbers go: ``metrics.jsonl`` and TensorBoard (main process
only; TensorBoard when installed) and the progress bar."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tqdm import tqdm


def _tensorboard(out: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional: metrics.jsonl always has the numbers
        return None
    return SummaryWriter(str(out / "tb"))


class TrainLog:
    """The log of one ``fit``: appends to ``out/metrics.jsonl`` (``main`` process only);
    a progress bar from step ``initial`` to ``total``, hidden unless ``show``."""

    def __init__(
        self, out: Path, main: bool, total: int, initial: int, desc: str, show: bool
    ) -> None:
        self.main = main
        self.writer = _tensorboard(out) if main else None
        self.file = open(out / "metrics.jsonl", "a", encoding="utf-8") if main else None
        self.bar = tqdm(
            total=total, initial=initial, desc=desc, unit="step", disable=not show,
            dynamic_ncols=True,
        )  # fmt: skip

    def advance(self) -> None:
        """One training step done."""
        self.bar.update(1)

    def training(self, step: int, loss: float, lr: float, rate: float) -> None:
        """The smoothed training loss, learning rate and windows per second at ``step``."""
        self.bar.set_postfix(loss=f"{loss:.4f}", lr=f"{lr:.2e}", win_s=f"{rate:.0f}")
        if self.main:
            self._write({"step": step, "loss": loss, "lr": lr, "windows_per_s": rate})
            if self.writer:
                self.writer.add_scalar("train/loss", loss, step)
                self.writer.add_scalar("train/lr", lr, step)
                self.writer.add_scalar("train/windows_per_s", rate, step)

    def validation(self, step: int, val: float, best: float, train_err: float | None) -> None:
        """A validation's MPJPE, the best so far and the training error (None: off)."""
        if not self.main:
            return
        line = {"step": step, "val_mpjpe_mm": val, "best": best}
        if train_err is not None:
            line["train_mpjpe_mm"] = train_err
        self._write(line)
        if self.writer:
            self.writer.add_scalar("val/mpjpe_mm", val, step)
            if train_err is not None:
                self.writer.add_scalar("train/mpjpe_mm", train_err, step)
        seen = "" if train_err is None else f", train {train_err:.2f}"
        self.bar.write(f"step {step}: val MPJPE {val:.2f} mm (best {best:.2f}){seen}")

    def _write(self, record: dict[str, Any]) -> None:
        assert self.file is not None
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()

    def close(self) -> None:
        self.bar.close()
        if self.file:
            self.file.close()
        if self.writer:
            self.writer.close()
