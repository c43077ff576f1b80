"""From intake answers to profiles, and from profiles to what matching needs."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.cohorts import Role
from bot.domain.matching import MenteeProfile, MentorProfile, Preference

MENTEE_INTAKE = "intake_mentee"
MENTOR_INTAKE = "intake_mentor"
INTAKE_FOR_ROLE = {Role.MENTEE: MENTEE_INTAKE, Role.MENTOR: MENTOR_INTAKE}
EXPERIENCED_YEARS = 10

# A wish in the mentee's intake, as matching reads it.
WISHES: dict[str, tuple[str, str]] = {
    "woman": ("gender", "woman"),
    "man": ("gender", "man"),
    "in_person": ("format", "in_person"),
    "experienced": ("experienced", "yes"),
}


def mentee_data(answers: dict[str, Any]) -> dict[str, Any]:
    wishes = answers.get("preferences") or []
    return {
        "occupation": answers.get("occupation"),
        "decisions": answers.get("decisions"),
        "stage": int(answers.get("stage") or 1),
        "first_steps": answers.get("first_steps"),
        "topics": list(answers.get("topics") or []),
        "languages": list(answers.get("languages") or []),
        "timezone": answers.get("timezone") or "UTC",
        "availability": list(answers.get("availability") or []),
        "formats": list(answers.get("formats") or []),
        "preferences": [
            {"wish": wish, "required": answers.get(f"weight.{wish}.required") == "must"}
            for wish in wishes
            if wish in WISHES
        ],
        "show_name": bool(answers.get("show_name")),
    }


def mentor_data(answers: dict[str, Any]) -> dict[str, Any]:
    return {
        "expertise": list(answers.get("expertise") or []),
        "years": int(answers.get("years") or 0),
        "bio": answers.get("bio"),
        "languages": list(answers.get("languages") or []),
        "timezone": answers.get("timezone") or "UTC",
        "availability": list(answers.get("availability") or []),
        "formats": list(answers.get("formats") or []),
        "capacity": int(answers.get("capacity") or 1),
        "gender": answers.get("gender"),
        "accepting": True,
    }


def utc_offset(zone: str, at: datetime) -> float:
    offset = at.astimezone(ZoneInfo(zone)).utcoffset()
    return offset.total_seconds() / 3600 if offset is not None else 0.0


def as_mentee(person_id: int, data: dict[str, Any], at: datetime) -> MenteeProfile:
    return MenteeProfile(
        id=person_id,
        languages=frozenset(data["languages"]),
        utc_offset=utc_offset(data["timezone"], at),
        availability=frozenset(data["availability"]),
        formats=frozenset(data["formats"]),
        topics=frozenset(data["topics"]),
        stage=int(data["stage"]),
        preferences=tuple(
            Preference(*WISHES[p["wish"]], required=bool(p["required"]))
            for p in data["preferences"]
        ),
    )


def as_mentor(
    person_id: int, data: dict[str, Any], places_left: int, at: datetime
) -> MentorProfile:
    attributes = {"experienced": "yes" if data["years"] >= EXPERIENCED_YEARS else "no"}
    if data.get("gender"):
        attributes["gender"] = data["gender"]
    return MentorProfile(
        id=person_id,
        languages=frozenset(data["languages"]),
        utc_offset=utc_offset(data["timezone"], at),
        availability=frozenset(data["availability"]),
        formats=frozenset(data["formats"]),
        expertise=frozenset(data["expertise"]),
        years_experience=int(data["years"]),
        capacity=places_left if data.get("accepting", True) else 0,
        attributes=attributes,
    )
