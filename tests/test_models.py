"""Tests of the networks: MixSTE, graph layers, the graph denoiser and the DiffHPE lifters."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from diffhpe.models import (
    DenoiserConfig,
    DenseTemporalAdjacency,
    DiffHPE2D,
    DiffHPEWrapper,
    GraphDenoiser,
    GraphNonLocal,
    MixSTE,
    MixSTEConfig,
    PreAggGraphConv,
    RelativeTemporalAdjacency,
    count_parameters,
    denoiser_flops,
)
from diffhpe.skeleton import H36M

J = 17
T = 9


def tiny_mixste_cfg(**kw) -> MixSTEConfig:
    base = dict(dim=16, depth=2, heads=2, num_frames=T, dropout=0.0, drop_path=0.0)
    base.update(kw)
    return MixSTEConfig(**base)


def tiny_denoiser_cfg(in_channels: int = 5, **kw) -> DenoiserConfig:
    base = dict(channels=16, num_blocks=2, num_frames=T)
    base.update(kw)
    return DenoiserConfig(in_channels=in_channels, **base)


def perturb_zero_init(module: nn.Module, seed: int = 0) -> None:
    """Give every all-zero parameter small random values, so gradients reach all layers."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            if p.requires_grad and not p.any():
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


# ----------------------------------------------------------------------------- MixSTE


def test_mixste_shapes_and_short_windows():
    torch.manual_seed(0)
    m = MixSTE(tiny_mixste_cfg()).eval()
    x = torch.randn(3, T, J, 2)
    assert m(x).shape == (3, T, J, 3)
    assert m.features(x).shape == (3, T, J, 16)
    assert m(x[:, :4]).shape == (3, 4, J, 3)  # sliced temporal embedding
    with pytest.raises(ValueError, match="num_frames=9"):
        m(torch.randn(1, T + 1, J, 2))
    with pytest.raises(ValueError, match="x2d must be"):
        m(torch.randn(1, T, 16, 2))
    with pytest.raises(ValueError, match="divisible"):
        MixSTEConfig(dim=10, heads=4)


def test_network_configs_extend_the_run_config_types():
    """One list of hyper-parameters: a run's ``model.mixste`` / ``model.denoiser`` fields are
    the networks' own, which add only what the data and the diffusion fix."""
    import dataclasses

    from diffhpe.config import DenoiserParams, MixSTEParams

    def names(cls: type) -> set[str]:
        return {f.name for f in dataclasses.fields(cls)}

    assert issubclass(MixSTEConfig, MixSTEParams) and issubclass(DenoiserConfig, DenoiserParams)
    assert names(MixSTEConfig) - names(MixSTEParams) == {"num_joints", "num_frames"}
    extra = {"in_channels", "num_steps", "num_frames", "num_joints"}
    assert names(DenoiserConfig) - names(DenoiserParams) == extra
    # A bare network's defaults: MixSTE's are the run's; the denoiser has no dropout unless
    # asked (a run's default is the paper's 0.27).
    assert dataclasses.asdict(MixSTEParams()).items() <= dataclasses.asdict(MixSTEConfig()).items()
    assert (DenoiserConfig(in_channels=5).dropout, DenoiserParams().dropout) == (0.0, 0.27)
    with pytest.raises(TypeError):
        MixSTEConfig(17, 2)  # type: ignore[misc]  # keywords only: field order is no API


def test_mixste_features_are_layer_normalised_and_head_is_linear():
    torch.manual_seed(0)
    m = MixSTE(tiny_mixste_cfg()).eval()
    x = torch.randn(2, T, J, 2)
    f = m.features(x)
    # Fresh LayerNorm (weight 1, bias 0): every feature vector has mean 0 and variance 1
    # (slightly less: the LayerNorm eps is not negligible next to small fresh features).
    assert torch.allclose(f.mean(-1), torch.zeros(()), atol=1e-5)
    var = f.var(-1, unbiased=False)
    assert ((var > 0.9) & (var <= 1.0 + 1e-5)).all()
    torch.testing.assert_close(m(x), m.head(f))


def test_mixste_frames_interact_only_through_temporal_blocks():
    torch.manual_seed(0)
    m = MixSTE(tiny_mixste_cfg()).eval()
    x = torch.randn(1, T, J, 2)
    x2 = x.clone()
    x2[0, 4, 3] += 1.0  # one joint of one frame
    d = (m(x2) - m(x)).abs().amax(dim=(0, 3))  # (T, J)
    assert (d > 0).all()  # spatial + temporal mixing reaches every joint of every frame


