"""Graph layers on pose sequences ``(B, T, J, C)`` for the DiffHPE denoiser (paper section 3.3).

B batch, T frames, J joints, C channels. A graph runs either over the joints of each
frame (``node_dim=2``, the paper's "feature-wise" layer) or over the frames of each joint
(``node_dim=1``, the "time-wise" layer).

Pre-aggregated graph convolution with decoupled self-connections (Liu et al., ECCV 2020)::

    out_i = (sum_j A_ij x_j) W_i + x_i S_i + b_i

``A`` has no self-loops: the node's own feature goes through its own weight ``S_i``
(decoupled), and the neighbours are aggregated first and transformed afterwards
(pre-aggregation). With ``per_node_weights=True`` every node has its own ``W_i, S_i, b_i``
(Liu et al.'s best variant); the denoiser uses it over the 17 joints. Over frames the
weights are shared (``per_node_weights=False``), otherwise a model would be tied to one
window length and would treat the same motion differently at different frames.

Time-wise adjacency. Two learned frame adjacencies are available (``temporal_mixing``):

* ``"relative"`` (default): ``A_ij = w[j - i]``, a Toeplitz matrix built from
  ``2 * max_frames - 1`` learned weights, one per relative offset, initialised as the
  normalised temporal chain (offsets +-1 at 1/2, everything else, offset 0 included, at
  0; the self term is carried by the decoupled weight ``S``). It works for any
  ``T <= max_frames`` (the ``T x T`` top-left block of the full Toeplitz matrix) and is
  shift-equivariant, so a pose gets the same treatment wherever it sits in the window.
* ``"dense"``: a free ``max_frames x max_frames`` learned matrix, initialised the same
  way; this is the authors' mixing. It ties the model to its window length: for
  ``T < max_frames`` the top-left ``T x T`` block is used, as MixSTE slices its temporal
  position embedding, which is only an approximation for a model trained on full windows.

We default to ``"relative"``: 2L - 1 parameters instead of L^2, valid for shorter
windows at sequence ends, and no position-specific behaviour to learn.

``GraphNonLocal``: SemGCN's non-local layer (Zhao et al., CVPR 2019), attention over the
joints of each frame with a zero-initialised output projection and a residual.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

TEMPORAL_MIXINGS = ("relative", "dense")


def _check_pose_tensor(x: Tensor, where: str) -> None:
    if x.dim() != 4:
        raise ValueError(f"{where}: expected a (B, T, J, C) tensor, got shape {tuple(x.shape)}")


def _chain_offsets(max_frames: int) -> Tensor:
    """(2L-1,) relative-offset weights of the normalised chain: 1/2 at offsets +-1."""
    w = torch.zeros(2 * max_frames - 1)
    if max_frames > 1:
        w[max_frames - 2] = 0.5  # offset -1
        w[max_frames] = 0.5  # offset +1
    return w


class RelativeTemporalAdjacency(nn.Module):
    """Learned Toeplitz frame adjacency ``A_ij = w[j - i]``; ``forward(T) -> (T, T)``."""

    def __init__(self, max_frames: int) -> None:
        super().__init__()
        if max_frames < 1:
            raise ValueError(
                f"RelativeTemporalAdjacency: max_frames must be >= 1, got {max_frames}"
            )
        self.max_frames = max_frames
        self.weight = nn.Parameter(_chain_offsets(max_frames))
        ar = torch.arange(max_frames)
        # Index of the offset j - i in `weight`; any T x T top-left block stays Toeplitz.
        self.register_buffer("index", ar[None, :] - ar[:, None] + max_frames - 1, persistent=False)

    def forward(self, num_frames: int) -> Tensor:
        if not 1 <= num_frames <= self.max_frames:
            raise ValueError(
                f"temporal graph: got T={num_frames} frames, expected 1 <= T <= "
                f"max_frames={self.max_frames}"
            )
        return self.weight[self.index[:num_frames, :num_frames]]


class DenseTemporalAdjacency(nn.Module):
    """Free learned ``(L, L)`` frame adjacency; ``forward(T)`` returns its ``T x T`` top-left."""

    def __init__(self, max_frames: int) -> None:
        super().__init__()
        if max_frames < 1:
            raise ValueError(f"DenseTemporalAdjacency: max_frames must be >= 1, got {max_frames}")
        self.max_frames = max_frames
        chain = torch.diag(torch.full((max_frames - 1,), 0.5), 1)
        self.weight = nn.Parameter(chain + chain.T)

    def forward(self, num_frames: int) -> Tensor:
        if not 1 <= num_frames <= self.max_frames:
            raise ValueError(
                f"temporal graph: got T={num_frames} frames, expected 1 <= T <= "
                f"max_frames={self.max_frames}"
            )
        return self.weight[:num_frames, :num_frames]


def temporal_adjacency(max_frames: int, mixing: str = "relative") -> nn.Module:
    """Learned frame adjacency module for ``temporal_mixing`` ``"relative"`` or ``"dense"``."""
    if mixing == "relative":
        return RelativeTemporalAdjacency(max_frames)
    if mixing == "dense":
        return DenseTemporalAdjacency(max_frames)
    raise ValueError(f"temporal_mixing must be one of {TEMPORAL_MIXINGS}, got {mixing!r}")


class PreAggGraphConv(nn.Module):
    """Pre-aggregated graph convolution with decoupled self-connections (Liu et al. 2020).

    ``(B, T, J, in_ch) -> (B, T, J, out_ch)``; ``out_i = (sum_j A_ij x_j) W_i + x_i S_i + b_i``
    over the nodes of axis ``node_dim`` (2: joints, 1: frames).

    Args:
        adjacency: fixed ``(N, N)`` array (no self-loops; used as given, so pass it
            normalised), or a module mapping a node count ``n`` to a learned ``(n, n)``
            adjacency (see ``temporal_adjacency``).
        per_node_weights: one ``(W_i, S_i, b_i)`` per node (needs a fixed adjacency) or
            one shared set.
        bias: learn ``b`` (pointless before a BatchNorm when the weights are shared).
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        adjacency: Tensor | np.ndarray | nn.Module,
        node_dim: int,
        per_node_weights: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if node_dim not in (1, 2):
            raise ValueError(
                f"PreAggGraphConv: node_dim must be 1 (frames) or 2 (joints), got {node_dim}"
            )
        self.in_ch, self.out_ch, self.node_dim = in_ch, out_ch, node_dim
        self.per_node_weights = per_node_weights
        if isinstance(adjacency, nn.Module):
            if per_node_weights:
                raise ValueError("PreAggGraphConv: per_node_weights needs a fixed (N, N) adjacency")
            self.learned_adjacency: nn.Module | None = adjacency
            self.num_nodes: int | None = None
        else:
            adj = torch.as_tensor(np.asarray(adjacency), dtype=torch.float32)
            if adj.dim() != 2 or adj.shape[0] != adj.shape[1]:
                raise ValueError(
                    f"PreAggGraphConv: adjacency must be square (N, N), got {tuple(adj.shape)}"
                )
            self.learned_adjacency = None
            self.num_nodes = adj.shape[0]
            self.register_buffer("adjacency", adj.contiguous())
        lead = (self.num_nodes,) if per_node_weights else ()
        self.weight_agg = nn.Parameter(torch.empty(*lead, in_ch, out_ch))
        self.weight_self = nn.Parameter(torch.empty(*lead, in_ch, out_ch))
        self.bias = nn.Parameter(torch.zeros(*lead, out_ch)) if bias else None
        bound = 1.0 / math.sqrt(in_ch)  # nn.Linear's default scale
        nn.init.uniform_(self.weight_agg, -bound, bound)
        nn.init.uniform_(self.weight_self, -bound, bound)

    def get_adjacency(self, n: int) -> Tensor:
        """The ``(n, n)`` adjacency used for ``n`` nodes."""
        if self.learned_adjacency is not None:
            return self.learned_adjacency(n)
        if n != self.num_nodes:
            axis = "joints" if self.node_dim == 2 else "frames"
            raise ValueError(
                f"PreAggGraphConv: input has {n} {axis} on axis {self.node_dim}, "
                f"the adjacency has {self.num_nodes} nodes"
            )
        return self.adjacency

    def forward(
        self, x: Tensor, scale: Tensor | None = None, shift: Tensor | None = None
    ) -> Tensor:
        """``(B, T, J, in_ch) -> (B, T, J, out_ch)``.

        With ``scale`` and ``shift`` (both ``(out_ch,)``) returns ``out * scale + shift``
        (an eval-mode BatchNorm folded in) by scaling the weights, without another pass
        over the output.
        """
        _check_pose_tensor(x, "PreAggGraphConv")
        if x.shape[-1] != self.in_ch:
            raise ValueError(
                f"PreAggGraphConv: expected {self.in_ch} input channels, got {x.shape[-1]}"
            )
        w_agg, w_self, bias = self.weight_agg, self.weight_self, self.bias
        if (scale is None) != (shift is None):
            raise ValueError("PreAggGraphConv: pass both scale and shift, or neither")
        if scale is not None and shift is not None:
            w_agg, w_self = w_agg * scale, w_self * scale
            bias = shift if bias is None else torch.addcmul(shift, bias, scale)
        x = x.contiguous()
        b, t, j, c = x.shape
        n = x.shape[self.node_dim]
        adj = self.get_adjacency(n)
        if not self.per_node_weights:
            # Aggregate first (pre-aggregation): (T, T) @ (T, J*C) per window for frames,
            # (J, J) @ (J, C) per frame for joints, as one bmm on the adjacency expanded
            # without copies (a broadcast matmul would transpose x and copy it, ~3x slower);
            # then one matmul per weight, the bias riding on the first.
            rows = x.view(b, t, j * c) if self.node_dim == 1 else x.view(b * t, j, c)
            agg = torch.bmm(adj.expand(rows.shape[0], n, n), rows).view(-1, c)
            if bias is None:
                out = torch.mm(agg, w_agg)
            else:
                out = torch.addmm(bias, agg, w_agg)
            out = out.addmm_(x.view(-1, c), w_self)
            return out.view(b, t, j, self.out_ch)
        # Per-node weights: lay the nodes first, (N, rows, C); the aggregation is then a
        # single (N, N) @ (N, rows*C) matmul and the transforms one batched matmul each.
        x_n = x.movedim(self.node_dim, 0).contiguous()
        rows_shape = x_n.shape[1:3]
        x_rows = x_n.view(n, -1, c)
        agg_rows = torch.mm(adj, x_n.view(n, -1)).view(n, -1, c)
        if bias is None:
            out = torch.bmm(agg_rows, w_agg)
        else:
            out = torch.baddbmm(bias.unsqueeze(1), agg_rows, w_agg)
        out = out.baddbmm_(x_rows, w_self)  # (N, rows, out_ch)
        return out.view(n, *rows_shape, self.out_ch).movedim(0, self.node_dim).contiguous()


