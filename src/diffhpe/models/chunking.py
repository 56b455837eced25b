"""Eval-time chunking of window batches on CPU, shared by MixSTE and the graph denoiser.

B batch (windows), T frames, J joints. In eval mode every window is computed on its own
(BatchNorm uses running statistics, LayerNorm and attention stay inside a window), so a
batch can run as consecutive chunks of whole windows with the same result up to float
rounding. On CPU, one pass over hundreds of windows is bound by memory bandwidth (the
activations of one layer no longer fit in cache); chunks of ~8-16 windows of 27 x 17
poses run 1.3-3x faster per window (measured on 1-2 threads, 2 MiB L2 per core).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def windows_per_chunk(x: Tensor, max_rows: int, training: bool) -> int:
    """Windows per chunk for ``x`` ``(B, T, J, ...)``: all B unless eval on CPU (and not
    tracing for export) with more than ``max_rows`` rows B*T*J; at least one window."""
    b, t, j = x.shape[:3]
    if training or x.device.type != "cpu" or torch.jit.is_tracing() or b * t * j <= max_rows:
        return b
    return max(1, max_rows // (t * j))


def run_in_chunks(fn: Callable[..., Tensor], chunk: int, *tensors: Tensor) -> Tensor:
    """``fn(*tensors)`` computed on consecutive slices of ``chunk`` along dim 0, concatenated."""
    b = tensors[0].shape[0]
    if chunk >= b:
        return fn(*tensors)
    return torch.cat([fn(*(x[i : i + chunk] for x in tensors)) for i in range(0, b, chunk)])
