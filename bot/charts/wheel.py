"""Wheel of Life charts rendered to PNG bytes.

Only matplotlib's object-oriented API is used (a fresh ``Figure`` with its own Agg
canvas per call, never pyplot), so rendering keeps no global state and may run in
worker threads. Matplotlib is imported inside the functions to keep ``import
bot.charts`` cheap for code paths that never draw.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.projections.polar import PolarAxes
    from matplotlib.text import Text

MIN_RATING = 1
MAX_RATING = 10

DPI = 150
WHEEL_SIZE_IN = 6.4  # 960 px square at DPI
HISTORY_SIZE_IN = (6.4, 6.0)  # 960 x 900 px at DPI

# One colour per life area, in the order the caller passes the areas. Wedges use them
# translucent (soft on white), history lines opaque, so both charts match.
AREA_COLOURS = (
    "#4E79A7",
    "#F28E2B",
    "#E15759",
    "#59A14F",
    "#76B7B2",
    "#EDC948",
    "#B07AA1",
    "#FF9DA7",
)
AREA_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
WEDGE_ALPHA = 0.55
PREVIOUS_COLOUR = "#333333"
GRID_COLOUR = "#C8C8C8"
TEXT_COLOUR = "#222222"
MUTED_COLOUR = "#8A8A8A"

LABEL_WRAP = 14
LEGEND_WRAP = 30
TITLE_WRAP = 40
LABEL_RADIUS = MAX_RATING + 0.6
ARC_POINTS = 24
HISTORY_DATE_TICKS = 8
TIE_SHIFT_PT = 6.5
# Figure-pixel gap kept between the wheel's outer labels and the figure edge or the
# title and legend bands.
PAD_PX = 14.0


def _check(labels: Sequence[str], ratings: Sequence[int], what: str) -> None:
    if len(ratings) != len(labels):
        raise ValueError(f"{what}: {len(ratings)} ratings for {len(labels)} areas")
    for rating in ratings:
        valid = isinstance(rating, int) and not isinstance(rating, bool)
        if not valid or not MIN_RATING <= rating <= MAX_RATING:
            raise ValueError(f"{what}: rating {rating!r} is not in {MIN_RATING}..{MAX_RATING}")


def _check_labels(labels: Sequence[str]) -> None:
    if not labels:
        raise ValueError("no life areas to draw")


def _colour(index: int) -> str:
    return AREA_COLOURS[index % len(AREA_COLOURS)]


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return buf.getvalue()


def render_wheel(
    labels: Sequence[str],
    ratings: Sequence[int],
    previous: Sequence[int] | None = None,
    title: str = "",
    current_label: str = "",
    previous_label: str = "",
) -> bytes:
    """Draw the Wheel of Life: one wedge per area, filled to its 1..10 rating.

    ``labels`` are the (already translated) area names, clockwise from the top.
    ``previous`` ratings, if given, are drawn as a dashed arc over each wedge and a
    legend names the two with ``current_label`` and ``previous_label``.
    Raises ``ValueError`` on mismatched lengths or ratings outside 1..10.
    """
    _check_labels(labels)
    _check(labels, ratings, "ratings")
    if previous is not None:
        _check(labels, previous, "previous")

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    fig = Figure(figsize=(WHEEL_SIZE_IN, WHEEL_SIZE_IN), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    ax = cast("PolarAxes", fig.add_axes((0.0, 0.0, 1.0, 1.0), projection="polar"))
    ax.set_theta_zero_location("N")
    ax.set_theta_direction(-1)
    ax.set_ylim(0, MAX_RATING)

    n = len(labels)
    step = 2 * math.pi / n
    centres = [(i + 0.5) * step for i in range(n)]
    colours = [_colour(i) for i in range(n)]

    ax.bar(centres, ratings, width=step, color=colours, alpha=WEDGE_ALPHA, linewidth=0)
    # A crisp opaque edge over the translucent fill, drawn as a separate artist
    # because bar() would apply the fill's alpha to the edge as well.
    ax.bar(centres, ratings, width=step, fill=False, edgecolor=colours, linewidth=1.6)

    ax.set_xticks([i * step for i in range(n)], [""] * n)
    ax.set_yticks(range(MIN_RATING, MAX_RATING + 1))
    ax.set_rlabel_position(0)
    ax.tick_params(axis="y", labelsize=7, labelcolor=MUTED_COLOUR, pad=0)
    ax.grid(color=GRID_COLOUR, linewidth=0.7)
    ax.spines["polar"].set_color(MUTED_COLOUR)
    ax.spines["polar"].set_linewidth(0.9)

    if previous is not None:
        for centre, rating in zip(centres, previous, strict=True):
            # Polar axes join line points with straight chords, so the arc needs points.
            arc = [centre + step * (k / ARC_POINTS - 0.5) for k in range(ARC_POINTS + 1)]
            ax.plot(
                arc,
                [rating] * len(arc),
                color=PREVIOUS_COLOUR,
                linestyle=(0, (4, 2.5)),
                linewidth=1.6,
            )

    for centre, rating, colour in zip(centres, ratings, colours, strict=True):
        # Inside the wedge near its tip; the narrow wedges of low ratings leave no
        # room there, so those numbers sit just outside the tip instead.
        radius = rating - 0.75 if rating >= 3 else rating + 0.8
        ax.text(
            centre,
            radius,
            str(rating),
            ha="center",
            va="center",
            fontsize=10.5,
            fontweight="bold",
            color=TEXT_COLOUR,
            bbox={
                "boxstyle": "circle,pad=0.28",
                "facecolor": "white",
                "edgecolor": colour,
                "linewidth": 1.3,
            },
            zorder=4,
        )

    outer = []
    for centre, label in zip(centres, labels, strict=True):
        x, y = math.sin(centre), math.cos(centre)
        outer.append(
            ax.text(
                centre,
                LABEL_RADIUS,
                textwrap.fill(label, LABEL_WRAP, break_long_words=False),
                # Away from the vertical axis, so neighbours above or below the
                # wheel never grow into each other.
                ha="left" if x > 0.1 else "right" if x < -0.1 else "center",
                va="bottom" if y > 0.5 else "top" if y < -0.5 else "center",
                fontsize=11.5,
                color=TEXT_COLOUR,
                linespacing=1.15,
            )
        )

    top_band = 0.0
    if title:
        heading = fig.text(
            0.5,
            1 - PAD_PX / fig.bbox.height,
            textwrap.fill(title, TITLE_WRAP),
            ha="center",
            va="top",
            fontsize=16,
            fontweight="bold",
            color=TEXT_COLOUR,
        )
        top_band = heading.get_window_extent().height + PAD_PX

    bottom_band = 0.0
    if previous is not None:
        legend = fig.legend(
            handles=[
                Patch(facecolor="#B8C4D2", edgecolor="#6F7F92", label=current_label),
                Line2D(
                    [],
                    [],
                    color=PREVIOUS_COLOUR,
                    linestyle=(0, (4, 2.5)),
                    linewidth=1.6,
                    label=previous_label,
                ),
            ],
            loc="lower center",
            bbox_to_anchor=(0.5, PAD_PX / fig.bbox.height),
            ncols=2,
            frameon=False,
            fontsize=11,
            handlelength=2.4,
            columnspacing=2.0,
        )
        bottom_band = legend.get_window_extent().height + PAD_PX

    _fit_wheel(fig, ax, outer, top_band, bottom_band)
    return _png(fig)


# Something drawn around the wheel along one axis, in pixels: its anchor's distance
# from the wheel's centre in multiples of the radius, then how far it extends below
# and above that anchor.
_Span = tuple[float, float, float]


def _fit_wheel(
    fig: Figure,
    ax: PolarAxes,
    outer: Sequence[Text],
    top_band: float,
    bottom_band: float,
) -> None:
    """Size and place the wheel so that it and its outer labels fit in the figure.

    Labels are never clipped or shrunk: long ones make the wheel smaller instead.
    A label's anchor moves with the wheel's radius while its text keeps its size, so
    each is measured as (anchor as a multiple of the radius, text extent around it).
    """
    box = ax.get_window_extent()
    centre_x, centre_y = box.x0 + box.width / 2, box.y0 + box.height / 2
    scale = box.width / 2
    across: list[_Span] = [(-1.0, 0.0, 0.0), (1.0, 0.0, 0.0)]
    up: list[_Span] = [(-1.0, 0.0, 0.0), (1.0, 0.0, 0.0)]
    for text in outer:
        extent = text.get_window_extent()
        anchor_x, anchor_y = ax.transData.transform(text.get_position())
        across.append(((anchor_x - centre_x) / scale, extent.x0 - anchor_x, extent.x1 - anchor_x))
        up.append(((anchor_y - centre_y) / scale, extent.y0 - anchor_y, extent.y1 - anchor_y))

    width, height = fig.bbox.width, fig.bbox.height
    left, right = PAD_PX, width - PAD_PX
    bottom, top = bottom_band + PAD_PX, height - top_band - PAD_PX
    radius = min(_largest_radius(across, left, right), _largest_radius(up, bottom, top))
    x0 = _centre(across, left, right, radius) - radius
    y0 = _centre(up, bottom, top, radius) - radius
    ax.set_position((x0 / width, y0 / height, 2 * radius / width, 2 * radius / height))


def _largest_radius(spans: Sequence[_Span], low: float, high: float) -> float:
    # Every pair of spans, the lower-reaching first, must fit between low and high.
    return min(
        (high - top_j - low + bottom_i) / (reach_j - reach_i)
        for reach_i, bottom_i, _ in spans
        for reach_j, _, top_j in spans
        if reach_j > reach_i
    )


def _centre(spans: Sequence[_Span], low: float, high: float, radius: float) -> float:
    first = max(low - bottom - reach * radius for reach, bottom, _ in spans)
    last = min(high - top - reach * radius for reach, _, top in spans)
    return (first + last) / 2


def render_wheel_history(
    labels: Sequence[str],
    series: Sequence[tuple[date, Sequence[int]]],
    title: str = "",
) -> bytes:
    """Draw each area's rating over time: one line per area, x = the dates rated.

    ``series`` holds (date, ratings) pairs, ratings in the order of ``labels``; it is
    drawn in date order. Raises ``ValueError`` if it is empty or a rating is invalid.
    """
    _check_labels(labels)
    if not series:
        raise ValueError("no ratings to draw")
    for day, ratings in series:
        _check(labels, ratings, f"ratings of {day.isoformat()}")

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.transforms import offset_copy

    points = sorted(series, key=lambda point: point[0])
    days = [float(day.toordinal()) for day, _ in points]

    fig = Figure(figsize=HISTORY_SIZE_IN, dpi=DPI, facecolor="white", layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for index, label in enumerate(labels):
        # Areas often share a rating. Shifting each area's markers sideways by a few
        # points sets tied markers next to each other instead of on top of each
        # other, while the ratings stay exact and the dates move by a few pixels.
        shift = (index - (len(labels) - 1) / 2) * TIE_SHIFT_PT
        ax.plot(
            days,
            [ratings[index] for _, ratings in points],
            transform=offset_copy(ax.transData, fig=fig, x=shift, units="points"),
            color=_colour(index),
            marker=AREA_MARKERS[index % len(AREA_MARKERS)],
            markersize=6.5,
            linewidth=2,
            label=textwrap.fill(label, LEGEND_WRAP),
        )

    # Set by hand: autoscaling ignores lines drawn with the shifted transform.
    span = days[-1] - days[0]
    margin = span * 0.08 if span else 1.0
    ax.set_xlim(days[0] - margin, days[-1] + margin)
    ax.set_ylim(MIN_RATING - 0.5, MAX_RATING + 0.5)
    ax.set_yticks(range(MIN_RATING, MAX_RATING + 1))
    # Ticks only at dates that were rated, evenly picked when there are too many;
    # ISO dates read the same in every language the bot speaks.
    rated = sorted({day for day, _ in points})
    if len(rated) > HISTORY_DATE_TICKS:
        last = len(rated) - 1
        rated = [
            rated[round(i * last / (HISTORY_DATE_TICKS - 1))] for i in range(HISTORY_DATE_TICKS)
        ]
    ax.set_xticks(
        [day.toordinal() for day in rated],
        [day.isoformat() for day in rated],
        rotation=30,
        horizontalalignment="right",
        rotation_mode="anchor",
    )
    ax.tick_params(labelsize=9)
    ax.grid(axis="y", color=GRID_COLOUR, linewidth=0.7)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(
            textwrap.fill(title, TITLE_WRAP), fontsize=15, fontweight="bold", color=TEXT_COLOUR
        )
    fig.legend(
        loc="outside lower center",
        ncols=2,
        frameon=False,
        fontsize=10,
        handlelength=2.4,
    )
    return _png(fig)
