"""The graph denoiser of paper section 3.3 written the obvious way, on the same modules.

This is the plain reference the engine in ``denoiser.py`` is checked against
(``tests/test_engine.py``) and the unoptimised baseline of ``benchmarks/train_speed.py``:
einsum graph layers, functional BatchNorm, ``tanh``, stock ``F.dropout``, no chunking, no
folding. It reads the parameters of a :class:`GraphDenoiser` and returns what its
``forward`` returns, up to float rounding. Layout ``(B, T, J, C)`` throughout.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from diffhpe.models.denoiser import GraphDenoiser, step_sinusoids
from diffhpe.models.graph import GraphNonLocal, PreAggGraphConv


def reference_norm(norm: nn.BatchNorm1d, y: Tensor, training: bool) -> Tensor:
    """BatchNorm over the channels of ``(B, T, J, C)``: batch statistics over (B, T, J) in
    training (running statistics are not updated), running statistics in eval."""
    c = y.shape[-1]
    flat = y.reshape(-1, c)
    if training:
        out = F.batch_norm(flat, None, None, norm.weight, norm.bias, True, 0.0, norm.eps)
    else:
        out = F.batch_norm(
            flat, norm.running_mean, norm.running_var, norm.weight, norm.bias, False, 0.0, norm.eps
        )
    return out.reshape(y.shape)


def reference_graph_conv(conv: PreAggGraphConv, x: Tensor) -> Tensor:
    """Pre-aggregated graph convolution with decoupled self-connections (section 3.3, its
    ref. [18]): ``out_i = (sum_j A_ij x_j) W_i + x_i S_i + b_i`` on the nodes
    of axis ``conv.node_dim`` (1: frames, 2: joints)."""
    n = x.shape[conv.node_dim]
    adj = conv.get_adjacency(n)
    if conv.node_dim == 1:
        agg = torch.einsum("st,btjc->bsjc", adj, x)
    else:
        agg = torch.einsum("ik,btkc->btic", adj, x)
    if conv.per_node_weights:
        spec = "btic,icd->btid" if conv.node_dim == 2 else "bitc,icd->bitd"
        out = torch.einsum(spec, agg, conv.weight_agg) + torch.einsum(spec, x, conv.weight_self)
        if conv.bias is not None:
            out = out + (conv.bias if conv.node_dim == 2 else conv.bias[:, None, :])
        return out
    out = agg @ conv.weight_agg + x @ conv.weight_self
    return out if conv.bias is None else out + conv.bias


def reference_non_local(layer: GraphNonLocal, x: Tensor) -> Tensor:
    """Graph non-local layer: softmax attention over the joints plus the input."""
    theta, phi, g = layer.qkv(x).chunk(3, dim=-1)
    attn = torch.softmax(theta @ phi.transpose(-1, -2) / math.sqrt(layer.inner), dim=-1)
    return x + layer.out(attn @ g)


def reference_denoiser(
    den: GraphDenoiser, x_noisy_features: Tensor, t: Tensor, cond_proj: Tensor
) -> Tensor:
    """``GraphDenoiser.forward`` written plainly: ``(B, T, J, C_x), (B,), (B, T, J, C) ->
    eps_hat (B, T, J, 3)``. BatchNorm and dropout follow ``den.training``."""
    training = den.training
    p = den.cfg.dropout
    h = F.relu(den.input_noisy(x_noisy_features) + cond_proj)
    emb = den.step_mlp(step_sinusoids(t, den.cfg.step_embed_dim))
    skips = torch.zeros_like(h)
    for blk in den.blocks:
        y = h + blk.step_proj(emb)[:, None, None, :]
        y = F.relu(reference_norm(blk.time_norm, reference_graph_conv(blk.time_conv, y), training))
        y = F.dropout(y, p, training)
        y = F.relu(
            reference_norm(blk.joint_norm, reference_graph_conv(blk.joint_conv, y), training)
        )
        y = F.dropout(y, p, training)
        y = reference_non_local(blk.non_local, y)
        gate, filt = blk.mid_proj(y).chunk(2, dim=-1)
        residual, skip = blk.out_proj(torch.sigmoid(gate) * torch.tanh(filt)).chunk(2, dim=-1)
        h = (h + residual) / math.sqrt(2.0)
        skips = skips + skip
    out = F.relu(den.output_hidden(skips / math.sqrt(len(den.blocks))))
    return den.output(out)
