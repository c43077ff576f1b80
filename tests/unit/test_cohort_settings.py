"""A cohort's settings: read from its JSON column with every default in one model."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.cohorts import SETTINGS, CohortSettings, next_choice
from bot.domain.matching import Weights

# The choices a coordinator moves through, in order, the first being the default.
CHOICES: dict[str, tuple[Any, ...]] = {
    "matching_mode": ("most_matched", "best_scores"),
    "weights": ("balanced", "topics", "practical"),
    "max_timezone_hours": (6, 3, 9, 12),
    "response_hours": (72, 24, 48, 120),
    "checkins": ("weekly", "fortnightly", "off"),
    "nudge_hours": (48, 24, 72),
    "no_contact_days": (21, 14, 28),
}


def test_the_choices_and_their_defaults() -> None:
    assert SETTINGS == CHOICES
    assert CohortSettings.of({}).model_dump() == {k: v[0] for k, v in CHOICES.items()}
    assert CohortSettings.of(None) == CohortSettings()


def test_stored_values_unknown_keys_and_values_not_among_the_choices() -> None:
    settings = CohortSettings.of(
        {
            "matching_mode": "best_scores",
            "max_timezone_hours": 3,
            "checkins": "monthly",
            "nudge_hours": 5,
            "weights": None,
            "colour": "blue",
        }
    )
    assert settings.matching_mode == "best_scores"
    assert settings.max_timezone_hours == 3
    assert settings.checkins == "weekly"
    assert settings.nudge_hours == 48
    assert settings.weights == "balanced"
    assert not hasattr(settings, "colour")


@pytest.mark.parametrize("key", list(CHOICES))
def test_changing_a_setting_moves_through_its_choices(key: str) -> None:
    stored: dict[str, Any] = {}
    seen = []
    for _ in CHOICES[key]:
        value = next_choice(CohortSettings.of(stored), key)
        stored = {**stored, key: value}
        seen.append(value)
    assert seen == [*CHOICES[key][1:], CHOICES[key][0]]


def test_the_weights_of_a_preset() -> None:
    assert CohortSettings().matching_weights() == Weights()
    practical = CohortSettings.of({"weights": "practical", "max_timezone_hours": 9})
    assert practical.matching_weights() == Weights(
        topics=20, timezone=25, availability=25, max_timezone_hours=9.0
    )
