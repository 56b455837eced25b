"""The fast inference/training engine of the denoiser against a plain reference.

The reference (``diffhpe.models.reference``) is the graph denoiser of paper section 3.3
written the obvious way (einsum graph layers, functional BatchNorm, ``tanh``, no
chunking); the engine (folded BatchNorm, sigmoid-based gating, eval-time
chunking, flattened attention) must match it to float rounding.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from diffhpe.models import DenoiserConfig, GraphDenoiser, MixSTE, MixSTEConfig, PreAggGraphConv
from diffhpe.models.chunking import run_in_chunks, windows_per_chunk
from diffhpe.models.denoiser import (
    CompileOrEager,
    folded_batch_norm,
    gated_activation,
    train_dropout,
)
from diffhpe.models.reference import reference_denoiser, reference_graph_conv, reference_norm
from diffhpe.skeleton import H36M

J, T = 17, 9


def _randomise(module: nn.Module, seed: int = 0) -> None:
    """Non-trivial weights everywhere (zero-initialised layers too) and BatchNorm statistics."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            if p.requires_grad:
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
        for name, buf in module.named_buffers():
            if name.endswith("running_mean"):
                buf.copy_(0.2 * torch.randn(buf.shape, generator=g))
            elif name.endswith("running_var"):
                buf.copy_(0.5 + torch.rand(buf.shape, generator=g))


def _ref_denoiser(den: GraphDenoiser, x: Tensor, t: Tensor, cond: Tensor) -> Tensor:
    """The plain reference on raw conditioning features (dropout must be 0 to compare)."""
    return reference_denoiser(den, x, t, den.input_cond(cond))


def _denoiser(mixing: str = "relative", seed: int = 0) -> GraphDenoiser:
    cfg = DenoiserConfig(
        in_channels=16 + 3, channels=16, num_blocks=2, num_frames=T, temporal_mixing=mixing
    )
    den = GraphDenoiser(cfg, cond_channels=16)
    _randomise(den, seed)
    return den


def _inputs(b: int, frames: int = T, seed: int = 1) -> tuple[Tensor, Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, frames, J, 3, generator=g)
    t = torch.randint(0, 50, (b,), generator=g)
    cond = torch.randn(b, frames, J, 16, generator=g)
    return x, t, cond


@pytest.mark.parametrize("mixing", ["relative", "dense"])
def test_eval_forward_matches_plain_reference(mixing):
    den = _denoiser(mixing).eval()
    x, t, cond = _inputs(4)
    with torch.no_grad():
        got = den(x, t, den.project_condition(cond))
        want = _ref_denoiser(den, x, t, cond)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    # Windows shorter than L go through the same path.
    x5, t5, c5 = _inputs(3, frames=5)
    with torch.no_grad():
        got5 = den(x5, t5, den.project_condition(c5))
        torch.testing.assert_close(got5, _ref_denoiser(den, x5, t5, c5), rtol=1e-4, atol=1e-5)


def test_train_forward_and_gradients_match_plain_reference():
    den = _denoiser().train()  # dropout 0: deterministic, BatchNorm on batch statistics
    x, t, cond = _inputs(3)
    got = den(x, t, den.project_condition(cond))
    (got**2).sum().backward()
    grads = {n: p.grad.clone() for n, p in den.named_parameters()}
    den.zero_grad()
    want = _ref_denoiser(den, x, t, cond)
    (want**2).sum().backward()
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    for name, p in den.named_parameters():
        torch.testing.assert_close(grads[name], p.grad, rtol=1e-3, atol=1e-5, msg=name)


