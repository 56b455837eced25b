"""DiffHPE: robust, coherent 3D human pose lifting with diffusion."""

__version__ = "0.1.0"