def test_mixste_drop_path_is_stochastic_only_in_training():
    torch.manual_seed(0)
    m = MixSTE(tiny_mixste_cfg(drop_path=0.5))
    x = torch.randn(8, T, J, 2)
    m.train()
    assert not torch.equal(m(x), m(x))
    m.eval()
    assert torch.equal(m(x), m(x))


def test_mixste_overfits_a_fixed_batch():
    torch.manual_seed(0)
    m = MixSTE(tiny_mixste_cfg())
    x, y = torch.randn(4, T, J, 2), torch.randn(4, T, J, 3)
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    losses = []
    for _ in range(200):
        loss = ((m(x) - y) ** 2).mean()
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert losses[-1] < 0.1 * losses[0]


# ----------------------------------------------------------------------------- graph layers


def test_preagg_graph_conv_hand_computed():
    # Path graph 0 - 1 - 2, one channel; out_i = (sum_j A_ij x_j) w_i + x_i s_i + b_i.
    adj = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=np.float32)
    conv = PreAggGraphConv(1, 1, adj, node_dim=2)
    with torch.no_grad():
        conv.weight_agg.copy_(torch.tensor([1.0, 10.0, 100.0]).view(3, 1, 1))
        conv.weight_self.copy_(torch.tensor([0.5, 0.5, 0.5]).view(3, 1, 1))
        conv.bias.copy_(torch.tensor([0.0, 0.0, 1000.0]).view(3, 1))
    x = torch.tensor([1.0, 2.0, 3.0]).view(1, 1, 3, 1)
    out = conv(x).flatten().tolist()
    assert out == [2 * 1 + 0.5, (1 + 3) * 10 + 1.0, 2 * 100 + 1.5 + 1000]

    # Two channels in, one out: aggregate first, then the node's own weight matrix.
    conv2 = PreAggGraphConv(2, 1, adj, node_dim=2)
    with torch.no_grad():
        conv2.weight_agg.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]).view(3, 2, 1))
        conv2.weight_self.zero_()
        conv2.bias.zero_()
    x2 = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]).view(1, 1, 3, 2)
    # Aggregates: node0 <- x1 = (0, 1); node1 <- x0 + x2 = (2, 1); node2 <- x1 = (0, 1).
    assert conv2(x2).flatten().tolist() == [2.0, 2 * 3 + 1 * 4, 6.0]


def test_preagg_graph_conv_self_weight_is_decoupled():
    torch.manual_seed(0)
    adj = H36M.adjacency(self_loops=False, normalize=True)
    conv = PreAggGraphConv(4, 5, adj, node_dim=2)
    x = torch.randn(2, 3, J, 4)
    before = conv(x)
    delta = torch.randn(4, 5)
    with torch.no_grad():
        conv.weight_self[7] += delta
    after = conv(x)
    changed = (after - before).abs().amax(dim=(0, 1, 3))
    assert changed[7] > 0 and (changed[torch.arange(J) != 7] == 0).all()
    torch.testing.assert_close(after[:, :, 7] - before[:, :, 7], x[:, :, 7] @ delta)


def test_preagg_graph_conv_axes_are_independent():
    torch.manual_seed(0)
    joint_conv = PreAggGraphConv(3, 3, H36M.adjacency(False, True), node_dim=2)
    time_conv = PreAggGraphConv(
        3, 3, RelativeTemporalAdjacency(T), node_dim=1, per_node_weights=False
    )
    x = torch.randn(2, T, J, 3)
    x2 = x.clone()
    x2[:, 4, 6] += 1.0  # frame 4, joint 6 (LAnkle, neighbour of LKnee = 5 only)
    # Feature-wise (joints): only frame 4 changes, at joint 6 and its neighbour 5.
    d = (joint_conv(x2) - joint_conv(x)).abs().amax(dim=(0, 3))
    assert set(map(tuple, d.nonzero().tolist())) == {(4, 5), (4, 6)}
    # Time-wise (frames): only joint 6 changes, at frames 3, 4, 5 (chain initialisation).
    d = (time_conv(x2) - time_conv(x)).abs().amax(dim=(0, 3))
    assert set(map(tuple, d.nonzero().tolist())) == {(3, 6), (4, 6), (5, 6)}


