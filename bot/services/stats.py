"""A cohort's statistics: computed by aggregate queries, shown as a message, a chart and
a self-contained HTML page (charts inlined), in the reader's language."""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession

from bot.charts.stats import StatsChart
from bot.domain.cohorts import MembershipStatus, Role
from bot.domain.pairs import PairStatus
from bot.domain.stats import PENDING_PAIRS, CohortStats, stats_from_json
from bot.domain.texts import N_, Msg, Value, plural_msg
from bot.services.clock import Clock
from bot.services.dialogs import DialogService
from bot.storage import retention as retention_store
from bot.storage import stats as queries
from bot.storage.models import Cohort
from bot.storage.repositories import ZoneOf

Translate = Callable[[Msg], str]

ROLE_NAMES: dict[str, str] = {Role.MENTEE: N_("Mentees"), Role.MENTOR: N_("Mentors")}
MEMBER_STATUSES: dict[str, str] = {
    MembershipStatus.INTAKE: N_("in intake"),
    MembershipStatus.ACTIVE: N_("active"),
    MembershipStatus.LEFT: N_("left"),
}
# How many people of a role are in each status, as a count that takes its plural form.
MEMBER_COUNTS: dict[str, Msg] = {
    MembershipStatus.INTAKE: plural_msg("{n} in intake", "{n} in intake", "n", {}),
    MembershipStatus.ACTIVE: plural_msg("{n} active", "{n} active", "n", {}),
    MembershipStatus.LEFT: plural_msg("{n} left", "{n} left", "n", {}),
}
PAIR_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (N_("active"), (PairStatus.ACTIVE,)),
    (N_("paused"), (PairStatus.PAUSED,)),
    (N_("pending"), PENDING_PAIRS),
    (N_("ended"), (PairStatus.ENDED,)),
)
COMMITMENT_NAMES = (
    ("done", N_("done")),
    ("overdue", N_("overdue")),
    ("open", N_("open, not yet due")),
    ("dropped", N_("dropped")),
)


@dataclass(frozen=True)
class Section:
    heading: str
    rows: list[tuple[str, str]]


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.0%}"


