import struct
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from io import BytesIO

import pytest
from matplotlib.image import imread

from bot.charts import render_wheel, render_wheel_history

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

ENGLISH = [
    "Family and friends",
    "Significant other",
    "Career",
    "Finances",
    "Health",
    "Home environment",
    "Fun and recreation",
    "Personal growth",
]
LATVIAN = [
    "Ģimene un draugi",
    "Partnerattiecības",
    "Karjera",
    "Finanses",
    "Veselība",
    "Mājas vide",
    "Izklaide un atpūta",
    "Personīgā izaugsme",
]
NOW = [7, 5, 8, 4, 6, 7, 3, 6]
BEFORE = [6, 5, 6, 3, 6, 5, 3, 4]


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == PNG_SIGNATURE
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def test_wheel_is_a_square_phone_sized_png() -> None:
    png = render_wheel(ENGLISH, NOW, title="Wheel of Life")

    width, height = png_size(png)
    assert width == height
    assert 900 <= width <= 1000


def test_previous_ratings_change_the_picture() -> None:
    alone = render_wheel(ENGLISH, NOW)
    compared = render_wheel(ENGLISH, NOW, BEFORE, current_label="Now", previous_label="Before")

    assert png_size(compared) == png_size(alone)
    assert compared != alone


def test_same_input_gives_the_same_picture() -> None:
    assert render_wheel(ENGLISH, NOW, BEFORE) == render_wheel(ENGLISH, NOW, BEFORE)


@pytest.mark.parametrize(
    ("labels", "ratings", "previous"),
    [
        ([], [], None),
        (ENGLISH, NOW[:-1], None),
        (ENGLISH, [0, *NOW[1:]], None),
        (ENGLISH, [11, *NOW[1:]], None),
        (ENGLISH, [True, *NOW[1:]], None),
        (ENGLISH, NOW, BEFORE[:-1]),
        (ENGLISH, NOW, [*BEFORE[:-1], 0]),
    ],
    ids=[
        "no-areas",
        "too-few-ratings",
        "rating-0",
        "rating-11",
        "rating-bool",
        "too-few-previous",
        "previous-0",
    ],
)
def test_wheel_rejects_invalid_input(
    labels: list[str], ratings: list[int], previous: list[int] | None
) -> None:
    with pytest.raises(ValueError):
        render_wheel(labels, ratings, previous)


def test_latvian_labels_render_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        render_wheel(
            LATVIAN,
            NOW,
            BEFORE,
            title="Dzīves rats — ķēžu, ļoti, ņemt",
            current_label="Tagad",
            previous_label="Iepriekš",
        )
        render_wheel_history(
            LATVIAN, [(date(2025, 1, 5), BEFORE), (date(2025, 3, 1), NOW)], title="Dzīves rats"
        )


def test_a_missing_glyph_would_be_reported() -> None:
    # Guards the test above: it only means something if matplotlib does warn.
    with pytest.warns(UserWarning, match="missing from font"):
        render_wheel(["漢字", *ENGLISH[1:]], NOW)


def test_long_labels_are_not_clipped() -> None:
    labels = [
        "Partnerattiecības un ģimenes dzīve",
        "Starptautiskāsattiecības",
        *LATVIAN[2:6],
        "Izklaide, atpūta un brīvā laika pavadīšana",
        "Personīgāizaugsmeunattīstība",
    ]
    png = render_wheel(labels, NOW, BEFORE, title="Dzīves rats", current_label="Tagad")

    pixels = imread(BytesIO(png))
    border = 4
    edges = [
        pixels[:border],
        pixels[-border:],
        pixels[:, :border],
        pixels[:, -border:],
    ]
    assert all((edge[..., :3] == 1.0).all() for edge in edges)


def test_rendering_from_threads_matches_sequential_rendering() -> None:
    expected = render_wheel(LATVIAN, NOW, BEFORE, title="Dzīves rats")
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(lambda _: render_wheel(LATVIAN, NOW, BEFORE, title="Dzīves rats"), range(8))
        )

    assert all(result == expected for result in results)


def test_history_with_one_date() -> None:
    png = render_wheel_history(ENGLISH, [(date(2025, 4, 1), NOW)], title="Progress")

    width, height = png_size(png)
    assert 900 <= width <= 1000
    assert height > 0


def test_history_with_three_dates() -> None:
    series = [
        (date(2025, 5, 20), NOW),
        (date(2025, 1, 10), BEFORE),
        (date(2025, 3, 2), [6, 5, 7, 3, 6, 6, 3, 5]),
    ]
    one = render_wheel_history(ENGLISH, series[:1])
    three = render_wheel_history(ENGLISH, series)

    assert png_size(three) == png_size(one)
    assert three != one


def test_history_with_many_dates() -> None:
    series = [
        (date(2024, month, 1), [(month + i) % 10 + 1 for i in range(8)]) for month in range(1, 13)
    ]

    png_size(render_wheel_history(ENGLISH, series))


def test_history_rejects_invalid_input() -> None:
    with pytest.raises(ValueError):
        render_wheel_history(ENGLISH, [])
    with pytest.raises(ValueError):
        render_wheel_history(ENGLISH, [(date(2025, 1, 1), NOW[:-1])])
    with pytest.raises(ValueError):
        render_wheel_history(ENGLISH, [(date(2025, 1, 1), [0, *NOW[1:]])])


def test_importing_the_charts_does_not_import_matplotlib() -> None:
    code = "import sys, bot.charts; sys.exit('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