def test_preagg_graph_conv_per_node_over_frames_matches_loop():
    torch.manual_seed(0)
    adj = torch.rand(5, 5)
    conv = PreAggGraphConv(3, 2, adj, node_dim=1)
    perturb_zero_init(conv)
    x = torch.randn(2, 5, 4, 3)
    out = conv(x)
    for i in range(5):
        agg = torch.einsum("j,bjkc->bkc", adj[i], x)
        ref = agg @ conv.weight_agg[i] + x[:, i] @ conv.weight_self[i] + conv.bias[i]
        torch.testing.assert_close(out[:, i], ref)
    with pytest.raises(ValueError, match="6 frames on axis 1"):
        conv(torch.randn(1, 6, 4, 3))


def test_relative_temporal_adjacency_is_toeplitz_and_shift_equivariant():
    torch.manual_seed(0)
    rel = RelativeTemporalAdjacency(T)
    assert rel.weight.shape == (2 * T - 1,)
    chain = torch.diag(torch.full((T - 1,), 0.5), 1)
    torch.testing.assert_close(rel(T), chain + chain.T)  # initialised as the temporal chain
    with torch.no_grad():
        rel.weight.copy_(torch.randn(2 * T - 1))
    full = rel(T)
    for n in (1, 4, 7, T):
        torch.testing.assert_close(rel(n), full[:n, :n])
    i, j = torch.meshgrid(torch.arange(T), torch.arange(T), indexing="ij")
    for k in range(-(T - 1), T):
        assert torch.unique(full[j - i == k]).numel() == 1  # constant along every diagonal
    with pytest.raises(ValueError, match="max_frames=9"):
        rel(T + 1)

    conv = PreAggGraphConv(2, 3, rel, node_dim=1, per_node_weights=False)
    perturb_zero_init(conv)
    s = 2
    for n in (6, T):
        content = torch.randn(1, n - 4, J, 2)
        x = torch.zeros(1, n, J, 2)
        x[:, 1 : n - 3] = content
        x_shift = torch.roll(x, s, dims=1)  # content stays inside the window
        assert x_shift[:, :s].abs().sum() == 0
        out, out_shift = conv(x), conv(x_shift)
        torch.testing.assert_close(out_shift[:, s:], out[:, : n - s], atol=1e-6, rtol=1e-5)


def test_dense_temporal_adjacency_is_not_shift_equivariant():
    torch.manual_seed(0)
    dense = DenseTemporalAdjacency(T)
    chain = torch.diag(torch.full((T - 1,), 0.5), 1)
    torch.testing.assert_close(dense(T), chain + chain.T)
    with torch.no_grad():
        dense.weight.copy_(torch.randn(T, T))
    torch.testing.assert_close(dense(5), dense.weight[:5, :5])
    conv = PreAggGraphConv(2, 3, dense, node_dim=1, per_node_weights=False)
    x = torch.zeros(1, T, J, 2)
    x[:, 2:5] = torch.randn(1, 3, J, 2)
    out, out_shift = conv(x), conv(torch.roll(x, 2, dims=1))
    assert not torch.allclose(out_shift[:, 2:], out[:, :-2], atol=1e-4)


def test_graph_non_local_starts_as_identity_and_stays_within_frames():
    torch.manual_seed(0)
    nl = GraphNonLocal(8)
    assert nl.inner == 4
    x = torch.randn(2, T, J, 8)
    assert torch.equal(nl(x), x)  # zero-initialised output projection
    perturb_zero_init(nl)
    x2 = x.clone()
    x2[1, 3, 0] += 1.0
    d = (nl(x2) - nl(x)).abs().amax(dim=-1)  # (B, T, J)
    assert (d[1, 3] > 0).all()  # every joint of that frame attends to joint 0
    d[1, 3] = 0
    assert (d == 0).all()  # no other frame or sequence changes


# ----------------------------------------------------------------------------- denoiser