class StatsService:
    def __init__(self, dialogs: DialogService, clock: Clock, zone_of: ZoneOf) -> None:
        self.dialogs = dialogs
        self.clock = clock
        self.zone_of = zone_of

    def coaching(self) -> list[str]:
        return [d.id for d in self.dialogs.dialogs.values() if d.kind == "coaching"]

    async def cohort_stats(self, db: AsyncSession, cohort: Cohort) -> CohortStats:
        """The figures of a cohort; of a purged one, those kept when it was purged."""
        if cohort.purged_at is not None:
            kept = await retention_store.kept_statistics(db, cohort.id)
            if kept is not None:
                return stats_from_json(kept)
        return await queries.cohort_stats(
            db,
            cohort,
            self.clock.now(),
            self.zone_of,
            self.coaching(),
            [area for area, _label in self.dialogs.wheel_areas()],
        )

    def dialog_title(self, dialog_id: str) -> str:
        dialog = self.dialogs.dialogs.get(dialog_id)
        return dialog.title if dialog is not None else dialog_id

    def sections(self, stats: CohortStats, t: Translate) -> list[Section]:
        """The figures, as headed rows of (label, value), in the reader's language."""

        def m(text: str, **values: Value) -> str:
            return t(Msg(text, values))

        people = [
            (
                m(ROLE_NAMES.get(role, role)),
                ", ".join(
                    t(replace(MEMBER_COUNTS[status], values={"n": n}))
                    if status in MEMBER_COUNTS
                    else f"{n} {status}"
                    for (r, status), n in sorted(stats.people.items())
                    if r == role
                ),
            )
            for role in sorted({role for role, _status in stats.people})
        ]
        pairs = [(m(label), str(stats.pair_count(*group))) for label, group in PAIR_GROUPS]
        hours = stats.median_first_contact_hours
        pairs += [
            (
                m(N_("Match rate")),
                t(
                    plural_msg(
                        "{rate} ({matched} of {mentees} mentee)",
                        "{rate} ({matched} of {mentees} mentees)",
                        "mentees",
                        {
                            "rate": percent(stats.match_rate),
                            "matched": stats.matched_mentees,
                            "mentees": stats.mentees,
                        },
                    )
                ),
            ),
            (
                m(N_("Median time to first contact")),
                "—"
                if hours is None
                else t(
                    plural_msg(
                        "{hours} h ({pairs} pair)",
                        "{hours} h ({pairs} pairs)",
                        "pairs",
                        {
                            "hours": f"{hours:.1f}",
                            "pairs": len(stats.first_contact_hours),
                        },
                    )
                ),
            ),
        ]
        dialogs = [
            (m(self.dialog_title(dialog)), str(n)) for dialog, n in sorted(stats.dialogs.items())
        ] or [(m(N_("None yet")), "0")]
        checkins = [
            (
                m(N_("Response rate")),
                m(
                    N_("{rate} ({answered} of {asked})"),
                    rate=percent(stats.checkin_response_rate),
                    answered=stats.checkins_answered,
                    asked=stats.checkins_asked,
                ),
            ),
            (m(N_("Check-ins done")), str(stats.checkins_done)),
        ] + [
            (
                m(N_("Week of {day}"), day=monday),
                t(
                    plural_msg(
                        "mood {mood} ({count} check-in)",
                        "mood {mood} ({count} check-ins)",
                        "count",
                        {
                            "mood": f"{mood:.1f}",
                            "count": count,
                        },
                    )
                ),
            )
            for monday, mood, count in stats.mood
        ]
        commitments = [
            (m(label), str(stats.commitments.get(key, 0))) for key, label in COMMITMENT_NAMES
        ]
        labels = dict(self.dialogs.wheel_areas())
        wheel = [
            (
                m(labels[area]),
                t(
                    plural_msg(
                        "{change} ({people} person)",
                        "{change} ({people} people)",
                        "people",
                        {
                            "change": f"{change:+.1f}",
                            "people": people_,
                        },
                    )
                ),
            )
            for area, (change, people_) in sorted(
                stats.wheel_change.items(), key=lambda i: list(labels).index(i[0])
            )
        ] or [(m(N_("Nobody has rated the wheel twice yet.")), "")]
        return [
            Section(m(N_("People")), people or [(m(N_("None yet")), "0")]),
            Section(m(N_("Pairs")), pairs),
            Section(m(N_("Finished sessions")), dialogs),
            Section(m(N_("Check-ins")), checkins),
            Section(m(N_("Commitments")), commitments),
            Section(
                m(N_("Wheel of Life: average change from the first rating to the latest")), wheel
            ),
        ]

    def title(self, stats: CohortStats, t: Translate) -> str:
        return t(Msg(N_("Statistics for {cohort}"), {"cohort": stats.cohort}))

    def chart(self, stats: CohortStats, t: Translate) -> StatsChart:
        labels = dict(self.dialogs.wheel_areas())
        return StatsChart(
            title=self.title(stats, t),
            pairs_title=t(Msg(N_("Pairs"))),
            pairs=[(t(Msg(label)), stats.pair_count(*group)) for label, group in PAIR_GROUPS],
            dialogs_title=t(Msg(N_("Finished sessions"))),
            dialogs=[(t(Msg(self.dialog_title(d))), n) for d, n in sorted(stats.dialogs.items())],
            mood_title=t(Msg(N_("Mood by week (1-5)"))),
            mood=[(monday, mood) for monday, mood, _n in stats.mood],
            wheel_title=t(Msg(N_("Wheel of Life: average change"))),
            wheel=[
                (t(Msg(labels[area])), change)
                for area, (change, _n) in stats.wheel_change.items()
                if area in labels
            ],
            empty=t(Msg(N_("No data yet"))),
            people_title=t(Msg(N_("People"))),
            people=[
                (
                    t(
                        Msg(
                            N_("{role}: {status}"),
                            {
                                "role": Msg(ROLE_NAMES.get(role, role)),
                                "status": Msg(MEMBER_STATUSES.get(status, status)),
                            },
                        )
                    ),
                    n,
                )
                for (role, status), n in sorted(stats.people.items())
            ],
        )

    def message(self, stats: CohortStats, t: Translate) -> str:
        """Telegram HTML; ``t`` gives HTML with the person's words escaped."""
        blocks = [f"<b>{self.title(stats, t)}</b>"]
        for section in self.sections(stats, t):
            lines = [f"<b>{section.heading}</b>"]
            lines += [f"{label}: {value}" if value else label for label, value in section.rows]
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks)

    def page(self, stats: CohortStats, t: Translate, charts: list[bytes], lang: str) -> str:
        """A self-contained HTML page: no external resources, charts as data: URIs."""
        title = self.title(stats, t)
        parts = [
            "<!DOCTYPE html>",
            f'<html lang="{html.escape(lang)}"><head><meta charset="utf-8">',
            f"<title>{title}</title>",
            "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
            "table{border-collapse:collapse;margin-bottom:1.5em}"
            "td{border-bottom:1px solid #ddd;padding:.3em 1em .3em 0}"
            "img{max-width:100%}</style></head><body>",
            f"<h1>{title}</h1>",
        ]
        for section in self.sections(stats, t):
            parts.append(f"<h2>{section.heading}</h2><table>")
            parts += [f"<tr><td>{label}</td><td>{value}</td></tr>" for label, value in section.rows]
            parts.append("</table>")
        for png in charts:
            data = base64.b64encode(png).decode("ascii")
            alt = html.escape(_unescape(title))
            parts.append(f'<p><img alt="{alt}" src="data:image/png;base64,{data}"></p>')
        parts.append("</body></html>")
        return "\n".join(parts) + "\n"


def _unescape(text: str) -> str:
    return html.unescape(text)
