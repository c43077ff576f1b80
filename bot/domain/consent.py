"""Consent for sensitive answers (GDPR art. 9): what a person is asked, once, before such
answers are asked of them or go beyond them, and what each consent covers.

A dialog step names the consent its answer needs (``consent:`` in its YAML). Without the
mood consent the check-in's mood question is not asked at all, and no mood of the person's
reaches their mentor (digest, summaries), their coordinators (low-mood alert, figures,
exports) or matching. Without the Wheel consent the Wheel's ratings are still asked, as
they are the person's own tool, but they stay with the person: no summary they share
carries them, and no statistics or matching use them. Pure: no aiogram, no SQL."""

from __future__ import annotations

import enum

from bot.domain.access import Role
from bot.domain.texts import N_


class ConsentKind(enum.StrEnum):
    MOOD = "mood"
    WHEEL = "wheel"


# Consents without which the answers they cover are not even asked.
ASKED_ONLY_WITH = frozenset({ConsentKind.MOOD})
# Whom a consent is asked of, when a dialog that needs it starts: the mood of everyone
# who checks in; the Wheel's sharing of mentees only, as nobody else's ratings can go
# beyond them (a mentee is asked at their first Wheel in the programme).
ASKED_OF: dict[ConsentKind, Role | None] = {
    ConsentKind.MOOD: None,
    ConsentKind.WHEEL: Role.MENTEE,
}

QUESTIONS = {
    ConsentKind.MOOD: N_(
        "<b>Before your first check-in: a question about your mood</b>\n\n"
        "The check-in begins by asking how things are, from 1 to 5. How you feel is "
        "sensitive information, so I ask first whether you agree.\n\n"
        "If you agree:\n"
        "• I ask for your mood in each check-in and keep your answers.\n"
        "• If you have a mentor, they see your moods in their digest as your /share choice "
        "allows, and in the check-in summaries that go to them.\n"
        "• If you answer 2 or lower twice in a row, your programme's coordinators are told, "
        "so that someone can check on you.\n"
        "• Coordinators see your cohort's average mood, and in their check-in export each "
        "check-in's mood by Telegram id.\n\n"
        "If you do not agree, the check-in goes on without the mood question, and none of "
        "this happens.\n\n"
        "You can change your mind at any time in /settings."
    ),
    ConsentKind.WHEEL: N_(
        "<b>Your Wheel of Life ratings</b>\n\n"
        "Your ratings (family, partner, health, money and the other areas) say a lot about "
        "your life, so I ask before they go beyond you. You always see them yourself.\n\n"
        "If you agree:\n"
        "• A Wheel of Life summary that goes to your mentor (/share) includes your ratings.\n"
        "• Your ratings count in your cohort's figures for coordinators: the average change "
        "per area, never by name.\n"
        "• Your two lowest-rated areas can help to find a fitting mentor for you.\n\n"
        "If you do not agree, your ratings stay with you: summaries leave them out and they "
        "count nowhere.\n\n"
        "You can change your mind at any time in /settings."
    ),
}
AGREE = {
    ConsentKind.MOOD: N_("Yes, I agree"),
    ConsentKind.WHEEL: N_("Yes, they may be shared"),
}
DECLINE = {
    ConsentKind.MOOD: N_("No, leave the mood out"),
    ConsentKind.WHEEL: N_("No, keep them to myself"),
}


def omitted(steps: dict[str, ConsentKind], decisions: dict[ConsentKind, bool]) -> frozenset[str]:
    """Of the steps needing a consent (step id: its consent), those not to be asked:
    their consent is one they are asked only with, and it is not given."""
    return frozenset(
        step
        for step, kind in steps.items()
        if kind in ASKED_ONLY_WITH and not decisions.get(kind, False)
    )


def hidden(steps: dict[str, ConsentKind], decisions: dict[ConsentKind, bool]) -> frozenset[str]:
    """Of the steps needing a consent, those whose answers may not go beyond the person."""
    return frozenset(step for step, kind in steps.items() if not decisions.get(kind, False))


def to_ask(
    needed: tuple[ConsentKind, ...], decisions: dict[ConsentKind, bool], roles: frozenset[Role]
) -> ConsentKind | None:
    """The first consent a dialog needs that this person has never decided and is asked."""
    for kind in needed:
        whom = ASKED_OF[kind]
        if kind not in decisions and (whom is None or whom in roles):
            return kind
    return None