def test_denoiser_shapes_zero_output_and_errors():
    torch.manual_seed(0)
    model = DiffHPE2D(tiny_denoiser_cfg())
    x2d, x_t = torch.randn(3, T, J, 2), torch.randn(3, T, J, 3)
    t = torch.tensor([0, 10, 49])
    eps = model(x_t, t, model.condition(x2d))
    assert eps.shape == (3, T, J, 3)
    assert torch.equal(eps, torch.zeros_like(eps))  # zero-initialised last layer
    short = model(x_t[:, :5], t, model.condition(x2d[:, :5]))
    assert short.shape == (3, 5, J, 3)
    with pytest.raises(ValueError, match="num_frames=9"):
        model.condition(torch.randn(3, T + 1, J, 2))
    with pytest.raises(ValueError, match="num_frames=9"):
        model.denoiser(torch.randn(3, T + 1, J, 3), t, torch.zeros(3, T + 1, J, 16))
    with pytest.raises(ValueError, match=r"\[0, num_steps=50\)"):
        model(x_t, torch.tensor([0, 10, 50]), model.condition(x2d))
    with pytest.raises(ValueError, match="integer"):
        model(x_t, t.float(), model.condition(x2d))
    with pytest.raises(ValueError, match="cond_proj"):
        model(x_t, t, torch.zeros(3, T, J, 8))
    with pytest.raises(ValueError, match="temporal_mixing"):
        tiny_denoiser_cfg(temporal_mixing="conv")


@pytest.mark.parametrize("mixing", ["relative", "dense"])
def test_project_condition_equals_concatenated_input(mixing):
    torch.manual_seed(0)
    den = GraphDenoiser(tiny_denoiser_cfg(in_channels=7, temporal_mixing=mixing), cond_channels=4)
    perturb_zero_init(den)
    x, c = torch.randn(2, T, J, 3), torch.randn(2, T, J, 4)
    t = torch.tensor([3, 30])
    for mode in (True, False):  # batch statistics, then running statistics
        den.train(mode)
        split = den(x, t, den.project_condition(c))
        concat = den.forward_concat(torch.cat([x, c], dim=-1), t)
        assert split.abs().max() > 1e-3  # not trivially zero
        torch.testing.assert_close(split, concat, atol=1e-6, rtol=0)


def test_denoiser_depends_on_step_and_condition():
    torch.manual_seed(0)
    model = DiffHPE2D(tiny_denoiser_cfg()).eval()
    perturb_zero_init(model)
    x2d, x_t = torch.randn(1, T, J, 2), torch.randn(1, T, J, 3)
    cond = model.condition(x2d)
    a = model(x_t, torch.tensor([3]), cond)
    assert not torch.allclose(a, model(x_t, torch.tensor([4]), cond))
    assert not torch.allclose(a, model(x_t, torch.tensor([3]), model.condition(x2d + 0.1)))
    # Hypotheses: repeating cond along dim 0 gives the same prediction per copy.
    rep = model(x_t.repeat(3, 1, 1, 1), torch.tensor([3, 3, 3]), cond.repeat_interleave(3, 0))
    torch.testing.assert_close(rep, a.expand(3, -1, -1, -1))


def _trainable_grads(model: nn.Module, params: list[nn.Parameter], loss: torch.Tensor) -> None:
    loss.backward()
    names = {id(p): n for n, p in model.named_parameters()}
    for p in params:
        assert p.grad is not None, names[id(p)]
        assert torch.isfinite(p.grad).all(), names[id(p)]
        assert p.grad.abs().sum() > 0, names[id(p)]


@pytest.mark.parametrize("mixing", ["relative", "dense"])
def test_every_denoiser_parameter_gets_a_gradient(mixing):
    torch.manual_seed(0)
    cfg = tiny_denoiser_cfg(in_channels=6, temporal_mixing=mixing, dropout=0.1)
    model = DiffHPE2D(cfg, use_visibility=True)
    perturb_zero_init(model)
    x2d, x_t = torch.randn(2, T, J, 2), torch.randn(2, T, J, 3)
    visible = torch.rand(2, T, J) > 0.3
    eps = model(x_t, torch.tensor([1, 7]), model.condition(x2d, visible))
    _trainable_grads(model, list(model.parameters()), (eps**2).mean())


def test_every_mixste_parameter_gets_a_gradient():
    torch.manual_seed(0)
    m = MixSTE(tiny_mixste_cfg())
    _trainable_grads(m, list(m.parameters()), (m(torch.randn(2, T, J, 2)) ** 2).mean())


def test_denoiser_overfits_eps_on_a_fixed_batch():
    torch.manual_seed(0)
    model = DiffHPE2D(tiny_denoiser_cfg())
    x2d, x0, eps = torch.randn(4, T, J, 2), torch.randn(4, T, J, 3), torch.randn(4, T, J, 3)
    t = torch.tensor([5, 10, 20, 40])
    abar = torch.tensor([0.9, 0.7, 0.4, 0.1]).view(4, 1, 1, 1)
    x_t = abar.sqrt() * x0 + (1 - abar).sqrt() * eps
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(150):
        loss = ((model(x_t, t, model.condition(x2d)) - eps) ** 2).mean()
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert losses[-1] < 0.1 * losses[0]


