"""Acclaim ASF (skeleton) and AMC (motion) files, and their forward kinematics.

Shapes: N frames, P FK points (``root``, then ``<bone>:start`` and ``<bone>:end`` per
bone), K degrees of freedom of a bone.

Acclaim semantics (as used by CMU and HDM05, checked on their data: rigid bones, knees
bending backwards, left limbs on +x):

- ``axis a b c XYZ``: the bone's local frame C, rotations about the listed axes with the
  listed values, the first listed applied first (C = Rz(c) Ry(b) Rx(a) for ``XYZ``).
- ``dof rx ry rz``: an AMC line gives one value per dof in this order; the motion
  rotation M applies them in the same order (M = Rz Ry Rx).
- global rotation L = L_parent C M C^-1; bone end = bone start + L direction length,
  where ``direction`` is in world axes in the rest pose; a bone starts where its parent
  ends (the root's children start at the root position).
- root: ``order`` lists the AMC root channels (e.g. ``TX TY TZ RX RY RZ``), rotations
  applied in the listed order; ``position`` adds to the translation; ``orientation``
  (in ``axis`` order) plays the role of C.
- ``:units length s``: VICON writes lengths as inches times s, so one unit is
  0.0254 / s metres; ``angle deg|rad``. AMC ``:DEGREES``/``:RADIANS`` override the angle.

Parsing tolerates CRLF/mixed line endings, tabs, ``#`` comments, blank lines and
non-UTF-8 bytes in comments (read as Latin-1). Bad input raises ``ValueError`` naming the
file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from diffhpe.io.kinematics import Kinematics, euler_matrix

_ROT_DOFS = ("rx", "ry", "rz")
_ROOT_CHANNELS = ("TX", "TY", "TZ", "RX", "RY", "RZ")


@dataclass
class AsfBone:
    """One ``bonedata`` entry. direction (3,) unit, world axes at rest; length in units."""

    name: str
    id: int | None = None
    direction: np.ndarray = field(default_factory=lambda: np.zeros(3))
    length: float = 0.0
    axis: tuple[float, float, float] = (0.0, 0.0, 0.0)
    axis_order: str = "XYZ"
    dof: tuple[str, ...] = ()
    limits: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class AsfSkeleton:
    """A parsed ``.asf``: units, root, bones and hierarchy (child -> parent name)."""

    source: str
    length_unit: float = 1.0  # the ``:units length`` value
    angle_deg: bool = True
    mass: float = 1.0
    root_order: tuple[str, ...] = _ROOT_CHANNELS
    root_axis: str = "XYZ"
    root_position: np.ndarray = field(default_factory=lambda: np.zeros(3))
    root_orientation: np.ndarray = field(default_factory=lambda: np.zeros(3))
    bones: dict[str, AsfBone] = field(default_factory=dict)
    parent: dict[str, str] = field(default_factory=dict)

    @property
    def metres_per_unit(self) -> float:
        return 0.0254 / self.length_unit

    def order(self) -> list[str]:
        """Bone names, parents before children (breadth first from the root)."""
        children: dict[str, list[str]] = {}
        for child, par in self.parent.items():
            children.setdefault(par, []).append(child)
        out, queue = [], list(children.get("root", []))
        while queue:
            b = queue.pop(0)
            out.append(b)
            queue.extend(children.get(b, []))
        return out


@dataclass
class AmcMotion:
    """A parsed ``.amc``: frame numbers (N,), root channels (N, len(root_order)) and
    per-bone dof values (N, K) in the bone's dof order; angles already in radians."""

    source: str
    frames: np.ndarray
    root: np.ndarray
    values: dict[str, np.ndarray]


def _read_lines(path: Path) -> list[str]:
    # Latin-1 reads every byte (HDM05 comments hold non-UTF-8 bytes); universal newlines
    # turn CRLF and lone CR into "\n".
    try:
        return path.read_text(encoding="latin-1").splitlines()
    except OSError as e:
        raise ValueError(f"{path}: cannot read ({e})") from None


def _floats(tokens: list[str], n: int, where: str, what: str) -> np.ndarray:
    if len(tokens) != n:
        raise ValueError(f"{where}: {what} needs {n} numbers, got {len(tokens)}: {tokens}")
    try:
        return np.array([float(t) for t in tokens])
    except ValueError:
        raise ValueError(f"{where}: {what} must be numbers, got {tokens}") from None


