"""Read 2D keypoints of common detectors and map them to the Human3.6M 17 joints."""

from __future__ import annotations

from diffhpe.formats.keypoints import (
    FORMATS,
    Keypoints2D,
    detect_format,
    mask_unreliable,
    read_keypoints,
)
from diffhpe.formats.mapping import TABLES, JointTable, to_h36m
from diffhpe.formats.people import LiftInput, read_people

__all__ = [
    "FORMATS",
    "TABLES",
    "JointTable",
    "Keypoints2D",
    "LiftInput",
    "detect_format",
    "mask_unreliable",
    "read_keypoints",
    "read_people",
    "to_h36m",
]
