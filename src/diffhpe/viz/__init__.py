"""Pictures of 3D results: rendered GIF/MP4/PNG (matplotlib) and an offline HTML viewer.

Modules: ``geometry`` (display frame, scene box, projection, colours; numpy), ``render``
(matplotlib pictures), ``encode`` (GIF/MP4/PNG writers), ``html`` (the viewer).

Importing this package needs numpy only; drawing needs matplotlib (``diffhpe[viz]``)
and MP4 output imageio-ffmpeg (``diffhpe[video]``).
"""

from diffhpe.viz.encode import save_video
from diffhpe.viz.geometry import SceneBox, camera_to_display, scene_box, view_basis
from diffhpe.viz.html import write_html
from diffhpe.viz.render import PoseRenderer, render, render_frames

__all__ = [
    "PoseRenderer",
    "SceneBox",
    "camera_to_display",
    "render",
    "render_frames",
    "save_video",
    "scene_box",
    "view_basis",
    "write_html",
]
