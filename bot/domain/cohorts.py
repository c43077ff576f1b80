"""The programme's vocabulary: roles, memberships, cohort modes, what a mentee shares, and
a cohort's settings with every default. Pure: no SQL, no aiogram.

The enums are ``str`` subclasses: the database columns and the JSON keep plain strings,
and a value read back compares equal to its member."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum, StrEnum
from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
)

from bot.domain.matching import MatchingMode, Weights


class Role(StrEnum):
    """A member's role in a cohort; an invite brings someone in as one of the three."""

    MENTEE = "mentee"
    MENTOR = "mentor"
    # Not a membership: the person helps run the cohort (cohort_coordinators).
    COORDINATOR = "coordinator"


# The roles of a membership (and of a profile).
MEMBER_ROLES = (Role.MENTEE, Role.MENTOR)


class MembershipStatus(StrEnum):
    INTAKE = "intake"  # joined, the intake not yet finished
    ACTIVE = "active"
    LEFT = "left"


class CohortMode(StrEnum):
    COORDINATOR = "coordinator"  # the coordinator runs matching and approves pairs
    MENTEE_CHOOSES = "mentee_chooses"  # mentees ask one of their suggested mentors


class ShareMode(StrEnum):
    """Whether a mentee's finished coaching sessions go to their mentor (/share)."""

    ASK = "ask"
    ALWAYS = "always"
    NEVER = "never"


class WeightPreset(StrEnum):
    BALANCED = "balanced"
    TOPICS = "topics"
    PRACTICAL = "practical"


class CheckinCadence(StrEnum):
    WEEKLY = "weekly"
    FORTNIGHTLY = "fortnightly"
    OFF = "off"


WEIGHT_PRESETS: dict[WeightPreset, dict[str, float]] = {
    WeightPreset.BALANCED: {},
    WeightPreset.TOPICS: {"topics": 55, "availability": 10, "timezone": 10},
    WeightPreset.PRACTICAL: {"topics": 20, "timezone": 25, "availability": 25},
}


class CohortSettings(BaseModel):
    """A cohort's settings, as kept in ``cohorts.settings``: each field's type lists the
    choices a coordinator moves through (in that order), its default is the cohort's
    until they change it. Unknown keys are ignored; a missing value, or one that is not
    among the choices, is the default."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    matching_mode: MatchingMode = MatchingMode.MOST_MATCHED
    weights: WeightPreset = WeightPreset.BALANCED
    max_timezone_hours: Literal[6, 3, 9, 12] = 6
    # A mentor has this long to answer a mentee's request.
    response_hours: Literal[72, 24, 48, 120] = 72
    checkins: CheckinCadence = CheckinCadence.WEEKLY
    # A mentor is nudged after this many hours without an answer, again after twice as many.
    nudge_hours: Literal[48, 24, 72] = 48
    # The coordinators hear of an active pair without contact for this many days.
    no_contact_days: Literal[21, 14, 28] = 21

    @field_validator("*", mode="wrap")
    @classmethod
    def _default_unless_a_choice(
        cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> Any:
        try:
            return handler(value)
        except ValidationError:
            assert info.field_name is not None
            return cls.model_fields[info.field_name].default

    @classmethod
    def of(cls, stored: Mapping[str, Any] | None) -> CohortSettings:
        """The settings a cohort's JSON column holds."""
        return cls.model_validate(stored or {})

    def matching_weights(self) -> Weights:
        return Weights(
            **WEIGHT_PRESETS[self.weights], max_timezone_hours=float(self.max_timezone_hours)
        )


def _choices(annotation: Any) -> tuple[Any, ...]:
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return tuple(annotation)
    return get_args(annotation)


# The settings a coordinator can change, each with its choices.
SETTINGS: dict[str, tuple[Any, ...]] = {
    key: _choices(field.annotation) for key, field in CohortSettings.model_fields.items()
}


def next_choice(settings: CohortSettings, key: str) -> Any:
    """The value after the setting's current one (after the last, the first)."""
    choices = SETTINGS[key]
    return choices[(choices.index(getattr(settings, key)) + 1) % len(choices)]
