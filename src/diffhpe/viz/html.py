"""A self-contained interactive HTML viewer of 3D poses: one offline file, no libraries.

Shapes: T frames, J joints (17). ``pose3d`` and ``gt3d`` are ``(T, J, 3)`` metres in
the camera frame (x right, y down, z forward), ``pose2d`` ``(T, J, 2)`` (pixels or
any 2D unit), ``uncertainty`` ``(T, J)`` metres.

The page embeds the poses as JSON (3D in integer millimetres) and a small viewer
written for a 2D canvas: perspective projection of the 17 joints and 16 bones in
the upright display frame of :mod:`diffhpe.viz.geometry` (display = (x, z, -y), Z up;
with ``frame="world"`` world joints, z up, are shown as they are on the floor z = 0,
with the pelvis's track over the floor),
drag to rotate, wheel to zoom, play/pause, a frame scrubber, left/right colours,
uncertainty as disc radius and a ground-truth toggle. Everything is inline, so the
file works from ``file://`` with no network. For tests and scripting the page sets
``window.diffhpeViewer`` (numFrames, frame, drawCount, errors, setFrame, play, pause)
and mirrors the draw count onto ``#status[data-drawn]``; script errors are caught
and written into ``#errors`` and ``body[data-errors]``.
"""

from __future__ import annotations

import html as html_lib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from diffhpe.skeleton import H36M, Skeleton
from diffhpe.viz.geometry import (
    CENTER_COLOR,
    GT_COLOR,
    LEFT_COLOR,
    RIGHT_COLOR,
    TRACK_COLOR,
    check_inputs,
    scene_box,
    show_track,
    to_display,
)


def _mm(x: np.ndarray) -> list:
    """Metres -> nested lists of integer millimetres (1 mm keeps the file small)."""
    return np.rint(x * 1000.0).astype(np.int64).tolist()


def _decimals_2d(pose2d: np.ndarray) -> int:
    """Decimals giving about 1/10,000 of the 2D extent: 0.1 px for images, 1e-4 normalised."""
    pts = pose2d.reshape(-1, 2)
    pts = pts[np.isfinite(pts).all(-1)]  # missing keypoints are NaN
    extent = float(np.ptp(pts, axis=0).max()) if len(pts) else 0.0
    if extent <= 0:
        return 4
    return int(min(6, max(0, 4 - math.floor(math.log10(extent)))))


def _points_2d(pose2d: np.ndarray) -> list:
    """(T, J, 2) -> nested lists, rounded; a missing (NaN) keypoint becomes null."""
    rounded = np.round(pose2d, _decimals_2d(pose2d)).tolist()
    return [
        [p if math.isfinite(p[0]) and math.isfinite(p[1]) else None for p in f] for f in rounded
    ]


def viewer_data(
    pose3d: Any,
    pose2d: Any = None,
    uncertainty: Any = None,
    gt3d: Any = None,
    fps: float = 50,
    title: str = "diffhpe",
    skeleton: Skeleton = H36M,
    frame: str = "camera",
    track: bool | None = None,
) -> dict[str, Any]:
    """The JSON-ready payload the viewer reads (validated; 3D in integer mm).

    ``frame``: "camera" (x right, y down, z forward) or "world" (z up, floor z = 0);
    ``track``: draw the pelvis's path over the floor (default: when it moves)."""
    p3, p2, unc, gt = check_inputs(pose3d, pose2d, uncertainty, gt3d, skeleton)
    if not (isinstance(fps, int | float) and fps > 0):
        raise ValueError(f"fps: expected a number > 0, got {fps!r}")
    to_display(p3[:1, :1], frame)  # checks frame
    box = scene_box(p3, unc, gt, frame=frame)
    side = [0] * skeleton.num_joints
    for j in skeleton.left:
        side[j] = 1
    for j in skeleton.right:
        side[j] = 2
    data: dict[str, Any] = {
        "format": "diffhpe-viewer/1",
        "title": str(title),
        "fps": float(fps),
        "numFrames": int(p3.shape[0]),
        "joints": list(skeleton.names),
        "bones": skeleton.bones.tolist(),
        "side": side,
        "colors": [CENTER_COLOR, LEFT_COLOR, RIGHT_COLOR, GT_COLOR, TRACK_COLOR],
        "frame": frame,
        "track": show_track(p3, frame, track),
        "box": {
            "center": [round(float(c), 4) for c in box.center],
            "half": round(box.half, 4),
            "floor": round(box.floor, 4),
        },
        "pose3d": _mm(p3),
        "uncertainty": None if unc is None else _mm(unc),
        "gt3d": None if gt is None else _mm(gt),
        "pose2d": None if p2 is None else _points_2d(p2),
    }
    return data


