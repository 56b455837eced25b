"""Biovision BVH files (HIERARCHY + MOTION) and their forward kinematics.

Shapes: N frames, C channels per frame, P FK points (joints and End Sites, named
``<joint>:end``, in file order).

BVH semantics: a joint's local transform is translate(OFFSET + its position channels)
then its rotation channels composed in the listed order, intrinsically:
``CHANNELS 3 Zrotation Xrotation Yrotation`` gives R = Rz @ Rx @ Ry. Global:
R = R_parent @ R_local, p = p_parent + R_parent @ (offset + position channels).
Channel orders may differ between joints and position channels may sit on any joint.
Angles are degrees. Units and up axis are not stored in the file (see
:mod:`diffhpe.io.mocap`).

Parsing tolerates CRLF/mixed line endings, tabs and unindented lines; bad input raises
``ValueError`` naming the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from diffhpe.io.kinematics import Kinematics, euler_matrix

_CHANNELS = ("xposition", "yposition", "zposition", "xrotation", "yrotation", "zrotation")


@dataclass
class BvhJoint:
    """A joint or End Site: offset (3,), channel names (lower case) and their first
    column in a MOTION row."""

    name: str
    parent: int
    offset: np.ndarray
    channels: tuple[str, ...]
    column: int
    end_site: bool = False


@dataclass
class BvhData:
    """A parsed file: joints (parents first) and motion (N, C) in file units/degrees."""

    source: str
    joints: list[BvhJoint]
    motion: np.ndarray
    frame_time: float

    @property
    def fps(self) -> float:
        """1 / Frame Time, snapped to an integer within 1e-4 relative: files print
        0.0083333 for 120 Hz."""
        fps = 1.0 / self.frame_time
        return float(round(fps)) if abs(fps - round(fps)) < 1e-4 * fps else fps


class _Tokens:
    """Header tokens with their line numbers, for error messages."""

    def __init__(self, lines: list[str], path: Path) -> None:
        self.items = [(t, no) for no, line in enumerate(lines, 1) for t in line.split()]
        self.i = 0
        self.path = path

    def where(self) -> str:
        no = self.items[min(self.i, len(self.items) - 1)][1] if self.items else 1
        return f"{self.path}:{no}"

    def next(self, what: str) -> str:
        if self.i >= len(self.items):
            raise ValueError(f"{self.path}: file ends while expecting {what}")
        tok = self.items[self.i][0]
        self.i += 1
        return tok

    def expect(self, word: str) -> None:
        tok = self.next(repr(word))
        if tok.upper() != word.upper():
            self.i -= 1
            raise ValueError(f"{self.where()}: expected {word!r}, got {tok!r}")

    def floats(self, n: int, what: str) -> np.ndarray:
        toks = [self.next(what) for _ in range(n)]
        try:
            return np.array([float(t) for t in toks])
        except ValueError:
            self.i -= n
            raise ValueError(f"{self.where()}: {what} needs {n} numbers, got {toks}") from None


def _parse_joint(tok: _Tokens, name: str, parent: int, joints: list[BvhJoint], col: int) -> int:
    """Parse ``{ OFFSET .. CHANNELS .. children }`` of one joint; returns the next column."""
    tok.expect("{")
    tok.expect("OFFSET")
    offset = tok.floats(3, f"OFFSET of {name}")
    channels: tuple[str, ...] = ()
    index = len(joints)
    joints.append(BvhJoint(name, parent, offset, channels, col))
    while True:
        where = tok.where()
        word = tok.next(f"'}}' closing {name}")
        up = word.upper()
        if up == "CHANNELS":
            count = tok.next("channel count")
            if not count.isdigit():
                raise ValueError(f"{where}: CHANNELS of {name} needs a count, got {count!r}")
            channels = tuple(tok.next("channel name").lower() for _ in range(int(count)))
            bad = [c for c in channels if c not in _CHANNELS]
            if bad or len(set(channels)) != len(channels):
                raise ValueError(f"{where}: joint {name} has bad channels {channels}")
            joints[index].channels = channels
            col += len(channels)
        elif up == "JOINT":
            col = _parse_joint(tok, tok.next("joint name"), index, joints, col)
        elif up == "END":
            tok.expect("Site")
            tok.expect("{")
            tok.expect("OFFSET")
            off = tok.floats(3, f"End Site OFFSET of {name}")
            tok.expect("}")
            n_ends = sum(j.end_site and j.parent == index for j in joints)
            suffix = ":end" if n_ends == 0 else f":end{n_ends + 1}"
            joints.append(BvhJoint(name + suffix, index, off, (), col, end_site=True))
        elif up == "}":
            return col
        else:
            raise ValueError(f"{where}: unexpected {word!r} in joint {name}")


def read_bvh(path: str | Path) -> BvhData:
    """Parse a ``.bvh`` file; MOTION rows are checked for their channel count."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="latin-1").splitlines()
    except OSError as e:
        raise ValueError(f"{path}: cannot read ({e})") from None
    motion_at = next((i for i, ln in enumerate(lines) if ln.strip().upper() == "MOTION"), None)
    if motion_at is None:
        raise ValueError(f"{path}: no MOTION section")
    tok = _Tokens(lines[:motion_at], path)
    tok.expect("HIERARCHY")
    tok.expect("ROOT")
    joints: list[BvhJoint] = []
    n_channels = _parse_joint(tok, tok.next("root name"), -1, joints, 0)
    if tok.i != len(tok.items):
        raise ValueError(f"{tok.where()}: unexpected {tok.items[tok.i][0]!r} after the root")

    def header(i: int, key: str) -> str:
        ln = lines[i] if i < len(lines) else ""
        if not ln.strip().lower().startswith(key.lower()):
            raise ValueError(f"{path}:{i + 1}: expected {key!r}, got {ln.strip()!r}")
        return ln.split(":", 1)[1].strip()

    n_text = header(motion_at + 1, "Frames:")
    t_text = header(motion_at + 2, "Frame Time:")
    try:
        n_frames, frame_time = int(n_text), float(t_text)
    except ValueError:
        raise ValueError(f"{path}:{motion_at + 2}: bad Frames/Frame Time values") from None
    if not frame_time > 0:
        raise ValueError(f"{path}:{motion_at + 3}: Frame Time must be positive, got {frame_time}")
    first = motion_at + 3
    rows = [(no, ln) for no, ln in enumerate(lines[first:], first + 1) if ln.strip()]
    if len(rows) != n_frames:
        raise ValueError(f"{path}: header says {n_frames} frames, found {len(rows)} motion rows")
    counts = [len(ln.split()) for _, ln in rows]
    for (no, _), c in zip(rows, counts, strict=True):
        if c != n_channels:
            raise ValueError(f"{path}:{no}: motion row has {c} values, expected {n_channels}")
    try:
        motion = np.array(" ".join(ln for _, ln in rows).split(), dtype=np.float64)
    except ValueError:
        for no, ln in rows:
            try:
                [float(t) for t in ln.split()]
            except ValueError:
                raise ValueError(f"{path}:{no}: motion row holds a non-number") from None
        raise
    motion = motion.reshape(n_frames, n_channels)
    return BvhData(str(path), joints, motion, frame_time)


