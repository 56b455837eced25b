"""DiffHPE: robust, coherent 3D human pose lifting with diffusion."""

import os as _os

# Thread policy: set before torch (and its OpenMP runtime) starts, and only when the user
# has not chosen one. With OpenMP's default ACTIVE waiting, idle threads spin and, on a
# loaded machine, lifting collapses from ~150 to ~8 frames/s (docs/PERFORMANCE.md);
# PASSIVE lets them sleep. Importing diffhpe (the CLI, `python -m diffhpe`, or `Lifter`)
# applies it; `OMP_WAIT_POLICY=ACTIVE diffhpe ...` keeps the old behaviour.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