def read_asf(path: str | Path) -> AsfSkeleton:
    """Parse an ``.asf`` skeleton file."""
    path = Path(path)
    skel = AsfSkeleton(source=str(path))
    section = ""
    bone: AsfBone | None = None
    last_key = ""
    for no, raw in enumerate(_read_lines(path), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{path}:{no}"
        tok = line.split()
        if tok[0].startswith(":"):
            section = tok[0].lower()
            if section == ":name" or section == ":version":
                section = ""
            elif section not in (":units", ":documentation", ":root", ":bonedata", ":hierarchy"):
                raise ValueError(f"{where}: unknown ASF section {tok[0]!r}")
            continue
        key = tok[0].lower()
        if section == ":units":
            if key == "length":
                skel.length_unit = float(_floats(tok[1:], 1, where, "units length")[0])
                if not skel.length_unit > 0:
                    raise ValueError(f"{where}: units length must be positive")
            elif key == "angle":
                if len(tok) != 2 or tok[1].lower() not in ("deg", "rad"):
                    raise ValueError(f"{where}: units angle must be 'deg' or 'rad', got {tok[1:]}")
                skel.angle_deg = tok[1].lower() == "deg"
            elif key == "mass":
                skel.mass = float(_floats(tok[1:], 1, where, "units mass")[0])
        elif section == ":root":
            if key == "order":
                order = tuple(t.upper() for t in tok[1:])
                bad = [t for t in order if t not in _ROOT_CHANNELS]
                if bad or len(set(order)) != len(order):
                    raise ValueError(f"{where}: root order {tok[1:]} must use {_ROOT_CHANNELS}")
                skel.root_order = order
            elif key == "axis":
                skel.root_axis = _axis_order(tok[1:], where)
            elif key == "position":
                skel.root_position = _floats(tok[1:], 3, where, "root position")
            elif key == "orientation":
                skel.root_orientation = _floats(tok[1:], 3, where, "root orientation")
        elif section == ":bonedata":
            if key == "begin":
                bone = AsfBone(name="")
            elif key == "end":
                if bone is None or not bone.name:
                    raise ValueError(f"{where}: bone without a name")
                skel.bones[bone.name] = bone
                bone = None
            elif bone is None:
                raise ValueError(f"{where}: {tok[0]!r} outside begin/end")
            elif key == "id":
                bone.id = int(_floats(tok[1:], 1, where, "id")[0])
            elif key == "name":
                bone.name = tok[1]
            elif key == "direction":
                d = _floats(tok[1:], 3, where, f"bone {bone.name} direction")
                bone.direction = d / max(np.linalg.norm(d), 1e-12)
            elif key == "length":
                bone.length = float(_floats(tok[1:], 1, where, f"bone {bone.name} length")[0])
            elif key == "axis":
                a = _floats(tok[1:4], 3, where, f"bone {bone.name} axis")
                bone.axis = (float(a[0]), float(a[1]), float(a[2]))
                bone.axis_order = _axis_order(tok[4:], where)
            elif key == "dof":
                dof = tuple(t.lower() for t in tok[1:])
                bad = [d for d in dof if d not in _ROT_DOFS]
                if bad:
                    raise ValueError(
                        f"{where}: bone {bone.name} dof {bad} unsupported (only rx, ry, rz)"
                    )
                bone.dof = dof
            elif key == "limits" or (key.startswith("(") and last_key == "limits"):
                nums = line[6:] if key == "limits" else line
                vals = nums.replace("(", " ").replace(")", " ").split()
                lims = _floats(vals, len(vals) - len(vals) % 2, where, f"bone {bone.name} limits")
                bone.limits += [
                    (float(lo), float(hi)) for lo, hi in zip(lims[::2], lims[1::2], strict=True)
                ]
                key = "limits"
            elif key not in ("bodymass", "cofmass"):
                raise ValueError(f"{where}: unknown bone field {tok[0]!r}")
        elif section == ":hierarchy":
            if key in ("begin", "end"):
                continue
            for child in tok[1:]:
                if child in skel.parent:
                    raise ValueError(f"{where}: bone {child!r} has two parents")
                skel.parent[child] = tok[0]
        last_key = key
    _check_asf(skel, path)
    return skel


def _axis_order(tok: list[str], where: str) -> str:
    order = tok[0].upper() if len(tok) == 1 else ""
    if sorted(order) != ["X", "Y", "Z"]:
        raise ValueError(f"{where}: axis order must be a permutation of XYZ, got {tok}")
    return order


def _check_asf(skel: AsfSkeleton, path: Path) -> None:
    if not skel.bones:
        raise ValueError(f"{path}: no bonedata")
    for child, par in skel.parent.items():
        if child not in skel.bones:
            raise ValueError(f"{path}: hierarchy names unknown bone {child!r}")
        if par != "root" and par not in skel.bones:
            raise ValueError(f"{path}: hierarchy names unknown parent {par!r}")
    orphans = sorted(set(skel.bones) - set(skel.order()))
    if orphans:
        raise ValueError(f"{path}: bones {orphans} are not reachable from root in :hierarchy")


def read_amc(path: str | Path, skel: AsfSkeleton) -> AmcMotion:
    """Parse an ``.amc`` against its skeleton; a bone absent from every frame is zero."""
    path = Path(path)
    lines = _read_lines(path)
    deg = skel.angle_deg
    # Header: comments and ":" keywords up to the first frame number.
    start = next(
        (i for i, ln in enumerate(lines) if ln.strip() and ln.strip()[0] not in "#:"), len(lines)
    )
    for ln in lines[:start]:
        key = ln.strip().upper()
        if key in (":DEGREES", ":RADIANS"):
            deg = key == ":DEGREES"
    # Group the text of each bone's lines; numbers are parsed per bone in one numpy call.
    texts: dict[str, list[str]] = {"root": []}
    texts.update({b: [] for b, bone in skel.bones.items() if bone.dof})
    linenos: dict[str, list[int]] = {k: [] for k in texts}
    frame_of: dict[str, list[int]] = {k: [] for k in texts}
    frames: list[int] = []
    for no, raw in enumerate(lines[start:], start + 1):
        parts = raw.split(None, 1)
        if not parts or parts[0][0] == "#":
            continue
        head = parts[0]
        if head.isdigit():
            frames.append(int(head))
            continue
        if head not in texts:
            what = "has no dof" if head in skel.bones else "is not in the skeleton"
            raise ValueError(f"{path}:{no}: bone {head!r} {what} ({skel.source})")
        if not frames:
            raise ValueError(f"{path}:{no}: bone line before the first frame number")
        texts[head].append(parts[1] if len(parts) > 1 else "")
        linenos[head].append(no)
        frame_of[head].append(len(frames) - 1)
    n = len(frames)
    if n == 0:
        raise ValueError(f"{path}: no frames")
    values: dict[str, np.ndarray] = {}
    for name, rows in texts.items():
        k = len(skel.root_order) if name == "root" else len(skel.bones[name].dof)
        if not rows and name != "root":
            values[name] = np.zeros((n, k))
            continue
        if len(rows) != n or not np.array_equal(frame_of[name], np.arange(n)):
            seen = np.bincount(frame_of[name], minlength=n)
            bad = int(np.flatnonzero(seen != 1)[0])
            raise ValueError(
                f"{path}: bone {name!r} appears {seen[bad]} times in frame {frames[bad]}, "
                "expected once per frame"
            )
        flat = " ".join(rows).split()
        if len(flat) != n * k:
            for row, no in zip(rows, linenos[name], strict=True):
                if len(row.split()) != k:
                    raise ValueError(
                        f"{path}:{no}: bone {name!r} has {len(row.split())} values, expected {k}"
                    )
        try:
            arr = np.array(flat, dtype=np.float64).reshape(n, k)
        except ValueError:
            for row, no in zip(rows, linenos[name], strict=True):
                try:
                    [float(t) for t in row.split()]
                except ValueError:
                    raise ValueError(f"{path}:{no}: bone {name!r}: non-numeric value") from None
            raise
        values[name] = arr
    root = values.pop("root")
    if deg:
        for name in values:
            values[name] = np.deg2rad(values[name])
        rot = [i for i, c in enumerate(skel.root_order) if c.startswith("R")]
        root[:, rot] = np.deg2rad(root[:, rot])
    return AmcMotion(str(path), np.array(frames), root, values)


def forward_kinematics(skel: AsfSkeleton, motion: AmcMotion, fps: float = 120.0) -> Kinematics:
    """FK of every bone, vectorised over frames -> :class:`Kinematics` in ASF units."""
    n = motion.root.shape[0]
    to_rad = np.deg2rad if skel.angle_deg else np.asarray
    names, parents, pos, rot = ["root"], [-1], [], []

    order = skel.root_order
    trans = skel.root_position + np.stack(
        [motion.root[:, order.index(c)] if c in order else np.zeros(n) for c in ("TX", "TY", "TZ")],
        axis=-1,
    )
    rot_ch = [c for c in order if c.startswith("R")]
    rot_cols = [order.index(c) for c in rot_ch]
    m_root = euler_matrix(motion.root[:, rot_cols], "".join(c[1] for c in rot_ch), intrinsic=False)
    c_root = euler_matrix(to_rad(skel.root_orientation)[None], skel.root_axis, intrinsic=False)[0]
    l_root = c_root @ m_root @ c_root.T
    pos.append(trans)
    rot.append(l_root)

    end_index = {"root": 0}
    for name in skel.order():
        bone = skel.bones[name]
        par = end_index[skel.parent[name]]
        c = euler_matrix(to_rad(np.array(bone.axis))[None], bone.axis_order, intrinsic=False)[0]
        if bone.dof:
            m = euler_matrix(motion.values[name], "".join(d[1] for d in bone.dof), intrinsic=False)
            local = c @ m @ c.T
        else:
            local = np.eye(3)
        glob = rot[par] @ local
        start = pos[par]
        end = start + glob @ (bone.direction * bone.length)
        names += [f"{name}:start", f"{name}:end"]
        parents += [par, len(names) - 2]
        pos += [start, end]
        rot += [glob, glob]
        end_index[name] = len(names) - 1
    return Kinematics(
        names=tuple(names),
        parents=tuple(parents),
        positions=np.stack(pos, axis=1),
        rotations=np.stack(rot, axis=1),
        fps=float(fps),
        source=motion.source,
    )