def forward_kinematics(data: BvhData, motion: np.ndarray | None = None) -> Kinematics:
    """FK of every joint and End Site, vectorised over frames -> :class:`Kinematics`.

    ``motion`` (N, C) replaces the file's channels (e.g. zeros for the rest pose).
    """
    motion = data.motion if motion is None else np.asarray(motion, dtype=np.float64)
    n = motion.shape[0]
    pos: list[np.ndarray] = []
    rot: list[np.ndarray] = []
    for j in data.joints:
        trans = np.broadcast_to(j.offset, (n, 3)).copy()
        rot_axes, rot_cols = "", []
        for k, ch in enumerate(j.channels):
            if ch.endswith("position"):
                trans[:, "xyz".index(ch[0])] += motion[:, j.column + k]
            else:
                rot_axes += ch[0]
                rot_cols.append(j.column + k)
        local = euler_matrix(np.deg2rad(motion[:, rot_cols]), rot_axes, intrinsic=True)
        if j.parent < 0:
            pos.append(trans)
            rot.append(local)
        else:
            r_par = rot[j.parent]
            pos.append(pos[j.parent] + (r_par @ trans[..., None])[..., 0])
            rot.append(r_par @ local)
    return Kinematics(
        names=tuple(j.name for j in data.joints),
        parents=tuple(j.parent for j in data.joints),
        positions=np.stack(pos, axis=1),
        rotations=np.stack(rot, axis=1),
        fps=data.fps,
        source=data.source,
    )


def rest_pose(data: BvhData) -> np.ndarray:
    """(P, 3) FK points with every channel at zero (offsets only), file units."""
    zeros = np.zeros((1, data.motion.shape[1]))
    return forward_kinematics(data, zeros).positions[0]
