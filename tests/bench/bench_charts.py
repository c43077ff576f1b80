"""Time the Wheel of Life render: ``python -m tests.bench.bench_charts [N]``.

The baseline renders an empty figure of the same size to PNG in the same run, so the
ratio shows what the drawing itself costs on top of rasterising and PNG encoding.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable
from io import BytesIO

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.charts import render_wheel
from bot.charts.wheel import DPI, WHEEL_SIZE_IN

LABELS = [
    "Ģimene un draugi",
    "Partnerattiecības",
    "Karjera",
    "Finanses",
    "Veselība",
    "Mājas vide",
    "Izklaide un atpūta",
    "Personīgā izaugsme",
]
RATINGS = [7, 5, 8, 4, 6, 7, 3, 6]
PREVIOUS = [6, 5, 6, 3, 6, 5, 3, 4]
TARGET_MS = 150.0


def wheel() -> bytes:
    return render_wheel(
        LABELS,
        RATINGS,
        PREVIOUS,
        title="Dzīves rats",
        current_label="Tagad",
        previous_label="Iepriekš",
    )


def empty_figure() -> bytes:
    fig = Figure(figsize=(WHEEL_SIZE_IN, WHEEL_SIZE_IN), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    buf = BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return buf.getvalue()


def timings_ms(render: Callable[[], bytes], runs: int) -> list[float]:
    render()  # warm-up: imports, font cache, text layout caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        render()
        times.append((time.perf_counter() - start) * 1000)
    return times


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    wheel_ms = timings_ms(wheel, runs)
    empty_ms = timings_ms(empty_figure, runs)
    wheel_median, empty_median = statistics.median(wheel_ms), statistics.median(empty_ms)

    size = len(wheel())
    print(f"Wheel of Life, {runs} renders of {WHEEL_SIZE_IN * DPI:.0f} px square, {size} B PNG")
    print(f"{'':<14}{'median ms':>10}{'p90 ms':>10}")
    print(f"{'wheel':<14}{wheel_median:>10.1f}{p90(wheel_ms):>10.1f}")
    print(f"{'empty figure':<14}{empty_median:>10.1f}{p90(empty_ms):>10.1f}")
    print(f"wheel / empty figure: {wheel_median / empty_median:.1f}x")
    verdict = "meets" if wheel_median <= TARGET_MS else "MISSES"
    print(f"target: median <= {TARGET_MS:.0f} ms, {verdict} it")
    # ru_maxrss is in KiB on Linux.
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak_mib:.1f} MiB")


if __name__ == "__main__":
    main()
