"""ContourView: a loss surface with one or several optimizer paths, clickable.

The surface is a PNG image in ``layout.images`` (filled contour bands with thin darker
lines between them, logarithmic where the loss spans decades), made with numpy by
:func:`background` once per surface, at about one image pixel per screen pixel. Every
trace is a ``go.Scatter`` (``Plotly.animate`` drops the drawing of every other trace
type), so a path change is a redraw-free move of the path, start, end and marker traces.

Traces, in order (``view.index`` maps the names to positions): ``grid`` (an invisible
``grid_size`` x ``grid_size`` scatter, mode "none", that receives the clicks: plotly
reports clicks on trace points only), ``colorbar`` (two invisible markers carrying the
banded colour bar), ``ghosts`` faint ghost slots, one line per path (named by ``paths``;
a single path is ``"trajectory"``), ``start``, ``end``, ``known minima``, the playback
``step marker`` and ``end label`` (text beside each end point, e.g. where a run diverged,
kept on the surface's edge when the point is off it; it moves with the point, so the
legend never changes with the run). With several paths the start/end/marker/label traces
hold one point per path, coloured like its path.
"""

from __future__ import annotations

import base64
import contextlib
import struct
import typing
import zlib

import numpy as np
import plotly.graph_objects as go

from adaviz.panels.kit import arrays, style
from adaviz.panels.kit.arrays import same_array
from adaviz.panels.views import lines
from adaviz.panels.views._figure import FigureView, empty_scatter
from adaviz.panels.views.lines import batch

#: background image size in pixels, about the view's plot area.
IMAGE_W, IMAGE_H = 330, 450
#: number of colour bands (contour levels) of the background.
LEVELS = 20


#: the end label of a point without one: plotly.js removes the text of a point whose text
#: is empty, and a move does not draw it again when the point gets a text.
NO_LABEL = " "


def divergence_label(last_step=None):
    """The end label of a run that diverged after ``last_step`` (None: step not shown)."""
    step = "" if last_step is None else f" (step {int(last_step)})"
    return f"last point before<br>divergence{step}"


