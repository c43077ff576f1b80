"""The programme's services, built together: cohorts, profiles, pairs, matching, the
conversation between mentor and mentee, and the relationship pulse."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from bot.services.clock import Clock
from bot.services.cohorts import CohortService
from bot.services.conversation import ConversationService
from bot.services.dialogs import DialogService
from bot.services.followup import FollowUpService
from bot.services.matching import MatchingService
from bot.services.pairs import PairService
from bot.services.profiles import ProfileService
from bot.services.pulse import PulseService


@dataclass
class Programme:
    """The programme's services as the composition root built them, one per feature.
    Only a holder: services are given the one they use, and so are handlers, but
    for the mentoring and broadcast handlers, which use several."""

    cohorts: CohortService
    profiles: ProfileService
    pairs: PairService
    matching: MatchingService
    conversation: ConversationService
    pulse: PulseService


def create_programme(
    dialogs: DialogService,
    clock: Clock,
    coordinator_ids: Collection[int],
    default_locale: str,
    followup: FollowUpService,
) -> Programme:
    cohorts = CohortService(dialogs, clock, coordinator_ids)
    pulse = PulseService(dialogs, followup, clock, default_locale)
    pairs = PairService(dialogs, clock, cohorts, pulse, default_locale)
    return Programme(
        cohorts=cohorts,
        profiles=ProfileService(dialogs),
        pairs=pairs,
        matching=MatchingService(pairs, clock, default_locale),
        conversation=ConversationService(dialogs, pairs, clock, default_locale),
        pulse=pulse,
    )
