"""Poll results and programme statistics as PNG (matplotlib's object API, like the wheel:
a fresh Figure per call, no pyplot, imported inside the functions)."""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 150
BAR = "#4E79A7"
RIGHT = "#59A14F"
MUTED = "#8A8A8A"
TEXT = "#222222"
LABEL_WRAP = 28
MAX_DATE_TICKS = 6


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return buf.getvalue()


def _figure(size: tuple[float, float]) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=DPI, facecolor="white", layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _bars(ax: Axes, labels: Sequence[str], values: Sequence[float], colours: Sequence[str]) -> None:
    """Horizontal bars, first label on top, each with its value at its end."""
    positions = list(range(len(labels)))[::-1]
    ax.barh(positions, values, color=list(colours), height=0.6)
    ax.set_yticks(positions, [textwrap.fill(label, LABEL_WRAP) for label in labels])
    for position, value in zip(positions, values, strict=True):
        shown = f"{value:+.1f}" if isinstance(value, float) else str(value)
        ax.annotate(
            shown,
            (value, position),
            xytext=(4 if value >= 0 else -4, 0),
            textcoords="offset points",
            ha="left" if value >= 0 else "right",
            va="center",
            color=TEXT,
            fontsize=9,
        )
    ax.spines[["top", "right"]].set_visible(False)
    ax.margins(x=0.15)


def render_poll_results(
    question: str, options: Sequence[str], counts: Sequence[int], correct: int | None = None
) -> bytes:
    """Votes by option; a quiz's right option in green."""
    fig = _figure((6.4, 1.6 + 0.45 * len(options)))
    ax = fig.add_subplot()
    colours = [RIGHT if n == correct else BAR for n in range(len(options))]
    labels = [("✓ " if n == correct else "") + o for n, o in enumerate(options)]
    _bars(ax, labels, list(counts), colours)
    ax.xaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]
    fig.suptitle(textwrap.fill(question, 60), color=TEXT, fontsize=11)
    return _png(fig)


@dataclass(frozen=True)
class StatsChart:
    """What the statistics chart shows, already in the reader's language."""

    title: str
    pairs_title: str
    pairs: list[tuple[str, int]]
    dialogs_title: str
    dialogs: list[tuple[str, int]]
    mood_title: str
    mood: list[tuple[date, float]]
    wheel_title: str
    wheel: list[tuple[str, float]]
    empty: str
    # People by role and status: what a cohort has before there is anything else to draw.
    people_title: str = ""
    people: list[tuple[str, int]] = field(default_factory=list)

    @property
    def nothing_yet(self) -> bool:
        """No pair, session, mood or rating to draw."""
        return not (any(n for _label, n in self.pairs) or self.dialogs or self.mood or self.wheel)


def render_stats(chart: StatsChart) -> bytes:
    """Four panels: pairs by status, finished dialogs, weekly mood, Wheel change by area;
    before there is any of those, one: the cohort's people by role and status."""
    if chart.nothing_yet:
        return _render_people(chart)
    return _render_panels(chart)


def _render_people(chart: StatsChart) -> bytes:
    fig = _figure((6.4, 1.8 + 0.45 * max(1, len(chart.people))))
    ax = fig.add_subplot()
    ax.set_title(chart.people_title, color=TEXT, fontsize=11)
    if chart.people:
        ax.xaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]
        _bars(
            ax,
            [label for label, _n in chart.people],
            [n for _label, n in chart.people],
            [BAR] * len(chart.people),
        )
    else:
        _nothing(ax, chart.empty)
    fig.suptitle(chart.title, color=TEXT, fontsize=13)
    return _png(fig)


def _render_panels(chart: StatsChart) -> bytes:
    fig = _figure((10.0, 7.5))
    axes = fig.subplots(2, 2)
    panels: list[tuple[Axes, str, Sequence[tuple[str, float]]]] = [
        # No bars of nothing but zeros: an empty panel says there is nothing yet.
        (axes[0][0], chart.pairs_title, chart.pairs if any(n for _l, n in chart.pairs) else []),
        (axes[0][1], chart.dialogs_title, chart.dialogs),
        (axes[1][1], chart.wheel_title, chart.wheel),
    ]
    for ax, title, items in panels:
        ax.set_title(title, color=TEXT, fontsize=11)
        if not items:
            _nothing(ax, chart.empty)
            continue
        values = [value for _label, value in items]
        colours = [RIGHT if value >= 0 else "#E15759" for value in values]
        if ax is not axes[1][1]:
            ax.xaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]
        _bars(
            ax,
            [label for label, _value in items],
            values,
            colours if ax is axes[1][1] else [BAR] * len(values),
        )
    ax = axes[1][0]
    ax.set_title(chart.mood_title, color=TEXT, fontsize=11)
    if chart.mood:
        days = [day for day, _mood in chart.mood]
        ax.plot(days, [mood for _day, mood in chart.mood], marker="o", color=BAR)
        ax.set_ylim(0.8, 5.2)
        ax.set_yticks([1, 2, 3, 4, 5])
        step = max(1, len(days) // MAX_DATE_TICKS + (len(days) % MAX_DATE_TICKS > 0))
        ax.set_xticks(days[::step], [day.isoformat() for day in days[::step]])
        ax.tick_params(axis="x", labelrotation=30)
        ax.spines[["top", "right"]].set_visible(False)
    else:
        _nothing(ax, chart.empty)
    fig.suptitle(chart.title, color=TEXT, fontsize=13)
    return _png(fig)


def _nothing(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", color=MUTED, transform=ax.transAxes)
    ax.set_axis_off()
