"""Networks: the MixSTE lifter, the graph denoiser and the two DiffHPE lifters."""

from diffhpe.models.denoiser import (
    DenoiserConfig,
    GraphDenoiser,
    count_parameters,
    denoiser_flops,
)
from diffhpe.models.graph import (
    DenseTemporalAdjacency,
    GraphNonLocal,
    PreAggGraphConv,
    RelativeTemporalAdjacency,
    temporal_adjacency,
)
from diffhpe.models.lifters import DiffHPE2D, DiffHPEWrapper
from diffhpe.models.mixste import MixSTE, MixSTEConfig

__all__ = [
    "DenoiserConfig",
    "DenseTemporalAdjacency",
    "DiffHPE2D",
    "DiffHPEWrapper",
    "GraphDenoiser",
    "GraphNonLocal",
    "MixSTE",
    "MixSTEConfig",
    "PreAggGraphConv",
    "RelativeTemporalAdjacency",
    "count_parameters",
    "denoiser_flops",
    "temporal_adjacency",
]