def viewer_html(
    pose3d: Any,
    pose2d: Any = None,
    uncertainty: Any = None,
    gt3d: Any = None,
    fps: float = 50,
    title: str = "diffhpe",
    skeleton: Skeleton = H36M,
    frame: str = "camera",
    track: bool | None = None,
) -> str:
    """The whole HTML document as a string (see :func:`write_html`)."""
    data = viewer_data(pose3d, pose2d, uncertainty, gt3d, fps, title, skeleton, frame, track)
    # "<" only occurs inside JSON strings; escaping it keeps "</script>" out of the block.
    payload = json.dumps(data, separators=(",", ":")).replace("<", "\\u003c")
    return (
        TEMPLATE.replace("@@TITLE@@", html_lib.escape(str(title)))
        .replace("@@SCRIPT@@", VIEWER_JS)
        .replace("@@DATA@@", payload)
    )


def write_html(
    path: str | Path,
    pose3d: Any,
    pose2d: Any = None,
    uncertainty: Any = None,
    gt3d: Any = None,
    fps: float = 50,
    title: str = "diffhpe",
    skeleton: Skeleton = H36M,
    frame: str = "camera",
    track: bool | None = None,
) -> Path:
    """Write one offline HTML viewer of the sequence to ``path`` and return it
    (``frame``, ``track``: see :func:`viewer_data`)."""
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"path {str(path)!r}: expected a .html file")
    text = viewer_html(pose3d, pose2d, uncertainty, gt3d, fps, title, skeleton, frame, track)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# The page. Placeholders: @@TITLE@@ (escaped), @@DATA@@ (JSON), @@SCRIPT@@ (viewer).
