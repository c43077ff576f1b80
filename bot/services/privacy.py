"""A person's rights over their data: a complete copy (/mydata) and erasure (/deleteme,
``mentorbot erase``). Both walk the registry of where the database holds a person
(``bot/storage/personal.py``); the copy's format is described in docs/personal-data.md."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.cohorts import Role
from bot.domain.pairs import RUNNING, PairStatus
from bot.domain.texts import N_, Msg
from bot.services.clock import Clock
from bot.services.conversation import RELAYED_TEXT
from bot.services.messages import Notifier
from bot.storage import cohorts as cohort_store
from bot.storage import pair_context, personal
from bot.storage import polls as poll_store
from bot.storage.conversation import RELAY
from bot.storage.models import Person, Profile
from bot.storage.pair_context import TALKING_TO

FORMAT = "mentorbot-personal-data"
VERSION = 1


@dataclass
class Ended:
    """A pair the erased person was in, as it was: whom to tell that it ended."""

    pair_id: int
    cohort_id: int
    status: str
    erased_role: str
    partner_id: int


@dataclass
class Erased:
    """What an erasure did: the pairs that ended with it."""

    found: bool
    ended: list[Ended] = field(default_factory=list)


class PrivacyService:
    def __init__(self, clock: Clock, default_locale: str, operators: Collection[int] = ()) -> None:
        self.clock = clock
        self.notifier = Notifier(clock, default_locale)
        self.operators = frozenset(operators)
        # Told, once the erasure is committed, whom to read afresh (PeopleService.forget).
        self.on_erased: list[Callable[[int], None]] = []

    # Erasure ----------------------------------------------------------------

    async def erase(self, db: AsyncSession, person_id: int, *, tell: bool = True) -> Erased:
        """Remove or scrub every row that refers to the person, cancel what was queued to
        or about them, and end their pairs: with ``tell``, the other side and the cohort's
        coordinators are told (queued, in their languages, in this unit of work) and a
        mentor left with other mentees must choose again whom he writes to. The caller
        commits; on SQLite, ``checkpoint`` afterwards leaves no copy in the WAL."""
        found = await db.get(Person, person_id) is not None
        pairs = await pair_context.pairs_of(db, person_id, (*RUNNING, PairStatus.REQUESTED))
        ended = [
            Ended(
                pair.id,
                pair.cohort_id,
                pair.status,
                Role.MENTEE if pair.mentee_id == person_id else Role.MENTOR,
                pair.mentor_id if pair.mentee_id == person_id else pair.mentee_id,
            )
            for pair in pairs
        ]
        await personal.erase(db, person_id, self.clock.now())
        if tell:
            for pair in ended:
                await self._tell(db, pair)
        for listener in self.on_erased:
            event.listen(db.sync_session, "after_commit", _once(listener, person_id), once=True)
        return Erased(found, ended)

    async def _tell(self, db: AsyncSession, pair: Ended) -> None:
        partner = await db.get(Person, pair.partner_id)
        if partner is None:
            return
        # The notices name a pair that is over and nobody's, like the partner's other
        # messages about it now do.
        context = {"pair": personal.ERASED_PAIR}
        if pair.status == PairStatus.REQUESTED:
            if pair.erased_role == Role.MENTOR:
                self.notifier.notify(
                    db,
                    partner,
                    Msg(
                        N_(
                            "The mentor you asked has left the programme. /mentors shows you "
                            "other suggestions."
                        )
                    ),
                    "notice",
                    context,
                )
            return
        if pair.erased_role == Role.MENTOR:
            notice = Msg(
                N_(
                    "Your mentor has left the programme and had their data deleted, so your "
                    "mentoring pair has ended. Your programme coordinator has been told."
                )
            )
        elif await self._choose_again(db, partner):
            notice = Msg(
                N_(
                    "One of your mentees has left the programme and had their data deleted, so "
                    "your mentoring pair with them has ended. To be sure your next message "
                    "reaches the mentee you mean, reply to one of their messages or choose "
                    "with /mentees."
                )
            )
        else:
            notice = Msg(
                N_(
                    "Your mentee has left the programme and had their data deleted, so your "
                    "mentoring pair has ended. Your programme coordinator has been told."
                )
            )
        self.notifier.notify(db, partner, notice, "notice", context)
        alert = (
            N_(
                "Pair #{pair} has ended: the mentee left the programme and had their data "
                "deleted. Their mentor {name} has been told."
            )
            if pair.erased_role == Role.MENTEE
            else N_(
                "Pair #{pair} has ended: the mentor left the programme and had their data "
                "deleted. Their mentee {name} has been told."
            )
        )
        await self.notifier.tell_coordinators(
            db,
            pair.cohort_id,
            Msg(alert, {"pair": pair.pair_id, "name": partner.first_name}),
            context,
        )

    async def _choose_again(self, db: AsyncSession, mentor: Person) -> bool:
        """A mentor who still has mentees: until he names one again (a reply, /mentees),
        his messages go to none of them, so that what he meant for the one who left
        reaches nobody else."""
        profile = await db.get(Profile, mentor.id)
        mentoring = [
            p
            for p in await pair_context.pairs_of(db, mentor.id, RUNNING)
            if p.mentor_id == mentor.id
        ]
        if not mentoring or profile is None:
            return False
        profile.data = {**profile.data, TALKING_TO: personal.ERASED_PAIR}
        return True

    # The copy ---------------------------------------------------------------

    async def export(self, db: AsyncSession, person_id: int) -> dict[str, Any] | None:
        """Everything stored about the person (docs/personal-data.md): what it means, by
        subject, then every row that refers to them as stored (``records``)."""
        person = await db.get(Person, person_id)
        if person is None:
            return None
        records = await personal.records(db, person_id)
        cohorts = {c.id: c.name for c in (await cohort_store.by_id(db)).values()}
        coordinated = [c["cohort_id"] for c in records.get("cohort_coordinators", [])]
        # Their own pairs (the records also hold pairs they ended as a coordinator).
        pairs = [
            p for p in records.get("pairs", []) if person_id in (p["mentee_id"], p["mentor_id"])
        ]
        partners = {
            p["mentor_id"] if p["mentee_id"] == person_id else p["mentee_id"] for p in pairs
        }
        names = await personal.first_names(db, partners)
        return {
            "format": FORMAT,
            "version": VERSION,
            "exported_at": self.clock.now().isoformat(),
            "person": {
                "telegram_id": person.id,
                "first_name": person.first_name,
                "telegram_language": person.telegram_language,
                "first_seen": person.created_at.isoformat(),
                "last_seen": person.last_seen_at.isoformat(),
                "unreachable_since": _moment(person.unreachable_at),
            },
            "settings": {
                "language": person.language,
                "time_zone": person.timezone,
                "quiet_hours": {"from": person.quiet_from, "to": person.quiet_to},
                "paused_until": _moment(person.paused_until),
                "checkin": {
                    "weekday": person.checkin_weekday,
                    "hour": person.checkin_hour,
                    "stopped": person.checkins_stopped,
                },
                "digest": "daily" if person.digest_daily else "weekly",
            },
            "roles": {
                "operator": person_id in self.operators,
                "coordinator_of": [
                    {"cohort_id": cohort_id, "cohort": cohorts.get(cohort_id)}
                    for cohort_id in coordinated
                ],
                "memberships": [
                    {
                        "cohort": cohorts.get(m["cohort_id"]),
                        "role": m["role"],
                        "status": m["status"],
                        "joined": m["joined_at"],
                    }
                    for m in records.get("memberships", [])
                ],
            },
            "profile": next(
                (
                    {"role": p["role"], "answers": p["data"], "updated_at": p["updated_at"]}
                    for p in records.get("profiles", [])
                ),
                None,
            ),
            "pairs": [_pair(p, person_id, cohorts, names) for p in pairs],
            "meetings": [
                {
                    "pair": m["pair_id"],
                    "starts_at": m["starts_at"],
                    "status": m["status"],
                    "set_by_you": m["set_by"] == person_id,
                }
                for m in records.get("meetings", [])
            ],
            "pulse": [
                {
                    "pair": a["pair_id"],
                    "round": a["round"],
                    "asked_at": a["asked_at"],
                    "answered_at": a["answered_at"],
                    "useful": a["useful"],
                    "regular": a["regular"],
                }
                for a in records.get("pulse_answers", [])
            ],
            "commitments": [
                {
                    "text": c["text"],
                    "due_on": c["due_on"],
                    "status": c["status"],
                    "created_at": c["created_at"],
                    "closed_at": c["closed_at"],
                }
                for c in records.get("commitments", [])
            ],
            "sessions": _sessions(records),
            "consents": [
                {"kind": c["kind"], "given": c["given"], "at": c["at"]}
                for c in records.get("consents", [])
            ],
            "poll_votes": await _votes(db, records.get("poll_votes", [])),
            "quiz_answers": await _quiz_answers(db, records.get("quiz_plays", [])),
            "messages": _messages(records.get("outbox", []), person_id),
            "records": records,
        }


def _once(listener: Callable[[int], None], person_id: int) -> Callable[[Any], None]:
    return lambda _session: listener(person_id)


@dataclass(frozen=True)
class Counts:
    """The figures of the short message that comes with the copy."""

    sessions: int
    commitments: int
    pairs: int
    messages: int
    rows: int


def summary_counts(data: dict[str, Any]) -> Counts:
    return Counts(
        sessions=len(data["sessions"]),
        commitments=len(data["commitments"]),
        pairs=len(data["pairs"]),
        messages=len(data["messages"]),
        rows=sum(len(rows) for rows in data["records"].values()),
    )


def _moment(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _pair(
    pair: dict[str, Any], person_id: int, cohorts: dict[int, str], names: dict[int, str]
) -> dict[str, Any]:
    mine = pair["mentee_id"] == person_id
    partner = pair["mentor_id"] if mine else pair["mentee_id"]
    return {
        "id": pair["id"],
        "cohort": cohorts.get(pair["cohort_id"]),
        "as": Role.MENTEE if mine else Role.MENTOR,
        "partner": names.get(partner),
        "status": pair["status"],
        "score": pair["score"],
        "reasons": pair["reasons"],
        "created_at": pair["created_at"],
        "decided_at": pair["decided_at"],
        "ended_at": pair["ended_at"],
        "end_reason": pair["end_reason"],
        "your_look_back": (pair["feedback"] or {}).get(str(person_id)),
        "contact_shared": person_id in (pair["contact_consent"] or []),
        "video_link": pair["video_link"],
    }


def _sessions(records: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    answers: dict[int, dict[str, Any]] = {}
    for answer in records.get("answers", []):
        answers.setdefault(answer["session_id"], {})[answer["key"]] = answer["value"]
    return [
        {
            "id": s["id"],
            "dialog": s["dialog_id"],
            "status": s["status"],
            "started_at": s["started_at"],
            "finished_at": s["finished_at"],
            "answers": answers.get(s["id"], {}),
        }
        for s in records.get("dialog_sessions", [])
    ]


async def _votes(db: AsyncSession, votes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    questions = await poll_store.questions_of(db, [v["telegram_poll_id"] for v in votes])
    found = []
    for vote in votes:
        question, options = questions.get(vote["telegram_poll_id"], (None, []))
        option = vote["option"]
        found.append(
            {
                "question": question,
                "answer": options[option] if 0 <= option < len(options) else option,
                "voted_at": vote["voted_at"],
            }
        )
    return found


async def _quiz_answers(db: AsyncSession, plays: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each question of a quiz game they were asked, with their answer and whether it was
    right (an answer not given is null)."""
    games = await poll_store.games_of(db, {p["game_id"] for p in plays})
    found = []
    for play in sorted(plays, key=lambda p: (p["game_id"], p["number"])):
        questions = games.get(play["game_id"], [])
        number = play["number"]
        question = questions[number] if 0 <= number < len(questions) else None
        options = question["options"] if question else []
        option = play["option"]
        found.append(
            {
                "game": play["game_id"],
                "question": question["question"] if question else None,
                "answer": options[option]
                if option is not None and 0 <= option < len(options)
                else option,
                "right": None
                if option is None or question is None
                else option == question["correct"],
                "asked_at": play["asked_at"],
                "answered_at": play["answered_at"],
            }
        )
    return found


def _messages(rows: list[dict[str, Any]], person_id: int) -> list[dict[str, Any]]:
    """What passed between them and their mentoring partner as the bot relayed it: sent
    (rows to the partner, from them) and received (rows to them)."""
    found = []
    for row in sorted(rows, key=lambda r: (r["created_at"], r["id"])):
        if row["kind"] != RELAY:
            continue
        payload, context = row["payload"] or {}, row["context"] or {}
        message: dict[str, Any] = {
            "direction": "sent" if context.get("from") == person_id else "received",
            "pair": context.get("pair"),
            "at": row["created_at"],
            "status": row["status"],
        }
        msg = payload.get("msg")
        if row["method"] == "copyMessage":
            message["content"] = "a photo, file or other message, passed on as it was"
        elif isinstance(msg, dict) and msg.get("id") == RELAYED_TEXT:
            message["text"] = msg["values"].get("text")
        else:
            # The line that announces a copy, or a message whose words have been scrubbed.
            continue
        found.append(message)
    return found