def png(rgb):
    """PNG file bytes of an ``(h, w, 3)`` uint8 RGB image (zlib + struct, no dependency)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    rows = np.zeros((h, 1 + 3 * w), dtype=np.uint8)  # filter byte 0 (none) per row
    rows[:, 1:] = rgb.reshape(h, 3 * w)

    def chunk(kind, data):
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + chunk(b"IEND", b"")
    )


def _data_uri(png_bytes):
    return "data:image/png;base64," + base64.b64encode(png_bytes).decode("ascii")


def _hex_rgb(color):
    color = color.lstrip("#")
    return [int(color[i : i + 2], 16) for i in (0, 2, 4)]


def band_colors(n, colorscale=style.CONTOUR_COLORSCALE):
    """``(n, 3)`` uint8: the colour scale at the middle of each of ``n`` equal bands."""
    stops = np.array([float(t) for t, _ in colorscale])
    rgb = np.array([_hex_rgb(c) for _, c in colorscale], dtype=np.float64)
    t = (np.arange(n) + 0.5) / n
    return np.stack([np.interp(t, stops, rgb[:, i]) for i in range(3)], -1).round().astype(np.uint8)


def banded_colorscale(n, colorscale=style.CONTOUR_COLORSCALE):
    """A plotly colour scale of ``n`` flat bands (the colour bar of the banded image)."""
    scale = []
    for k, rgb in enumerate(band_colors(n, colorscale)):
        color = "rgb({},{},{})".format(*(int(v) for v in rgb))
        scale += [[k / n, color], [(k + 1) / n, color]]
    return scale


def surface_image(surf, c, width=IMAGE_W, height=IMAGE_H):
    """The background as a PNG data URI: filled contour bands with thin darker lines
    between them, coloured like ``c`` (``surf.contour(...)``: logarithmic where the loss
    spans decades). The surface is evaluated at each pixel centre; row 0 is the top."""
    (xmin, xmax), (ymin, ymax) = surf.domain
    xs = xmin + (np.arange(width) + 0.5) * ((xmax - xmin) / width)
    ys = ymax - (np.arange(height) + 0.5) * ((ymax - ymin) / height)
    X, Y = np.meshgrid(xs, ys)
    with np.errstate(all="ignore"):
        Z = np.asarray(surf(X, Y), dtype=np.float64)
        color = np.log10(np.maximum(Z - c.floor, 0.0) + c.offset) if c.log else Z
        band = np.floor((color - c.start) / c.size)
    n = len(c.levels)
    band = np.where(np.isfinite(band), band, n - 1).clip(0, n - 1).astype(np.intp)
    rgb = band_colors(n)[band]
    edge = np.zeros(band.shape, dtype=bool)
    edge[:, 1:] |= band[:, 1:] != band[:, :-1]
    edge[1:, :] |= band[1:, :] != band[:-1, :]
    rgb[edge] = (rgb[edge] * 0.72).astype(np.uint8)  # the level lines
    return _data_uri(png(rgb))


class Background(typing.NamedTuple):
    """Everything the contour view draws of a surface (see :func:`background`)."""

    image: str  # PNG data URI
    domain: tuple  # ((xmin, xmax), (ymin, ymax))
    grid_x: np.ndarray  # click grid, 1-D float64
    grid_y: np.ndarray
    tickvals: np.ndarray  # colour bar ticks on its 0..1 scale
    ticktext: list
    log: bool
    minima: np.ndarray  # (M, 2)


def background(surf, grid_size=120, levels=LEVELS):
    """The :class:`Background` of a surface (numpy; costs tens of ms, cache it)."""
    c = surf.contour(grid_size, levels=levels)
    # grid points row by row, every other row reversed (the order does not matter for
    # clicks; it keeps the never-drawn polyline short)
    X, Y = np.meshgrid(arrays.floats(c.x), arrays.floats(c.y))
    X[1::2] = X[1::2, ::-1]
    span = (c.end - c.start) or 1.0
    return Background(
        image=surface_image(surf, c),
        domain=tuple(tuple(float(v) for v in d) for d in surf.domain),
        grid_x=arrays.floats(X),
        grid_y=arrays.floats(Y),
        tickvals=arrays.floats((np.asarray(c.tickvals) - c.start) / span),
        ticktext=list(c.ticktext),
        log=bool(c.log),
        minima=np.asarray(surf.minima, dtype=np.float64).reshape(-1, 2),
    )


def _marker_trace(name, size, color, symbol, line_color, hover, line_width=1.5, **extra):
    return empty_scatter(
        name,
        mode="markers",
        marker={
            "size": size,
            "color": color,
            "symbol": symbol,
            "line": {"color": line_color, "width": line_width},
        },
        hovertemplate=hover,
        **extra,
    )


class ContourView(FigureView):
    """A loss surface (background image) with paths, markers, ghosts and click-to-start.

    Args:
        paths: names of the path traces (one per run); ``("trajectory",)`` by default.
        colors: one line colour per path.
        ghosts: number of ghost slots.
        marker: show the playback step marker (False: its trace stays hidden and empty).
        width, height: pixels.
        title: figure title.
    """

    def __init__(
        self,
        *,
        paths=("trajectory",),
        colors=None,
        ghosts=5,
        marker=True,
        width=480,
        height=585,
        title="path on the loss surface (click to set the start)",
    ):
        self.paths = tuple(paths)
        self.marker = bool(marker)
        self.colors = list(colors or [style.TRAJECTORY_COLOR] * len(self.paths))
        self.ghost_slots = int(ghosts)
        single = len(self.paths) == 1
        traces = [
            empty_scatter(
                "loss surface",
                mode="none",
                showlegend=False,
                # not hoverinfo "skip": that would also stop the clicks that set the start
                hovertemplate="x=%{x:.3g}, y=%{y:.3g}<br>click to start here<extra></extra>",
            ),
            empty_scatter(
                "loss colour scale",
                mode="markers",
                showlegend=False,
                hoverinfo="skip",
                marker={
                    "opacity": 0,
                    "size": 1,
                    "color": np.array([0.0, 1.0]),
                    "cmin": 0.0,
                    "cmax": 1.0,
                    "colorscale": banded_colorscale(LEVELS),
                    "showscale": True,
                    "colorbar": {
                        "thickness": 12,
                        "len": 0.8,
                        "title": {"text": "loss", "side": "right"},
                    },
                },
            ),
        ]
        traces += [lines.ghost_line(slot, 2.0) for slot in range(self.ghost_slots)]
        for name, color in zip(self.paths, self.colors, strict=True):
            traces.append(
                lines.line(
                    name,
                    color,
                    hovertemplate=(name if not single else "step")
                    + (" step" if not single else "")
                    + " %{pointNumber}<br>x=%{x:.4g}<br>y=%{y:.4g}<extra></extra>",
                )
            )
        end_color = style.END_COLOR if single else self.colors
        traces += [
            _marker_trace(
                "start", 12, style.START_COLOR, "circle", "white",
                "start<br>x=%{x:.4g}<br>y=%{y:.4g}<extra></extra>",
            ),
            _marker_trace(
                "end", 12, end_color, "square", "white",
                "end<br>x=%{x:.4g}<br>y=%{y:.4g}<extra></extra>",
            ),
            _marker_trace(
                "known minima", 14, style.MINIMUM_COLOR, "star", "black",
                "minimum<br>x=%{x:.4g}<br>y=%{y:.4g}<extra></extra>",
            ),
            _marker_trace(
                "step marker", 17, style.MARKER_COLOR, "circle-open", style.MARKER_COLOR,
                "playback<br>x=%{x:.4g}<br>y=%{y:.4g}<extra></extra>",
                line_width=3, showlegend=False, **({} if marker else {"visible": False}),
            ),
            empty_scatter(
                # an invisible marker as wide as the step marker's ring: plotly.js sets the
                # text that far from the point, clear of the end and step markers
                "end label", mode="markers+text", text=[], showlegend=False, hoverinfo="skip",
                cliponaxis=False, marker={"size": 20, "opacity": 0},
                textfont={"size": 11, "color": "#222222", "shadow": "0px 0px 3px white"},
            ),
        ]  # fmt: skip
        g, p = self.ghost_slots, len(self.paths)
        self.index = {"grid": 0, "colorbar": 1}
        for i, name in enumerate(self.paths):
            self.index[name] = 2 + g + i
        self.index.update(
            {
                "start": 2 + g + p,
                "end": 3 + g + p,
                "minima": 4 + g + p,
                "marker": 5 + g + p,
                "end label": 6 + g + p,
            }
        )
        lay = style.layout(
            title,
            width=width,
            height=height,
            xaxis=style.axis("x (parameter 1, no unit)", showgrid=False),
            yaxis=style.axis("y (parameter 2, no unit)", showgrid=False),
        )
        # room below for two legend rows (ghosts' labels wrap it to a second row): a legend
        # that outgrew the margin would push it, resizing the plot area and redrawing the
        # whole figure
        lay["margin"] = {"l": 60, "r": 10, "t": 40, "b": 150}
        # the legend's top 46 px under the plot area, below the x-axis title, whatever the
        # figure's height (legend y is in units of the plot area's height)
        below = -46.0 / (height - lay["margin"]["t"] - lay["margin"]["b"])
        lay["legend"].update(
            {"orientation": "h", "y": below, "yanchor": "top", "x": 0.0, "xanchor": "left"}
        )
        lay["images"] = [
            {
                "source": _data_uri(png(np.full((1, 1, 3), 255, np.uint8))),
                "xref": "x",
                "yref": "y",
                "x": 0.0,
                "y": 1.0,
                "sizex": 1.0,
                "sizey": 1.0,
                "sizing": "stretch",
                "layer": "below",
                "xanchor": "left",
                "yanchor": "top",
            }
        ]
        self.figure = go.Figure(data=traces, layout=lay)
        self._paths = None  # list of (x, y) currently drawn
        self._start = None
        self._drawn = {}  # path name -> copies of the (x, y) currently set
        self._background = None  # the Background drawn
        self._grid = None  # the click grid's (x, y) drawn
        self._ghost_labels = {}  # slot -> label of a ghost shown by update(ghosts=...)
        #: whether the last update went to the browser as a redraw-free move.
        self.redraw_free = False

    # -- public ------------------------------------------------------------------
    def ghost_index(self, slot):
        """The trace index of ghost ``slot``."""
        return 2 + slot

    def on_click(self, callback):
        """Call ``callback(x, y)`` when the surface, a path, a marker or a minimum is
        clicked (the nearest grid point, or the clicked point exactly). Needs ``attach``."""

        def clicked(_trace, points, _state):
            xs, ys = list(points.xs), list(points.ys)
            if xs:
                callback(float(xs[0]), float(ys[0]))

        names = ["grid", *self.paths, "minima", "start", "end"]
        for name in names:
            self.figure.data[self.index[name]].on_click(clicked)
        return clicked

    def update(self, paths, cursor=0, **options):
        """Draw ``paths`` (one ``(x, y)`` pair of 1-D float arrays per path trace).

        Args:
            paths: the paths, in the order of ``self.paths``.
            cursor: the step whose point the playback marker shows (clipped to each path).
            **options: keyword-only, as :meth:`updating` takes them: ``end_labels``, one
                text per path shown beside its last point ("" for none; e.g.
                :func:`divergence_label`); ``background``,
                a new :class:`Background` (a new surface: full redraw, unless it is the one
                drawn); ``clear_ghosts``, hide every ghost; ``ghosts``, ``{slot: (x, y,
                label)}`` ghosts to show in the same message (a ghost already shown with
                that label moves with the paths, redraw-free).

        Returns:
            True when the update went to the browser as a redraw-free move.
        """
        with self.updating(paths, cursor, **options):
            pass
        return self.redraw_free

    @contextlib.contextmanager
    def updating(
        self,
        paths,
        cursor=0,
        *,
        end_labels=None,
        background=None,
        clear_ghosts=False,
        ghosts=None,
    ):
        """:meth:`update` as a context manager: the message is sent when the block ends."""
        fig = self.figure
        ix = self.index
        if background is not None and background is self._background:
            background = None  # drawn already: nothing of it is sent again
        ghosts = dict(ghosts or {})
        if clear_ghosts:
            self._ghost_labels = {}
        relabel = any(self._ghost_labels.get(slot) != g[2] for slot, g in ghosts.items())
        # a move does not redraw the legend, which leaves out traces without points: the
        # first points drawn (or the last removed) need a full update to show in it
        drawn = self._paths is not None and any(len(x) for x, _ in self._paths)
        legend = drawn != any(len(x) for x, _ in paths)
        full = background is not None or clear_ghosts or relabel or legend
        self.redraw_free = not full
        with batch(fig, redraw_free=not full):
            if background is not None:
                self._draw_background(background)
            if clear_ghosts:
                self._hide_ghosts()
            for slot, (x, y, label) in ghosts.items():
                trace = fig.data[self.ghost_index(slot)]
                if self._ghost_labels.get(slot) == label:  # shown: only its data moves
                    trace.x, trace.y = x, y
                else:
                    lines.show_ghost(trace, x, y, label, showlegend=True)
                    self._ghost_labels[slot] = label
            d = fig.data
            for name, (x, y) in zip(self.paths, paths, strict=True):
                old = self._drawn.get(name)  # a path that did not change is not sent again
                if old is None or not (same_array(old[0], x) and same_array(old[1], y)):
                    d[ix[name]].x = x
                    d[ix[name]].y = y
                    self._drawn[name] = (np.array(x, copy=True), np.array(y, copy=True))
            starts = self._points(paths, 0)
            if full or self._start is None or not np.array_equal(starts[0], self._start[0]):
                self._start = starts
                d[ix["start"]].x, d[ix["start"]].y = starts
            ends = self._points(paths, -1)
            d[ix["end"]].x, d[ix["end"]].y = ends
            label = d[ix["end label"]]
            texts = [""] * len(paths) if end_labels is None else list(end_labels)
            texts = [t or NO_LABEL for (x, _), t in zip(paths, texts, strict=True) if len(x)]
            if full or set(texts) != {NO_LABEL} or tuple(label.text or ()) != tuple(texts):
                # (blank labels stay where they are)
                label.x, label.y = self._inside(*ends)
                label.text = texts
                label.textposition = [self._inward(x, y) for x, y in zip(*ends, strict=True)]
            self._paths = list(paths)
            if self.marker:
                d[ix["marker"]].x, d[ix["marker"]].y = self._points(paths, cursor)
            yield

    def set_cursor(self, cursor):
        """Move the playback marker to step ``cursor`` of each path (a redraw-free move)."""
        if self._paths is None or not self.marker:
            return
        fig = self.figure
        with batch(fig, redraw_free=True):
            m = fig.data[self.index["marker"]]
            m.x, m.y = self._points(self._paths, cursor)

    def show_ghost(self, slot, x, y, label):
        """Show ghost ``slot`` with path ``(x, y)`` and legend ``label``."""
        self._ghost_labels.pop(slot, None)
        with self.figure.batch_update():
            lines.show_ghost(self.figure.data[self.ghost_index(slot)], x, y, label, showlegend=True)

    def hide_ghosts(self, slots=None):
        """Hide every ghost, or only the ghosts in ``slots``."""
        if slots is None:
            self._ghost_labels = {}
        else:
            for slot in slots:
                self._ghost_labels.pop(slot, None)
        with self.figure.batch_update():
            self._hide_ghosts(slots)

    # -- internals ------------------------------------------------------------------
    @staticmethod
    def _points(paths, k):
        """x and y arrays of point ``k`` of each path (clipped into it; empty paths skipped)."""
        xs, ys = [], []
        for x, y in paths:
            n = len(x)
            if not n:
                continue
            i = n - 1 if k < 0 else min(max(int(k), 0), n - 1)
            xs.append(x[i])
            ys.append(y[i])
        return np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)

    def _inside(self, x, y):
        """Points ``(x, y)`` moved onto the surface's edge when outside it (a label of a
        point the run left the surface for stays in view, where the path leaves)."""
        if self._background is None:
            return x, y
        (xmin, xmax), (ymin, ymax) = self._background.domain
        return np.clip(x, xmin, xmax), np.clip(y, ymin, ymax)

    def _inward(self, x, y):
        """The text position of a label at ``(x, y)`` that keeps it toward the middle."""
        if self._background is None:
            return "top right"
        (xmin, xmax), (ymin, ymax) = self._background.domain
        vertical = "bottom" if y > 0.5 * (ymin + ymax) else "top"
        return vertical + (" left" if x > 0.5 * (xmin + xmax) else " right")

    def _hide_ghosts(self, slots=None):
        slots = range(self.ghost_slots) if slots is None else slots
        lines.hide_ghosts(self.figure, [self.ghost_index(s) for s in slots])

    def _draw_background(self, bg):
        self._background = bg
        fig = self.figure
        ix = self.index
        (xmin, xmax), (ymin, ymax) = bg.domain
        fig.layout.images[0].update(
            source=bg.image, x=xmin, y=ymax, sizex=xmax - xmin, sizey=ymax - ymin
        )
        drawn = self._grid
        if drawn is None or not (
            same_array(drawn[0], bg.grid_x) and same_array(drawn[1], bg.grid_y)
        ):
            grid = fig.data[ix["grid"]]  # 2 x grid_size² values: sent only when they change
            grid.x = bg.grid_x
            grid.y = bg.grid_y
            self._grid = (bg.grid_x, bg.grid_y)
        bar = fig.data[ix["colorbar"]]
        bar.x = np.array([xmin, xmin], dtype=np.float64)
        bar.y = np.array([ymin, ymin], dtype=np.float64)
        bar.marker.colorbar.tickvals = bg.tickvals
        bar.marker.colorbar.ticktext = bg.ticktext
        bar.marker.colorbar.title.text = "loss (log colour scale)" if bg.log else "loss"
        minima = fig.data[ix["minima"]]
        minima.x = arrays.floats(bg.minima[:, 0])
        minima.y = arrays.floats(bg.minima[:, 1])
        minima.visible = bool(len(bg.minima))
        fig.layout.xaxis.range = [xmin, xmax]
        fig.layout.yaxis.range = [ymin, ymax]
