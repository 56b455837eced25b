"""The two DiffHPE lifters (section 3.2): DiffHPE-2D and DiffHPE-Wrapper.

B batch, T frames, J joints. Both share one interface, used by the samplers::

    cond = lifter.condition(x2d (B, T, J, 2), visible (B, T, J) bool | None)  # once a batch
    eps_hat = lifter(x_t (B, T, J, 3), t (B,) long, cond)                  # every step

``cond`` is the conditioning half of the denoiser's input projection, ``(B, T, J, C)``
(see ``GraphDenoiser.project_condition``): computed once, it can be repeated along dim 0
for several hypotheses. In training it carries gradients to that projection only (never
to a frozen backbone); under ``torch.no_grad`` it carries none.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from diffhpe.models.denoiser import DenoiserConfig, GraphDenoiser
from diffhpe.models.mixste import MixSTE


def _check_inputs(x2d: Tensor, visible: Tensor | None, where: str) -> None:
    if x2d.dim() != 4 or x2d.shape[-1] != 2:
        raise ValueError(f"{where}: x2d must be (B, T, J, 2), got {tuple(x2d.shape)}")
    if visible is not None and tuple(visible.shape) != tuple(x2d.shape[:3]):
        raise ValueError(
            f"{where}: visible must be (B, T, J) = {tuple(x2d.shape[:3])}, "
            f"got {tuple(visible.shape)}"
        )


class DiffHPE2D(nn.Module):
    """Diffusion conditioned on the raw normalised 2D keypoints (eq. 9).

    The denoiser sees ``concat([x_t, x2d])``: 3 + 2 channels, plus the visibility mask as
    a sixth channel when ``use_visibility`` (off by default, as in the paper). Missing
    keypoints must already be zeroed by the caller.
    """

    def __init__(self, denoiser_cfg: DenoiserConfig, use_visibility: bool = False) -> None:
        super().__init__()
        self.use_visibility = use_visibility
        cond_channels = 2 + int(use_visibility)
        expected = self.denoiser_in_channels(use_visibility)
        if denoiser_cfg.in_channels != expected:
            raise ValueError(
                f"DiffHPE2D: denoiser in_channels must be 3 noisy + {cond_channels} conditioning "
                f"= {expected} (use_visibility={use_visibility}), got {denoiser_cfg.in_channels}"
            )
        self.denoiser = GraphDenoiser(denoiser_cfg, cond_channels=cond_channels)

    @staticmethod
    def denoiser_in_channels(use_visibility: bool = False) -> int:
        """The ``DenoiserConfig.in_channels`` this model needs."""
        return 3 + 2 + int(use_visibility)

    def condition(self, x2d: Tensor, visible: Tensor | None = None) -> Tensor:
        """``(B, T, J, 2), (B, T, J) bool | None -> (B, T, J, C)``; all visible if ``None``."""
        _check_inputs(x2d, visible, "DiffHPE2D.condition")
        features = x2d
        if self.use_visibility:
            mask = x2d.new_ones(x2d.shape[:3]) if visible is None else visible.to(x2d.dtype)
            features = torch.cat([x2d, mask.unsqueeze(-1)], dim=-1)
        return self.denoiser.project_condition(features)

    def forward(self, x_t: Tensor, t: Tensor, cond: Tensor) -> Tensor:
        """``(B, T, J, 3), (B,), (B, T, J, C) -> eps_hat (B, T, J, 3)``."""
        return self.denoiser(x_t, t, cond)


class DiffHPEWrapper(nn.Module):
    """Diffusion conditioned on a frozen pre-trained MixSTE's features (eqs. 10-12).

    ``E2D = backbone.features(x2d)`` (no gradients, backbone always in eval mode) and
    ``E3D_t = w(x_t)`` with ``w`` a trainable linear ``3 -> D`` layer (eq. 10); the
    denoiser sees ``concat([E3D_t, E2D])`` (2D channels). ``visible`` goes to the backbone
    (used when it has a ``mask_token``) and, with ``use_visibility``, to the denoiser as
    one more conditioning channel (``concat([E3D_t, E2D, visible])``, 2D + 1 channels), so
    both networks know which keypoints are missing. Without either, missing keypoints
    are zeros (the checkpoints trained before masks).
    ``state_dict`` includes the backbone, so a checkpoint is self-contained.
    """

    def __init__(
        self, backbone: MixSTE, denoiser_cfg: DenoiserConfig, use_visibility: bool = False
    ) -> None:
        super().__init__()
        width = backbone.cfg.dim
        self.use_visibility = use_visibility
        expected = self.denoiser_in_channels(backbone, use_visibility)
        if denoiser_cfg.in_channels != expected:
            raise ValueError(
                f"DiffHPEWrapper: denoiser in_channels must be 2 x backbone dim "
                f"+ use_visibility = {expected}, got {denoiser_cfg.in_channels}"
            )
        self.backbone = backbone
        self.backbone.requires_grad_(False)
        self.backbone.eval()
        self.embed_3d = nn.Linear(3, width)  # w_theta of eq. (10)
        self.denoiser = GraphDenoiser(denoiser_cfg, cond_channels=width + int(use_visibility))

    @staticmethod
    def denoiser_in_channels(backbone: MixSTE, use_visibility: bool = False) -> int:
        """The ``DenoiserConfig.in_channels`` this model needs with ``backbone``."""
        return 2 * backbone.cfg.dim + int(use_visibility)

    def train(self, mode: bool = True) -> DiffHPEWrapper:
        """Set train/eval mode on the trainable parts; the frozen backbone stays in eval."""
        super().train(mode)
        self.backbone.eval()
        return self

    def backbone_features(self, x2d: Tensor, visible: Tensor | None = None) -> Tensor:
        """``(B, T, J, 2), (B, T, J) bool | None -> (B, T, J, D)``: E2D of eq. (10),
        without gradients."""
        with torch.no_grad():
            return self.backbone.features(x2d, visible)

    def _project(self, feats: Tensor, visible: Tensor | None) -> Tensor:
        """``(B, T, J, D)`` features (+ the mask channel) -> the denoiser's condition."""
        if self.use_visibility:
            mask = feats.new_ones(feats.shape[:3]) if visible is None else visible.to(feats.dtype)
            feats = torch.cat([feats, mask.unsqueeze(-1)], dim=-1)
        return self.denoiser.project_condition(feats)

    def condition(self, x2d: Tensor, visible: Tensor | None = None) -> Tensor:
        """``(B, T, J, 2), (B, T, J) bool | None -> (B, T, J, C)``."""
        _check_inputs(x2d, visible, "DiffHPEWrapper.condition")
        return self._project(self.backbone_features(x2d, visible), visible)

    def condition_and_estimate(
        self, x2d: Tensor, visible: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """``condition`` and the backbone's own 3D pose ``(B, T, J, 3)`` from one pass of
        the backbone: the warm start of ``diffusion.init='backbone'``."""
        _check_inputs(x2d, visible, "DiffHPEWrapper.condition_and_estimate")
        with torch.no_grad():
            feats = self.backbone.features(x2d, visible)
            estimate = self.backbone.head(feats)
        return self._project(feats, visible), estimate

    def forward(self, x_t: Tensor, t: Tensor, cond: Tensor) -> Tensor:
        """``(B, T, J, 3), (B,), (B, T, J, C) -> eps_hat (B, T, J, 3)``."""
        if x_t.dim() != 4 or x_t.shape[-1] != 3:
            raise ValueError(f"DiffHPEWrapper: x_t must be (B, T, J, 3), got {tuple(x_t.shape)}")
        return self.denoiser(self.embed_3d(x_t), t, cond)

    def trainable_parameters(self) -> list[nn.Parameter]:
        """Parameters of ``w`` and the denoiser; the backbone's are never included."""
        frozen = {id(p) for p in self.backbone.parameters()}
        return [p for p in self.parameters() if id(p) not in frozen]

    def denoiser_state_dict(self) -> dict[str, Tensor]:
        """The state dict without the ``backbone.`` entries."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("backbone.")}
