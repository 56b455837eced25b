"""``diffhpe experiment paper``: re-measure the paper's results and write ``docs/RESULTS.md``.

A YAML manifest (default: ``configs/experiments/paper.yaml``) names trained checkpoints;
this package evaluates them with :func:`diffhpe.evaluation.evaluate` and writes

- ``RESULTS.md``: analogues of the paper's Table 2 (section 5.1), Table 4 (5.2), the
  train x test occlusion matrices of Figures 3-5 (5.3-5.4), a sampling study (H and
  the sampler) and a "Claims" section whose verdicts are computed from the numbers;
- ``figures/*.png``: the matrices as annotated heatmaps;
- ``results/*.json``: every raw evaluation summary, one file per evaluation.

An evaluation whose JSON already holds the same cache key (checkpoint SHA-256,
benchmark.json SHA-256 and every evaluation option) is reused unless ``force``; so a
re-run rewrites the page from the stored numbers, and the same seed gives the same
numbers. A missing checkpoint never stops the page: its cells say "not run".

Modules (see docs/ARCHITECTURE.md for where each kind of change goes):

- ``manifest``: the typed manifest; ``job``: what one evaluation is (sampling, subset);
- ``cache``: the evaluation cache (``Evaluator``, cache keys); ``provenance``: run records
  (training time, hardware, why training ended) and each section's provenance block;
- ``markdown``: display names, numbers, tables; ``notes``: "not run" and checkpoint-role lines;
- ``section_table2``, ``section_table4``, ``section_matrices``, ``section_sampling``,
  ``section_denoising``, ``section_claims``: one page section each, ``collect`` then ``render``;
- ``results``: the immutable results every section collected; ``claims``: the paper's
  claims as data; ``page``: the order of the page and the ``diffhpe experiment paper`` CLI.

The names below are this package's public surface, as it was when it was one module.
"""

from __future__ import annotations

from diffhpe.experiments.cache import (
    CACHE_VERSION,
    Evaluation,
    Evaluator,
    cache_options,
    evaluate_command,
    metric,
)
from diffhpe.experiments.claims import CLAIMS, Claim, ClaimSpec, judge_all
from diffhpe.experiments.job import Job, SamplerSetting, Subset
from diffhpe.experiments.manifest import (
    MATRIX_METRICS,
    MATRIX_MODELS,
    PAPER_MANIFEST,
    REFERENCE_METRICS,
    SAMPLER_KEYS,
    TABLE2_MODELS,
    TABLE4_COLUMNS,
    DenoisingManifest,
    EvalSettings,
    Manifest,
    OcclusionManifest,
    SamplingManifest,
    Table2Manifest,
    _parse_sampler,
    load_manifest,
)
from diffhpe.experiments.markdown import DISPLAY
from diffhpe.experiments.notes import backbone_notes
from diffhpe.experiments.page import (
    add_experiment_parser,
    cmd_experiment_paper,
    run_paper_experiment,
)
from diffhpe.experiments.provenance import (
    CheckpointInfo,
    _started_from,
    _val_occlusion,
    _validation_curve,
    checkpoint_info,
    provenance_lines,
    run_state,
    training_end,
    training_hardware,
    training_time,
)
from diffhpe.experiments.results import Results, matrix, numbers
from diffhpe.experiments.section_claims import training_status
from diffhpe.experiments.section_matrices import draw_matrices
from diffhpe.experiments.section_sampling import _shipped_vs_mixste

__all__ = [
    "CACHE_VERSION",
    "CLAIMS",
    "DISPLAY",
    "MATRIX_METRICS",
    "MATRIX_MODELS",
    "PAPER_MANIFEST",
    "REFERENCE_METRICS",
    "SAMPLER_KEYS",
    "TABLE2_MODELS",
    "TABLE4_COLUMNS",
    "CheckpointInfo",
    "Claim",
    "ClaimSpec",
    "DenoisingManifest",
    "EvalSettings",
    "Evaluation",
    "Evaluator",
    "Job",
    "Manifest",
    "OcclusionManifest",
    "Results",
    "SamplerSetting",
    "SamplingManifest",
    "Subset",
    "Table2Manifest",
    "add_experiment_parser",
    "backbone_notes",
    "cache_options",
    "checkpoint_info",
    "cmd_experiment_paper",
    "draw_matrices",
    "evaluate_command",
    "judge_all",
    "load_manifest",
    "matrix",
    "metric",
    "numbers",
    "provenance_lines",
    "run_paper_experiment",
    "run_state",
    "training_end",
    "training_hardware",
    "training_status",
    "training_time",
    # private helpers the tests reach through the package, as before the split
    "_parse_sampler",
    "_shipped_vs_mixste",
    "_started_from",
    "_val_occlusion",
    "_validation_curve",
]
