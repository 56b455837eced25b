"""Occlusion patterns of paper section 5.2 as visibility masks.

Shapes: B batch (windows), T frames, J joints (17), C coordinates.
A mask is ``(B, T, J)`` bool with True = visible. Following the paper, "omitting a
keypoint corresponds to setting its value to 0": :func:`apply_mask` zeros the
missing 2D keypoints and the mask itself is kept so models may use it too.

The patterns come from Saadatnejad et al.'s TCD benchmark:

- ``none``: every keypoint visible.
- ``random``: each keypoint of each frame missing independently with p = 0.2.
- ``left_arm_right_leg`` ("random leg and arm"): each frame, with p = 0.4, loses all
  left-arm and right-leg keypoints.
- ``consecutive_right_leg``: one run of round(10 T / 27) consecutive frames (10 at
  T = 27, ~40 %) loses the right-leg keypoints.
- ``consecutive_frames``: one run of round(5 T / 27) consecutive frames (5 at
  T = 27, ~20 %) loses every keypoint.

Beyond the paper, absences that last the whole window, as real inputs have them (a
detector without a nose or a head top, a limb out of view for a whole clip):

- ``absent`` (training): every frame of the window loses one joint group drawn from
  :data:`ABSENCE_DRAWS`: any single joint, a whole limb, a forearm or shin, the head
  joints a detector family may lack, or one side of the body.
- ``missing:NAME`` (testing): every frame loses the joint ``NAME`` (e.g.
  ``missing:Neck/Nose``) or the group ``NAME`` of :data:`JOINT_GROUPS` (e.g.
  ``missing:left_arm``), to measure what that absence costs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from diffhpe.skeleton import JOINT_NAMES, LEFT_ARM, NUM_JOINTS, RIGHT_LEG

PATTERNS: tuple[str, ...] = (
    "none",
    "random",
    "left_arm_right_leg",
    "consecutive_right_leg",
    "consecutive_frames",
)
# Whole-window absences (not in the paper's mixture "mix"): see the module docstring.
ABSENCE_PATTERNS: tuple[str, ...] = ("absent",)
MISSING_PREFIX = "missing:"

# Named joint groups (Human3.6M indices) for ``missing:NAME`` and ``absent``.
JOINT_GROUPS: dict[str, tuple[int, ...]] = {
    "left_arm": (11, 12, 13),
    "right_arm": (14, 15, 16),
    "left_leg": (4, 5, 6),
    "right_leg": (1, 2, 3),
    "left_forearm": (12, 13),
    "right_forearm": (15, 16),
    "left_shin": (5, 6),
    "right_shin": (2, 3),
    # What 2D detector families lack: MPII has no nose, some have no head top.
    "head": (9, 10),
    "left_side": (4, 5, 6, 11, 12, 13),
    "right_side": (1, 2, 3, 14, 15, 16),
}
# ``absent`` draws one of these kinds per window (probabilities), then one member of
# the kind uniformly: a single joint (any of the 17), a limb, a forearm or shin, the
# head joints (or one of them), a side.
ABSENCE_DRAWS: tuple[tuple[float, tuple[tuple[int, ...], ...]], ...] = (
    (0.45, tuple((j,) for j in range(NUM_JOINTS))),
    (0.15, tuple(JOINT_GROUPS[g] for g in ("left_arm", "right_arm", "left_leg", "right_leg"))),
    (
        0.15,
        tuple(
            JOINT_GROUPS[g] for g in ("left_forearm", "right_forearm", "left_shin", "right_shin")
        ),
    ),
    (0.15, (JOINT_GROUPS["head"], (9,), (10,))),
    (0.10, (JOINT_GROUPS["left_side"], JOINT_GROUPS["right_side"])),
)
# Patterns that name Human3.6M joints, hence need the 17-joint layout.
_SKELETON_PATTERNS = ("left_arm_right_leg", "consecutive_right_leg", "absent")


def missing_joints(pattern: str) -> tuple[int, ...]:
    """Joint indices of a ``missing:NAME`` pattern (a joint or a :data:`JOINT_GROUPS` name)."""
    name = pattern[len(MISSING_PREFIX) :]
    if name in JOINT_GROUPS:
        return JOINT_GROUPS[name]
    if name in JOINT_NAMES:
        return (JOINT_NAMES.index(name),)
    raise ValueError(
        f"occlusion pattern {pattern!r}: unknown joint or group {name!r}; expected one of "
        f"{JOINT_NAMES} or {tuple(JOINT_GROUPS)}"
    )


def _check_pattern(name: str, where: str) -> None:
    if name.startswith(MISSING_PREFIX):
        missing_joints(name)
        return
    if name not in PATTERNS + ABSENCE_PATTERNS:
        raise ValueError(
            f"{where}: unknown occlusion pattern {name!r}; expected one of "
            f"{PATTERNS + ABSENCE_PATTERNS} or 'missing:JOINT' (a joint name or one of "
            f"{tuple(JOINT_GROUPS)}), or 'mix'; weighted as 'name:weight,...'"
        )


@dataclass(frozen=True)
class OcclusionSpec:
    """Which occlusion patterns to draw, with what weights and parameters.

    Each window independently draws one of ``patterns`` with probabilities
    proportional to ``weights`` (uniform when None).
    """

    patterns: tuple[str, ...] = ("none",)
    weights: tuple[float, ...] | None = None
    p_random: float = 0.2
    """Per-keypoint missing probability of ``random``."""
    p_arm_leg: float = 0.4
    """Per-frame probability of ``left_arm_right_leg``."""
    leg_run_fraction: float = 10 / 27
    """Run length of ``consecutive_right_leg`` as a fraction of T (10 frames at T = 27)."""
    frames_run_fraction: float = 5 / 27
    """Run length of ``consecutive_frames`` as a fraction of T (5 frames at T = 27)."""

    def __post_init__(self) -> None:
        # Lists from YAML configs are accepted and frozen into tuples.
        object.__setattr__(self, "patterns", tuple(self.patterns))
        if self.weights is not None:
            object.__setattr__(self, "weights", tuple(float(w) for w in self.weights))
        if not self.patterns:
            raise ValueError("OcclusionSpec.patterns: expected at least one pattern, got none")
        for name in self.patterns:
            _check_pattern(name, "OcclusionSpec.patterns")
        if len(set(self.patterns)) != len(self.patterns):
            raise ValueError(f"OcclusionSpec.patterns: repeated pattern in {self.patterns}")
        weights = self.weights if self.weights is not None else (1.0,) * len(self.patterns)
        if len(weights) != len(self.patterns):
            raise ValueError(
                f"OcclusionSpec.weights: expected {len(self.patterns)} weights "
                f"(one per pattern {self.patterns}), got {len(weights)}"
            )
        if any(not math.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(
                f"OcclusionSpec.weights: expected finite non-negative weights with a "
                f"positive sum, got {weights}"
            )
        for name in ("p_random", "p_arm_leg"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"OcclusionSpec.{name}: expected a probability in [0, 1], got {p}")
        for name in ("leg_run_fraction", "frames_run_fraction"):
            f = getattr(self, name)
            if not 0.0 < f <= 1.0:
                raise ValueError(f"OcclusionSpec.{name}: expected a fraction in (0, 1], got {f}")

    @property
    def probabilities(self) -> tuple[float, ...]:
        """Normalised probability of each pattern, in the order of ``patterns``."""
        weights = self.weights if self.weights is not None else (1.0,) * len(self.patterns)
        total = sum(weights)
        return tuple(w / total for w in weights)

    @classmethod
    def parse(cls, text: str, **params: float) -> OcclusionSpec:
        """Spec from a string; ``params`` override the pattern parameters.

        Accepted: one name (``"random"``), ``"mix"`` / ``"mixture"`` (all five patterns,
        ``none`` included, uniform), comma-separated names (uniform), or
        ``"name:weight,..."`` (e.g. ``"random:1,consecutive_frames:2"``). A
        ``missing:NAME`` pattern takes its weight after a second colon
        (``"missing:Neck/Nose:0.5"``).
        """
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"occlusion spec: expected a non-empty string, got {text!r}")
        text = text.strip()
        if text in ("mix", "mixture"):
            return cls(patterns=PATTERNS, **params)
        names: list[str] = []
        weights: list[float] = []
        for item in text.split(","):
            item = item.strip()
            head = ""
            if item.startswith(MISSING_PREFIX):
                head, item = MISSING_PREFIX, item[len(MISSING_PREFIX) :]
            name, sep, weight = (part.strip() for part in item.partition(":"))
            name = head + name
            _check_pattern(name, f"occlusion spec {text!r}")
            names.append(name)
            if sep:
                try:
                    weights.append(float(weight))
                except ValueError:
                    raise ValueError(
                        f"occlusion spec {text!r}: weight of {name!r} must be a number, "
                        f"got {weight!r}"
                    ) from None
        if weights and len(weights) != len(names):
            raise ValueError(
                f"occlusion spec {text!r}: give a weight to every pattern or to none of them"
            )
        return cls(patterns=tuple(names), weights=tuple(weights) if weights else None, **params)

    def to_string(self) -> str:
        """Canonical string that :meth:`parse` maps back to the same patterns and weights."""
        if self.weights is None:
            return ",".join(self.patterns)
        return ",".join(f"{n}:{w!r}" for n, w in zip(self.patterns, self.weights, strict=True))


def run_length(fraction: float, frames: int) -> int:
    """Frames of a consecutive-occlusion run: round(fraction * T), within [1, T]."""
    return min(frames, max(1, round(fraction * frames)))


def _joint_selector(joints: tuple[int, ...], num_joints: int, device: torch.device) -> Tensor:
    sel = torch.zeros(num_joints, dtype=torch.bool, device=device)
    sel[list(joints)] = True
    return sel


def _consecutive_run(
    n: int, frames: int, length: int, generator: torch.Generator | None, device: torch.device
) -> Tensor:
    """(n, T) bool, True on one run of ``length`` frames with a uniform start per window."""
    start = torch.randint(0, frames - length + 1, (n, 1), generator=generator, device=device)
    t = torch.arange(frames, device=device)
    return (t >= start) & (t < start + length)


def _missing(
    pattern: str,
    spec: OcclusionSpec,
    n: int,
    frames: int,
    joints: int,
    generator: torch.Generator | None,
    device: torch.device,
) -> Tensor:
    """(n, T, J) bool, True where a keypoint is missing under one pattern."""
    if pattern == "none":
        return torch.zeros(n, frames, joints, dtype=torch.bool, device=device)
    if pattern == "random":
        return torch.rand(n, frames, joints, generator=generator, device=device) < spec.p_random
    if pattern == "left_arm_right_leg":
        hit = torch.rand(n, frames, generator=generator, device=device) < spec.p_arm_leg
        sel = _joint_selector(LEFT_ARM + RIGHT_LEG, joints, device)
        return hit[:, :, None] & sel
    if pattern == "consecutive_right_leg":
        run = _consecutive_run(
            n, frames, run_length(spec.leg_run_fraction, frames), generator, device
        )
        return run[:, :, None] & _joint_selector(RIGHT_LEG, joints, device)
    if pattern == "consecutive_frames":
        run = _consecutive_run(
            n, frames, run_length(spec.frames_run_fraction, frames), generator, device
        )
        return run[:, :, None].expand(n, frames, joints)
    if pattern.startswith(MISSING_PREFIX):
        sel = _joint_selector(missing_joints(pattern), joints, device)
        return sel.expand(n, frames, joints).clone()
    if pattern == "absent":
        return _absent(n, frames, joints, generator, device)
    raise ValueError(f"unknown occlusion pattern {pattern!r}; expected one of {PATTERNS}")


def _absent(
    n: int, frames: int, joints: int, generator: torch.Generator | None, device: torch.device
) -> Tensor:
    """(n, T, J) bool: each window loses one group of :data:`ABSENCE_DRAWS` in every frame."""
    groups = [g for _, members in ABSENCE_DRAWS for g in members]
    # Probability of each group: its kind's probability shared among the kind's members.
    probs = [p / len(members) for p, members in ABSENCE_DRAWS for _ in members]
    table = torch.zeros(len(groups), joints, dtype=torch.bool, device=device)
    for i, g in enumerate(groups):
        table[i, list(g)] = True
    weights = torch.tensor(probs, dtype=torch.float64, device=device)
    if n == 0:
        return torch.zeros(0, frames, joints, dtype=torch.bool, device=device)
    pick = torch.multinomial(weights, n, replacement=True, generator=generator)
    return table[pick][:, None, :].expand(n, frames, joints).clone()


def sample_mask(
    spec: OcclusionSpec,
    batch: int,
    frames: int,
    joints: int = NUM_JOINTS,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """Visibility mask ``(B, T, J)`` bool (True = visible), one pattern drawn per window.

    Random numbers are drawn on the generator's device (CPU without one) so that a
    seeded CPU generator gives the same masks whatever ``device`` the result goes to.
    """
    if batch < 0 or frames < 1 or joints < 1:
        raise ValueError(
            f"sample_mask: expected batch >= 0, frames >= 1, joints >= 1, "
            f"got batch={batch}, frames={frames}, joints={joints}"
        )
    if joints != NUM_JOINTS and any(
        p in _SKELETON_PATTERNS or p.startswith(MISSING_PREFIX) for p in spec.patterns
    ):
        raise ValueError(
            f"sample_mask: patterns {_SKELETON_PATTERNS} need the {NUM_JOINTS}-joint "
            f"Human3.6M skeleton, got joints={joints}"
        )
    gen_device = generator.device if generator is not None else torch.device("cpu")
    if len(spec.patterns) == 1:
        missing = _missing(spec.patterns[0], spec, batch, frames, joints, generator, gen_device)
    else:
        probs = torch.tensor(spec.probabilities, dtype=torch.float64, device=gen_device)
        if batch > 0:
            choice = torch.multinomial(probs, batch, replacement=True, generator=generator)
        else:
            choice = torch.zeros(0, dtype=torch.long, device=gen_device)
        missing = torch.zeros(batch, frames, joints, dtype=torch.bool, device=gen_device)
        # Each pattern is drawn only for the windows that picked it.
        for k, pattern in enumerate(spec.patterns):
            idx = (choice == k).nonzero(as_tuple=True)[0]
            if idx.numel() > 0:
                missing[idx] = _missing(
                    pattern, spec, idx.numel(), frames, joints, generator, gen_device
                )
    return (~missing).to(device if device is not None else gen_device)


def apply_mask(x2d: Tensor, mask: Tensor) -> Tensor:
    """``(B, T, J, 2)`` keypoints with the missing ones (mask False) set exactly to 0."""
    if mask.dtype != torch.bool:
        raise ValueError(f"apply_mask: mask must be a bool tensor, got dtype {mask.dtype}")
    if x2d.ndim < 1 or tuple(x2d.shape[:-1]) != tuple(mask.shape):
        raise ValueError(
            f"apply_mask: x2d (B, T, J, C) and mask (B, T, J) disagree: "
            f"x2d {tuple(x2d.shape)}, mask {tuple(mask.shape)}"
        )
    # where() rather than a product so NaN coordinates of missing joints become 0 too.
    return torch.where(mask[..., None], x2d, torch.zeros((), dtype=x2d.dtype, device=x2d.device))


def mask_from_nan(x2d: Tensor) -> tuple[Tensor, Tensor]:
    """``(x2d, mask)`` for real inputs: a joint with any NaN coordinate is missing.

    Returns the keypoints ``(B, T, J, C)`` with missing joints zeroed and the mask
    ``(B, T, J)`` bool (True = visible).
    """
    if x2d.ndim < 1:
        raise ValueError(f"mask_from_nan: expected x2d (B, T, J, C), got shape {tuple(x2d.shape)}")
    mask = ~torch.isnan(x2d).any(dim=-1)
    return apply_mask(x2d, mask), mask


def occlude(
    x2d: Tensor,
    spec: OcclusionSpec,
    generator: torch.Generator | None = None,
    valid: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Draw masks for a batch ``(B, T, J, 2)`` and apply them: returns ``(x2d, mask)``.

    ``valid`` ``(B, T, J)`` (e.g. joints already missing in the data) is combined with
    the drawn mask, so a joint is visible only when both say so.
    """
    if x2d.ndim != 4:
        raise ValueError(f"occlude: expected x2d (B, T, J, C), got shape {tuple(x2d.shape)}")
    b, t, j, _ = x2d.shape
    mask = sample_mask(spec, b, t, j, generator=generator, device=x2d.device)
    if valid is not None:
        if tuple(valid.shape) != (b, t, j) or valid.dtype != torch.bool:
            raise ValueError(
                f"occlude: valid must be a bool tensor of shape {(b, t, j)}, "
                f"got {valid.dtype} {tuple(valid.shape)}"
            )
        mask = mask & valid.to(mask.device)
    return apply_mask(x2d, mask), mask