# ----------------------------------------------------------------------------- lifters


def test_diffhpe2d_visibility_channel():
    torch.manual_seed(0)
    with pytest.raises(ValueError, match="3 noisy \\+ 3 conditioning = 6"):
        DiffHPE2D(tiny_denoiser_cfg(in_channels=5), use_visibility=True)
    with pytest.raises(ValueError, match="= 5"):
        DiffHPE2D(tiny_denoiser_cfg(in_channels=6))
    assert DiffHPE2D.denoiser_in_channels(True) == 6
    model = DiffHPE2D(tiny_denoiser_cfg(in_channels=6), use_visibility=True)
    x2d = torch.randn(1, T, J, 2)
    all_visible = torch.ones(1, T, J, dtype=torch.bool)
    torch.testing.assert_close(model.condition(x2d), model.condition(x2d, all_visible))
    some_hidden = all_visible.clone()
    some_hidden[0, 2, 5] = False
    d = (model.condition(x2d, some_hidden) - model.condition(x2d)).abs().amax(-1)
    assert d[0, 2, 5] > 0 and d.sum() == d[0, 2, 5]
    with pytest.raises(ValueError, match="visible must be"):
        model.condition(x2d, all_visible[:, :4])


def _wrapper(seed: int = 0) -> DiffHPEWrapper:
    torch.manual_seed(seed)
    backbone = MixSTE(tiny_mixste_cfg(dropout=0.1, drop_path=0.1))
    return DiffHPEWrapper(backbone, tiny_denoiser_cfg(in_channels=32))


def test_wrapper_shapes_and_channel_check():
    w = _wrapper()
    x2d = torch.randn(2, T, J, 2)
    cond = w.condition(x2d, torch.ones(2, T, J, dtype=torch.bool))
    assert cond.shape == (2, T, J, 16)
    assert w(torch.randn(2, T, J, 3), torch.tensor([0, 1]), cond).shape == (2, T, J, 3)
    assert w(torch.randn(2, 5, J, 3), torch.tensor([0, 1]), w.condition(x2d[:, :5])).shape == (
        2,
        5,
        J,
        3,
    )
    with pytest.raises(ValueError, match=r"2 x backbone dim \+ use_visibility = 32"):
        DiffHPEWrapper(MixSTE(tiny_mixste_cfg()), tiny_denoiser_cfg(in_channels=5))


def test_wrapper_backbone_stays_frozen():
    w = _wrapper()
    perturb_zero_init(w)
    w.train()
    assert w.training and w.denoiser.training and not w.backbone.training
    assert not any(m.training for m in w.backbone.modules())
    before = {k: v.clone() for k, v in w.backbone.state_dict().items()}
    # Even an optimiser over all parameters (weight decay included) leaves it untouched.
    opt = torch.optim.AdamW(w.parameters(), lr=1e-2, weight_decay=0.1)
    g = torch.Generator().manual_seed(1)
    for _ in range(3):
        x2d = torch.randn(2, T, J, 2, generator=g)
        e2d = w.backbone_features(x2d)
        assert not e2d.requires_grad and e2d.grad_fn is None
        cond = w.condition(x2d)
        eps = torch.randn(2, T, J, 3, generator=g)
        loss = (w(torch.randn(2, T, J, 3, generator=g), torch.tensor([2, 9]), cond) - eps) ** 2
        opt.zero_grad()
        loss.mean().backward()
        assert all(p.grad is None for p in w.backbone.parameters())
        assert w.embed_3d.weight.grad is not None and w.denoiser.input_cond.weight.grad is not None
        opt.step()
    after = w.backbone.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    # Under no_grad (as in sampling) the conditioning carries no graph at all.
    with torch.no_grad():
        assert not w.condition(torch.randn(1, T, J, 2)).requires_grad