# The error catcher runs first so that it also sees errors of the viewer script.
TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>@@TITLE@@</title>
<style>
  body { margin: 0; font: 14px system-ui, sans-serif; color: #222; background: #fafafa; }
  header { padding: 6px 12px; display: flex; gap: 16px; align-items: baseline; }
  header h1 { font-size: 16px; margin: 0; }
  header .legend span { margin-right: 12px; }
  #panels { display: flex; gap: 8px; padding: 0 12px; }
  #panels > div { flex: 1 1 0; min-width: 0; }
  canvas { width: 100%; height: 62vh; background: #fff; border: 1px solid #ddd;
           display: block; touch-action: none; }
  #view3d { cursor: grab; }
  #controls { display: flex; gap: 10px; align-items: center; padding: 8px 12px; }
  #scrub { flex: 1; }
  #counter { font-variant-numeric: tabular-nums; min-width: 9em; }
  #errors { color: #b00; white-space: pre-wrap; margin: 0 12px; }
  .hint { color: #777; font-size: 12px; padding: 0 12px; }
</style>
<script>
  // Catch every script error on the page and show it (the tests read #errors).
  window.diffhpeErrors = [];
  function diffhpeReport(msg) {
    window.diffhpeErrors.push(msg);
    var box = document.getElementById("errors");
    if (box) { box.textContent = window.diffhpeErrors.join("\\n"); box.hidden = false; }
    if (document.body) document.body.setAttribute("data-errors", String(window.diffhpeErrors.length));
  }
  window.addEventListener("error", function (e) {
    diffhpeReport("JS error: " + e.message + " (line " + e.lineno + ")");
  });
  window.addEventListener("unhandledrejection", function (e) {
    diffhpeReport("JS error: unhandled rejection " + e.reason);
  });
</script>
</head>
<body data-errors="0">
<header>
  <h1>@@TITLE@@</h1>
  <div class="legend" id="legend"></div>
</header>
<pre id="errors" hidden></pre>
<div id="panels">
  <div id="panel3d"><canvas id="view3d"></canvas></div>
  <div id="panel2d" hidden><canvas id="view2d"></canvas></div>
</div>
<div id="controls">
  <button id="play" type="button">Pause</button>
  <input id="scrub" type="range" min="0" max="0" value="0" step="1" aria-label="frame">
  <span id="counter">frame 0 / 0</span>
  <label id="gtLabel" hidden><input id="gt" type="checkbox" checked> ground truth</label>
  <label id="uncLabel" hidden><input id="unc" type="checkbox" checked> uncertainty</label>
  <button id="reset" type="button">Reset view</button>
</div>
<div class="hint">Drag to rotate, wheel to zoom, space to play/pause, arrows to step.
  Disc radius = per-joint std.</div>
<div id="status" data-drawn="0" data-frame="0" hidden></div>
<script type="application/json" id="diffhpe-data">@@DATA@@</script>
<script>
@@SCRIPT@@
</script>
</body>
</html>
"""

VIEWER_JS = r"""
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("diffhpe-data").textContent);
  var T = D.numFrames, J = D.joints.length, bones = D.bones, side = D.side;
  var col = D.colors;  // centre, left, right, ground truth
  var box = D.box;

  // Camera frame (x right, y down, z forward) in mm -> display metres (x, z, -y), Z up;
  // a world frame (z up) is already upright: mm -> metres.
  var WORLD = D.frame === "world";
  function toDisplay(frames) {
    if (!frames) return null;
    return frames.map(function (f) {
      return f.map(function (p) {
        return WORLD ? [p[0] / 1000, p[1] / 1000, p[2] / 1000]
                     : [p[0] / 1000, p[2] / 1000, -p[1] / 1000];
      });
    });
  }
  var P = toDisplay(D.pose3d), G = toDisplay(D.gt3d);
  var U = D.uncertainty ? D.uncertainty.map(function (f) {
    return f.map(function (s) { return s / 1000; });
  }) : null;
  var P2 = D.pose2d;

  var HOME = { azim: -65, elev: 15, zoom: 1 };
  var state = { frame: 0, playing: T > 1, azim: HOME.azim, elev: HOME.elev, zoom: HOME.zoom,
                showGT: true, showUnc: true };
  var viewer = window.diffhpeViewer = {
    numFrames: T, frame: 0, drawCount: 0, state: state, errors: window.diffhpeErrors,
    setFrame: function (i) { setFrame(i); }, play: function () { setPlaying(true); },
    pause: function () { setPlaying(false); }
  };

  var c3 = document.getElementById("view3d"), c2 = document.getElementById("view2d");
  var scrub = document.getElementById("scrub"), counter = document.getElementById("counter");
  var playBtn = document.getElementById("play"), status = document.getElementById("status");
  scrub.max = String(T - 1);
  if (G) document.getElementById("gtLabel").hidden = false;
  if (U) document.getElementById("uncLabel").hidden = false;
  if (P2) document.getElementById("panel2d").hidden = false;
  document.getElementById("legend").innerHTML =
    '<span style="color:' + col[1] + '">&#9632; left</span>' +
    '<span style="color:' + col[2] + '">&#9632; right</span>' +
    (G ? '<span style="color:' + col[3] + '">- - ground truth</span>' : "") +
    (D.track ? '<span style="color:' + col[4] + '">&#8212; path of the pelvis</span>' : "");

  // Size a canvas backing store to its CSS box (crisp on high-DPI screens).
  function fit(canvas) {
    var r = canvas.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
    var w = Math.max(1, Math.round(r.width * dpr)), h = Math.max(1, Math.round(r.height * dpr));
    if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
    return { w: w, h: h, dpr: dpr };
  }

  // Perspective camera orbiting the scene box centre; returns a projector.
  function camera(w, h) {
    var e = state.elev * Math.PI / 180, a = state.azim * Math.PI / 180;
    var tw = [Math.cos(e) * Math.cos(a), Math.cos(e) * Math.sin(a), Math.sin(e)];
    var rt = [-Math.sin(a), Math.cos(a), 0];
    var up = [tw[1] * rt[2] - tw[2] * rt[1], tw[2] * rt[0] - tw[0] * rt[2], tw[0] * rt[1] - tw[1] * rt[0]];
    var dist = 6 * box.half;  // mild perspective
    var scale = state.zoom * 0.5 * Math.min(w, h) / (1.25 * box.half);
    return function (p) {
      var d = [p[0] - box.center[0], p[1] - box.center[1], p[2] - box.center[2]];
      var depth = d[0] * tw[0] + d[1] * tw[1] + d[2] * tw[2];  // larger = nearer
      var k = scale * dist / Math.max(dist - depth, 1e-3);
      return { x: w / 2 + k * (d[0] * rt[0] + d[1] * rt[1] + d[2] * rt[2]),
               y: h / 2 - k * (d[0] * up[0] + d[1] * up[1] + d[2] * up[2]), z: depth, k: k };
    };
  }

  function line(ctx, a, b) { ctx.beginPath(); ctx.moveTo(a.x, a.y); ctx.lineTo(b.x, b.y); ctx.stroke(); }

  function drawFloor(ctx, proj) {
    var c = box.center, h = box.half, z = box.floor, n = 6;
    ctx.strokeStyle = "#ddd"; ctx.lineWidth = 1;
    for (var i = 0; i < n; i++) {
      var s = -h + 2 * h * i / (n - 1);
      line(ctx, proj([c[0] + s, c[1] - h, z]), proj([c[0] + s, c[1] + h, z]));
      line(ctx, proj([c[0] - h, c[1] + s, z]), proj([c[0] + h, c[1] + s, z]));
    }
  }

  // The pelvis's path over the floor, and where it is now.
  function drawTrack(ctx, proj, t, dpr) {
    ctx.save(); ctx.strokeStyle = col[4]; ctx.fillStyle = col[4]; ctx.lineWidth = 1.5 * dpr;
    ctx.beginPath();
    for (var i = 0; i < T; i++) {
      var q = proj([P[i][0][0], P[i][0][1], box.floor]);
      if (i === 0) ctx.moveTo(q.x, q.y); else ctx.lineTo(q.x, q.y);
    }
    ctx.stroke();
    var h = proj([P[t][0][0], P[t][0][1], box.floor]);
    ctx.beginPath(); ctx.arc(h.x, h.y, 4 * dpr, 0, 2 * Math.PI); ctx.fill();
    ctx.restore();
  }

  function draw3d() {
    var s = fit(c3), ctx = c3.getContext("2d"), proj = camera(s.w, s.h), t = state.frame;
    ctx.clearRect(0, 0, s.w, s.h);
    drawFloor(ctx, proj);
    if (D.track) drawTrack(ctx, proj, t, s.dpr);
    var q = P[t].map(proj);
    if (G && state.showGT) {
      var g = G[t].map(proj);
      ctx.save(); ctx.setLineDash([6 * s.dpr, 4 * s.dpr]);
      ctx.strokeStyle = col[3]; ctx.lineWidth = 1.5 * s.dpr;
      bones.forEach(function (b) { line(ctx, g[b[0]], g[b[1]]); });
      ctx.restore();
    }
    if (U && state.showUnc) {
      ctx.save(); ctx.globalAlpha = 0.3;
      for (var j = 0; j < J; j++) {
        ctx.fillStyle = col[side[j]]; ctx.beginPath();
        ctx.arc(q[j].x, q[j].y, Math.max(U[t][j] * q[j].k, 0.5), 0, 2 * Math.PI); ctx.fill();
      }
      ctx.restore();
    }
    // Painter's order: far bones first.
    var order = bones.slice().sort(function (a, b) {
      return (q[a[0]].z + q[a[1]].z) - (q[b[0]].z + q[b[1]].z);
    });
    ctx.lineCap = "round"; ctx.lineWidth = 4 * s.dpr;
    order.forEach(function (b) { ctx.strokeStyle = col[side[b[0]]]; line(ctx, q[b[0]], q[b[1]]); });
    for (var i = 0; i < J; i++) {
      ctx.fillStyle = col[side[i]]; ctx.beginPath();
      ctx.arc(q[i].x, q[i].y, 3 * s.dpr, 0, 2 * Math.PI); ctx.fill();
    }
  }

  // 2D input: fitted once to the bounding box of the whole sequence, rows downwards.
  var box2 = null;
  if (P2) {
    var lo = [Infinity, Infinity], hi = [-Infinity, -Infinity];
    P2.forEach(function (f) { f.forEach(function (p) {
      if (!p) return;  // missing keypoint
      lo[0] = Math.min(lo[0], p[0]); lo[1] = Math.min(lo[1], p[1]);
      hi[0] = Math.max(hi[0], p[0]); hi[1] = Math.max(hi[1], p[1]);
    }); });
    box2 = { lo: lo, hi: hi, ext: Math.max(hi[0] - lo[0], hi[1] - lo[1], 1e-9) };
  }
  function draw2d() {
    if (!P2) return;
    var s = fit(c2), ctx = c2.getContext("2d"), t = state.frame;
    var k = 0.85 * Math.min(s.w, s.h) / box2.ext;
    var ox = s.w / 2 - k * (box2.lo[0] + box2.hi[0]) / 2, oy = s.h / 2 - k * (box2.lo[1] + box2.hi[1]) / 2;
    var q = P2[t].map(function (p) { return p && { x: ox + k * p[0], y: oy + k * p[1] }; });
    ctx.clearRect(0, 0, s.w, s.h);
    ctx.lineCap = "round"; ctx.lineWidth = 3 * s.dpr;
    bones.forEach(function (b) {
      if (!q[b[0]] || !q[b[1]]) return;  // a missing end: no bone
      ctx.strokeStyle = col[side[b[0]]]; line(ctx, q[b[0]], q[b[1]]);
    });
    for (var i = 0; i < J; i++) {
      if (!q[i]) continue;
      ctx.fillStyle = col[side[i]]; ctx.beginPath();
      ctx.arc(q[i].x, q[i].y, 2.5 * s.dpr, 0, 2 * Math.PI); ctx.fill();
    }
  }

  function draw() {
    draw3d(); draw2d();
    viewer.frame = state.frame; viewer.drawCount += 1;
    counter.textContent = "frame " + (state.frame + 1) + " / " + T;
    scrub.value = String(state.frame);
    status.setAttribute("data-drawn", String(viewer.drawCount));
    status.setAttribute("data-frame", String(state.frame));
  }

  function setFrame(i) { state.frame = ((Math.round(i) % T) + T) % T; draw(); }
  function setPlaying(on) {
    state.playing = on && T > 1; playBtn.textContent = state.playing ? "Pause" : "Play";
    window.clearTimeout(timer); timer = null; last = performance.now();
    if (state.playing) timer = window.setTimeout(tick, 1000 / D.fps);
  }

  // Playback on timers (they also run under a headless browser's virtual time),
  // advancing by the elapsed time so the speed stays D.fps when drawing is slow.
  var timer = null, last = 0;
  function tick() {
    var now = performance.now(), n = Math.floor((now - last) * D.fps / 1000);
    if (n > 0) { last += n * 1000 / D.fps; setFrame(state.frame + n); }
    timer = window.setTimeout(tick, Math.max(1, last + 1000 / D.fps - performance.now()));
  }

  playBtn.addEventListener("click", function () { setPlaying(!state.playing); });
  scrub.addEventListener("input", function () { setPlaying(false); setFrame(Number(scrub.value)); });
  document.getElementById("gt").addEventListener("change", function (e) { state.showGT = e.target.checked; draw(); });
  document.getElementById("unc").addEventListener("change", function (e) { state.showUnc = e.target.checked; draw(); });
  document.getElementById("reset").addEventListener("click", function () {
    state.azim = HOME.azim; state.elev = HOME.elev; state.zoom = HOME.zoom; draw();
  });
  var drag = null;
  c3.addEventListener("pointerdown", function (e) {
    drag = { x: e.clientX, y: e.clientY }; c3.setPointerCapture(e.pointerId); c3.style.cursor = "grabbing";
  });
  c3.addEventListener("pointermove", function (e) {
    if (!drag) return;
    state.azim -= 0.4 * (e.clientX - drag.x);
    state.elev = Math.max(-89, Math.min(89, state.elev + 0.4 * (e.clientY - drag.y)));
    drag = { x: e.clientX, y: e.clientY }; draw();
  });
  function endDrag() { drag = null; c3.style.cursor = "grab"; }
  c3.addEventListener("pointerup", endDrag);
  c3.addEventListener("pointercancel", endDrag);
  c3.addEventListener("wheel", function (e) {
    e.preventDefault();
    state.zoom = Math.max(0.2, Math.min(10, state.zoom * Math.exp(-0.001 * e.deltaY))); draw();
  }, { passive: false });
  document.addEventListener("keydown", function (e) {
    if (e.target && e.target.tagName === "INPUT" && e.target.type === "range") return;
    if (e.key === " ") { e.preventDefault(); setPlaying(!state.playing); }
    else if (e.key === "ArrowRight") { setPlaying(false); setFrame(state.frame + 1); }
    else if (e.key === "ArrowLeft") { setPlaying(false); setFrame(state.frame - 1); }
  });
  window.addEventListener("resize", draw);

  setFrame(0);
  setPlaying(state.playing);
})();
"""
