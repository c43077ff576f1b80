"""Keeping data no longer than needed. Once a day (the sweep claims the day, so one process
of several runs it) and by hand (``mentorbot purge``):

- messages the bot sent (or gave up on) more than ``outbox_days`` ago lose their words;
- a cohort's coordinators are told ``warning_days`` before its people's data is purged;
- ``retention_days`` after a cohort's end date, and no sooner than ``warning_days`` after
  that warning, the cohort is purged: its statistics are kept as aggregates first
  (``cohort_statistics``, which /stats and the report read from then on), then its
  people who are in no other cohort are erased as by /deleteme (nobody is told: the
  programme is over), and of the others, what they had in this cohort goes (pairs,
  membership, poll votes, the words of messages about its pairs).

Handled updates keep no content from the moment they are handled (repositories.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.stats import stats_to_json
from bot.domain.texts import N_, Msg
from bot.services.clock import Clock
from bot.services.messages import Notifier
from bot.services.privacy import PrivacyService
from bot.services.stats import StatsService
from bot.storage import retention as store
from bot.storage.models import Cohort

TASK = "retention"


@dataclass
class RetentionRun:
    """What one run did."""

    scrubbed: int = 0  # outbox rows that lost their words
    warned: list[str] = field(default_factory=list)  # cohorts whose coordinators were told
    purged: list[str] = field(default_factory=list)  # cohorts purged
    erased: int = 0  # people erased with them


class RetentionService:
    def __init__(
        self,
        clock: Clock,
        privacy: PrivacyService,
        stats: StatsService,
        default_locale: str,
        *,
        retention_days: int,
        warning_days: int,
        outbox_days: int,
    ) -> None:
        self.clock = clock
        self.privacy = privacy
        self.stats = stats
        self.notifier = Notifier(clock, default_locale)
        self.retention = timedelta(days=retention_days)
        self.warning = timedelta(days=warning_days)
        self.outbox_days = timedelta(days=outbox_days)

    def purge_day(self, cohort: Cohort, warned_at: datetime) -> date:
        """When a cohort is purged: its retention after its end, and never sooner than the
        warning's days after its coordinators were told."""
        assert cohort.ends_on is not None
        return max(cohort.ends_on + self.retention, (warned_at + self.warning).date())

    async def run(self, db: AsyncSession) -> RetentionRun:
        """Everything that is due, in the caller's unit of work."""
        now = self.clock.now()
        today = now.date()
        done = RetentionRun(scrubbed=await store.scrub_settled(db, now - self.outbox_days))
        for cohort in await store.to_warn(db, today, self.retention, self.warning):
            await self._warn(db, cohort, now)
            done.warned.append(cohort.name)
        for cohort in await store.to_purge(db, today, now, self.retention, self.warning):
            done.erased += await self.purge(db, cohort, now)
            done.purged.append(cohort.name)
        return done

    async def _warn(self, db: AsyncSession, cohort: Cohort, now: datetime) -> None:
        await self.notifier.tell_coordinators(
            db,
            cohort.id,
            Msg(
                N_(
                    "🗂 On {day} the data of the people of <b>{cohort}</b> will be deleted: "
                    "their answers, profiles, pairs and messages in it. The cohort's statistics "
                    "stay. If you need anything else, export it before then (/export)."
                ),
                {"day": self.purge_day(cohort, now), "cohort": cohort.name},
            ),
            {"cohort": cohort.id},
        )
        await store.mark_warned(db, cohort.id, now)

    async def purge(self, db: AsyncSession, cohort: Cohort, now: datetime) -> int:
        """Purge one cohort now; returns how many people were erased with it."""
        figures = stats_to_json(await self.stats.cohort_stats(db, cohort))
        members = await store.members(db, cohort.id)
        staying = await store.held_elsewhere(db, cohort.id, members)
        erased = [
            person_id
            for person_id in members
            if person_id not in staying and person_id not in self.privacy.operators
        ]
        for person_id in erased:
            await self.privacy.erase(db, person_id, tell=False)
        await store.forget_cohort(db, cohort.id)
        await store.keep_statistics(db, cohort.id, figures, now)
        return len(erased)