class GraphNonLocal(nn.Module):
    """SemGCN's non-local layer over the joints of each frame: ``(B, T, J, C) -> same``.

    ``x + W_out softmax(theta(x) phi(x)^T / sqrt(inner)) g(x)``, per frame. ``W_out`` is
    zero-initialised, so the layer starts as the identity (the role of SemGCN's
    zero-initialised BatchNorm). The ``1/sqrt(inner)`` scale keeps the softmax from
    saturating as channels grow.
    """

    def __init__(self, channels: int, inner: int | None = None) -> None:
        super().__init__()
        inner = channels // 2 if inner is None else inner
        if inner < 1:
            raise ValueError(f"GraphNonLocal: inner channels must be >= 1, got {inner}")
        self.channels, self.inner = channels, inner
        self.qkv = nn.Linear(channels, 3 * inner)  # theta, phi, g in one matmul
        self.out = nn.Linear(inner, channels)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: Tensor) -> Tensor:
        _check_pose_tensor(x, "GraphNonLocal")
        theta, phi, g = self.qkv(x).chunk(3, dim=-1)  # (B, T, J, inner) each
        # Attention over the J joints of each frame, (B, T) as batch dims. Plain batched
        # matmuls: at J = 17 they run ~3x faster on CPU than scaled_dot_product_attention.
        affinity = torch.matmul(theta, phi.transpose(-1, -2)) * (self.inner**-0.5)
        y = torch.matmul(affinity.softmax(dim=-1), g)  # (B, T, J, inner)
        return x + self.out(y)