def test_eval_chunks_whole_windows_and_matches_one_pass():
    den = _denoiser().eval()
    x, t, cond = _inputs(7)
    with torch.no_grad():
        cp = den.project_condition(cond)
        den.max_rows_per_chunk = 10**9
        whole = den(x, t, cp)
        den.max_rows_per_chunk = 2 * T * J  # chunks of 2 windows: 2, 2, 2, 1
        assert windows_per_chunk(x, den.max_rows_per_chunk, training=False) == 2
        chunked = den(x, t, cp)
        den.max_rows_per_chunk = 1  # smaller than a window: one window at a time
        assert windows_per_chunk(x, 1, training=False) == 1
        single = den(x, t, cp)
    torch.testing.assert_close(chunked, whole, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(single, whole, rtol=1e-4, atol=1e-5)
    # Training never chunks: BatchNorm statistics couple the rows of the batch.
    assert windows_per_chunk(x, 1, training=True) == 7


def test_run_in_chunks_slices_every_tensor_along_dim_0():
    calls = []

    def fn(a: Tensor, b: Tensor) -> Tensor:
        calls.append(a.shape[0])
        return a * 10 + b

    a, b = torch.arange(5.0), torch.ones(5)
    torch.testing.assert_close(run_in_chunks(fn, 2, a, b), a * 10 + b)
    assert calls == [2, 2, 1]
    assert run_in_chunks(fn, 5, a, b).shape == (5,) and calls[-1] == 5


def test_mixste_eval_chunks_match_one_pass():
    m = MixSTE(MixSTEConfig(dim=16, depth=2, heads=4, num_frames=T, dropout=0.0)).eval()
    x = torch.randn(5, T, J, 2)
    with torch.no_grad():
        m.max_rows_per_chunk = 10**9
        whole = m(x)
        m.max_rows_per_chunk = 2 * T * J
        torch.testing.assert_close(m(x), whole, rtol=1e-4, atol=1e-5)


def test_reference_norm_is_batch_norm_by_its_definition():
    norm = nn.BatchNorm1d(6)
    _randomise(norm)
    y = torch.randn(3, 4, 5, 6)
    mean, var = y.mean(dim=(0, 1, 2)), y.var(dim=(0, 1, 2), unbiased=False)
    want = (y - mean) / torch.sqrt(var + norm.eps) * norm.weight + norm.bias
    torch.testing.assert_close(reference_norm(norm, y, training=True), want)
    running = norm.running_mean.clone()
    eval_want = (y - running) / torch.sqrt(norm.running_var + norm.eps) * norm.weight + norm.bias
    torch.testing.assert_close(reference_norm(norm, y, training=False), eval_want)
    assert torch.equal(norm.running_mean, running)  # the reference never updates statistics


def test_folded_batch_norm_equals_eval_batch_norm():
    norm = nn.BatchNorm1d(6)
    _randomise(norm)
    norm.eval()
    z = torch.randn(50, 6)
    scale, shift = folded_batch_norm(norm)
    torch.testing.assert_close(z * scale + shift, norm(z))
    with pytest.raises(ValueError, match="running statistics"):
        folded_batch_norm(nn.BatchNorm1d(6, track_running_stats=False))


@pytest.mark.parametrize("node_dim,per_node", [(2, True), (1, False)])
def test_graph_conv_scale_shift_is_an_output_affine(node_dim, per_node):
    adj = H36M.adjacency(False, True) if node_dim == 2 else np.eye(T, k=1) + np.eye(T, k=-1)
    conv = PreAggGraphConv(5, 4, adj, node_dim=node_dim, per_node_weights=per_node)
    _randomise(conv)
    x = torch.randn(2, T, J, 5)
    scale, shift = torch.rand(4) + 0.5, torch.randn(4)
    torch.testing.assert_close(conv(x, scale, shift), conv(x) * scale + shift)
    torch.testing.assert_close(conv(x), reference_graph_conv(conv, x))
    with pytest.raises(ValueError, match="both scale and shift"):
        conv(x, scale=scale)


def test_gated_activation_is_sigmoid_times_tanh():
    gate, filt = torch.linspace(-30, 30, 601), torch.linspace(-40, 25, 601)
    torch.testing.assert_close(
        gated_activation(gate, filt), torch.sigmoid(gate) * torch.tanh(filt), atol=2e-7, rtol=0
    )


def test_dropout_keeps_the_mean_and_drops_a_fraction_p():
    torch.manual_seed(0)
    x = torch.ones(200_000, requires_grad=True)
    y = train_dropout(x, 0.3)
    values = torch.unique(y.detach())
    assert values.shape == (2,) and values[0] == 0.0
    assert values[1].item() == pytest.approx(1 / 0.7)
    assert abs(float((y == 0).float().mean()) - 0.3) < 0.01
    assert abs(float(y.detach().mean()) - 1.0) < 0.01
    y.sum().backward()  # the gradient goes through the kept entries only, scaled
    torch.testing.assert_close(x.grad, y.detach())
    assert train_dropout(x, 0.0) is x


def test_dropout_is_off_in_eval_and_on_in_training():
    cfg = DenoiserConfig(in_channels=19, channels=16, num_blocks=2, num_frames=T, dropout=0.5)
    den = GraphDenoiser(cfg, cond_channels=16)
    _randomise(den)
    x, t, cond = _inputs(2)
    den.eval()
    with torch.no_grad():
        cp = den.project_condition(cond)
        assert torch.equal(den(x, t, cp), den(x, t, cp))
        den.train()
        assert not torch.equal(den(x, t, cp), den(x, t, cp))


def _ref_attention(attn, x: Tensor) -> Tensor:
    """Multi-head softmax attention over axis -2 of (..., N, D), heads split plainly."""
    *lead, n, d = x.shape
    heads, dh = attn.heads, d // attn.heads
    q, k, v = attn.qkv(x).split(d, dim=-1)
    outs = []
    for h in range(heads):
        sl = slice(h * dh, (h + 1) * dh)
        a = torch.softmax(q[..., sl] @ k[..., sl].transpose(-1, -2) / math.sqrt(dh), dim=-1)
        outs.append(a @ v[..., sl])
    return attn.proj(torch.cat(outs, dim=-1))


def test_mixste_attention_matches_plain_multi_head_attention():
    m = MixSTE(MixSTEConfig(dim=16, depth=1, heads=4, num_frames=T, dropout=0.0)).eval()
    attn = m.spatial_blocks[0].attn
    x = torch.randn(2, T, J, 16)
    with torch.no_grad():
        torch.testing.assert_close(attn(x), _ref_attention(attn, x), rtol=1e-4, atol=1e-5)
        xt = x.transpose(1, 2)  # temporal blocks see a non-contiguous (B, J, T, D) view
        torch.testing.assert_close(attn(xt), _ref_attention(attn, xt), rtol=1e-4, atol=1e-5)


def test_compile_or_eager_falls_back_with_a_warning(monkeypatch):
    def broken_compile(fn, **kwargs):
        def fail(*args):
            raise RuntimeError("no C++ compiler")

        return fail

    monkeypatch.setattr(torch, "compile", broken_compile)
    calls = []

    def fn(a: Tensor) -> Tensor:
        calls.append(1)
        return a + 1

    wrapped = CompileOrEager(fn)
    with pytest.warns(RuntimeWarning, match="no C\\+\\+ compiler"):
        assert torch.equal(wrapped(torch.zeros(2)), torch.ones(2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warns once, then runs eagerly in silence
        assert torch.equal(wrapped(torch.ones(2)), torch.full((2,), 2.0))
    assert len(calls) == 2 and wrapped.failed


@pytest.mark.slow  # inductor compiles C++: about a minute on 2 cores
def test_denoiser_compile_path_gives_the_same_output_or_falls_back():
    den = _denoiser().eval()
    x, t, cond = _inputs(2)
    with torch.no_grad():
        cp = den.project_condition(cond)
        want = den(x, t, cp)
        den.enable_compile()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a machine without a C++ compiler falls back
            got = den(x, t, cp)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