def test_wrapper_parameters_and_state_dicts():
    w = _wrapper()
    backbone_ids = {id(p) for p in w.backbone.parameters()}
    trainable = w.trainable_parameters()
    assert not backbone_ids & {id(p) for p in trainable}
    assert len(trainable) + len(backbone_ids) == len(list(w.parameters()))
    assert all(not p.requires_grad for p in w.backbone.parameters())
    assert count_parameters(w, trainable_only=True) == sum(p.numel() for p in trainable)
    assert count_parameters(w) == count_parameters(w.backbone) + sum(p.numel() for p in trainable)
    sd = w.state_dict()
    assert any(k.startswith("backbone.") for k in sd)
    den_sd = w.denoiser_state_dict()
    assert den_sd.keys() == {k for k in sd if not k.startswith("backbone.")}
    # A checkpoint is self-contained: a fresh wrapper reproduces the predictions exactly.
    w2 = _wrapper(seed=1)
    w2.load_state_dict(sd)
    w.eval(), w2.eval()
    x2d, x_t, t = torch.randn(1, T, J, 2), torch.randn(1, T, J, 3), torch.tensor([4])
    perturb_zero_init(w)
    w2.load_state_dict(w.state_dict())
    assert torch.equal(w(x_t, t, w.condition(x2d)), w2(x_t, t, w2.condition(x2d)))


def test_wrapper_warm_start_samples_around_its_mixste_estimate():
    """init='backbone': hypotheses start from the MixSTE pose noised to start_step (here
    0); with a fresh (eps = 0) denoiser and one deterministic DDIM step each hypothesis is
    that pose plus sqrt((1 - abar_0) / abar_0) noise, so their mean is the MixSTE pose."""
    from diffhpe.config import DiffusionConfig
    from diffhpe.inference import predict, with_sampling

    w = _wrapper().eval()
    x2d = torch.randn(2, T, J, 2, generator=torch.Generator().manual_seed(3))
    cond, estimate = w.condition_and_estimate(x2d)
    torch.testing.assert_close(cond, w.condition(x2d))
    torch.testing.assert_close(estimate, w.backbone(x2d))
    want = estimate - estimate[..., :1, :]
    warm = with_sampling(
        DiffusionConfig(),
        init="backbone",
        start_step=0,
        sampler="ddim",
        sample_steps=1,
        eta=0.0,
        hypotheses=4000,
    )
    pred = predict(w, x2d, None, warm, torch.Generator().manual_seed(4))
    assert (pred.pose - want).abs().max() < 5e-3  # noise sd 0.042 / sqrt(4000) = 7e-4
    cold = with_sampling(warm, init="noise", sample_steps=1, hypotheses=50)
    assert cold.start_step is None
    far = predict(w, x2d, None, cold, torch.Generator().manual_seed(4))
    assert (far.pose - want).abs().max() > 0.5  # pure noise is nowhere near it
    model2d = DiffHPE2D(tiny_denoiser_cfg(in_channels=DiffHPE2D.denoiser_in_channels()))
    with pytest.raises(ValueError, match="needs a DiffHPE-Wrapper"):
        predict(model2d.eval(), x2d, None, warm)


# ----------------------------------------------------------------------------- cost


class _MatmulFlops(TorchDispatchMode):
    """Counts 2 x multiply-adds of every (batched) matrix product, in-place ones included."""

    def __init__(self) -> None:
        super().__init__()
        self.flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        if name in ("mm", "bmm"):
            a, b = args[0], args[1]
        elif name in ("addmm", "addmm_", "baddbmm", "baddbmm_"):
            a, b = args[1], args[2]
        else:
            a = None
        if a is not None:
            batch = a.shape[0] if a.dim() == 3 else 1
            self.flops += 2 * batch * a.shape[-2] * a.shape[-1] * b.shape[-1]
        return func(*args, **(kwargs or {}))


def test_denoiser_flops_match_counted_matmuls():
    for cfg, n_frames in ((tiny_denoiser_cfg(), T), (tiny_denoiser_cfg(in_channels=7), 5)):
        den = GraphDenoiser(cfg, cond_channels=cfg.in_channels - 3).eval()
        x = torch.randn(1, n_frames, J, cfg.in_channels)
        with torch.no_grad(), _MatmulFlops() as counter:
            den.forward_concat(x, torch.tensor([1]))
        assert counter.flops == denoiser_flops(cfg, n_frames, J)
    paper = denoiser_flops(DenoiserConfig(in_channels=5), 27, J)
    assert 0.6e9 < paper < 0.7e9  # the authors' code: ~0.62 GFLOP per window per call
    # Linear in the number of blocks.
    per_block = paper - denoiser_flops(DenoiserConfig(in_channels=5, num_blocks=15), 27, J)
    big = denoiser_flops(DenoiserConfig(in_channels=5, num_blocks=32), 27, J)
    assert math.isclose(big - paper, 16 * per_block)
