"""The playground: the real bot (dispatcher, storage, schedule, outbox) talking to the
embedded Bot API server, with people who are simulated Telegram users, a clock that can be
moved forward and the dialog files read again when they change."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.app import App, create_app, set_commands
from bot.config import LOCALES, Settings
from bot.domain.cohorts import CohortMode, Role
from bot.domain.dialogs import Dialog, DialogError, load_dialogs
from bot.playground.botapi import DEFAULT_TOKEN, BotAPIStandin, BotMessage, SimUser
from bot.playground.clock import ShiftedClock
from bot.services.people import PeopleService
from bot.services.people_csv import import_people, parse_people
from bot.storage.sealing import new_key
from bot.supervision import supervised

log = logging.getLogger(__name__)

DATABASE = "playground.db"
DEMO_COHORT = "Demo programme"
FIRST_PERSON_ID = 1001
# How often the dialog files are looked at for a change.
DIALOG_POLL_SECONDS = 1.0
# Where "next morning" moves the clock: after everyone's quiet hours (08:00 by default).
MORNING_HOUR = 9

# The demo programme's members besides the page's first mentee and mentor, as the people
# CSV gives them (bot/services/people_csv.py): (first name, language, intake columns).
MENTEE_COLUMNS = (
    "telegram_id,first_name,language,languages,timezone,availability,formats,"
    "occupation,decisions,stage,first_steps,topics,wishes,show_name"
)
MENTOR_COLUMNS = (
    "telegram_id,first_name,language,languages,timezone,availability,formats,expertise,"
    "years,bio,capacity,gender"
)
DEMO_MENTEES = (
    ("Līga", "lv", "lv;en,Europe/Riga,weekday_evening;weekend,chat;video,Student,"
     "With friends,2,Find an internship,career;growth,,yes"),
    ("Tom", "en", "en,Europe/Riga,weekday_day,video;call,Engineer,Alone with data,3,"
     "Lead a team,leadership;career,,yes"),
)  # fmt: skip
DEMO_MENTORS = (
    ("Jānis", "lv", "lv;en,Europe/Riga,weekday_evening;weekend,chat;video;call,"
     "career;growth,15,I hire and coach young engineers,2,man"),
    ("Maria", "en", "en,Europe/Riga,weekday_day;weekday_evening,video;call,"
     "leadership;career,12,I lead a product team,2,woman"),
)  # fmt: skip
FIRST_MENTEE = (
    "en,Europe/Riga,weekday_evening;weekend,chat;video,Designer,Slowly with lists,2,"
    "Find a direction,career;growth,,yes"
)
FIRST_MENTOR = (
    "lv;en,Europe/Riga,weekday_evening;weekend,chat;video,career;growth;leadership,10,"
    "I run a design studio,2,woman"
)


@dataclass
class PagePerson:
    """Someone the page can be: a simulated Telegram user, with what they are there for."""

    user: SimUser
    role: str  # "mentee", "mentor", "coordinator" or "" (someone new)


class Playground:
    def __init__(self, standin: BotAPIStandin, app: App, clock: ShiftedClock, settings: Settings):
        self.standin = standin
        self.app = app
        self.clock = clock
        self.settings = settings
        self.people: dict[int, PagePerson] = {}
        self._ids = itertools.count(FIRST_PERSON_ID)
        self.seeded = False
        # What the page last has to say about the dialog files: None when they are valid.
        self.dialog_problem: str | None = None
        self.dialogs_reloaded = 0
        self._dialog_files = self._dialog_mtimes()
        # Bumped by everything the page shows that the Bot API server does not see.
        self.version = 0

    # People ------------------------------------------------------------------------

    def add_person(self, name: str, language: str, role: str = "") -> PagePerson:
        name = " ".join(name.split())[:64]
        if not name:
            raise ValueError("a person needs a name")
        if language not in LOCALES:
            raise ValueError(f"the language is one of {', '.join(LOCALES)}")
        person = PagePerson(self.standin.user(next(self._ids), name, language), role)
        self.people[person.user.id] = person
        self.version += 1
        return person

    def person(self, person_id: int) -> PagePerson:
        try:
            return self.people[person_id]
        except KeyError:
            raise LookupError(f"no person {person_id} in the playground") from None

    async def write(self, person_id: int, text: str, reply_to: int | None = None) -> None:
        """Send ``text`` as the person (a command if it starts with "/"); with
        ``reply_to``, as Telegram's reply to that message of the bot's."""
        user = self.person(person_id).user
        text = text.strip()
        if not text:
            raise ValueError("nothing to send")
        replied = None if reply_to is None else self._bot_message(user, reply_to)
        if text.startswith("/"):
            await self.standin.send_command(user, text, replied)
        else:
            await self.standin.send_text(user, text, replied)

    async def press(self, person_id: int, message_id: int, label: str) -> None:
        await self.standin.press(self.person(person_id).user, label, message_id)

    async def vote(self, person_id: int, message_id: int, option: int) -> None:
        user = self.person(person_id).user
        message = self._bot_message(user, message_id)
        await self.standin.answer_poll(user, message, [option])

    def _bot_message(self, user: SimUser, message_id: int) -> BotMessage:
        found = next((m for m in self.standin.messages(user) if m.message_id == message_id), None)
        if found is None or found.deleted:
            raise LookupError(f"no message {message_id} in {user.first_name}'s chat")
        return found

    # The demo programme --------------------------------------------------------------

    async def seed_demo(self) -> None:
        """A cohort run by the page's coordinator, with mentors and mentees whose intakes
        are done (as `mentorbot import` puts them in), so a matching can be tried at once."""
        if self.seeded:
            raise ValueError("the demo programme is there already")
        coordinator = next(p for p in self.people.values() if p.role == "coordinator")
        mentees = [(p.user, FIRST_MENTEE) for p in self.people.values() if p.role == "mentee"]
        mentors = [(p.user, FIRST_MENTOR) for p in self.people.values() if p.role == "mentor"]
        mentees += [(self.add_person(n, lang, "mentee").user, c) for n, lang, c in DEMO_MENTEES]
        mentors += [(self.add_person(n, lang, "mentor").user, c) for n, lang, c in DEMO_MENTORS]
        now = self.clock.now()
        people: PeopleService = self.app.dispatcher["people"]
        async with self.app.sessions() as db:
            user = coordinator.user
            await people.arrive(db, user.id, user.first_name, user.language_code)
            cohort = await self.app.programme.cohorts.create_cohort(
                db,
                user.id,
                DEMO_COHORT,
                CohortMode.COORDINATOR,
                now.date() + timedelta(days=90),
                now,
            )
            for role, header, members in (
                (Role.MENTEE, MENTEE_COLUMNS, mentees),
                (Role.MENTOR, MENTOR_COLUMNS, mentors),
            ):
                lines = [header] + [
                    f"{u.id},{u.first_name},{u.language_code},{columns}" for u, columns in members
                ]
                rows, errors = parse_people("\n".join(lines) + "\n", role)
                if errors:
                    raise AssertionError(f"the demo's {role}s do not read: {errors}")
                await import_people(db, cohort.name, role, rows, now)
            await db.commit()
        self.seeded = True
        self.version += 1

    # Time ----------------------------------------------------------------------------

    async def advance(self, by: timedelta) -> None:
        """Move the bot's time forward; what fell due meanwhile is planned and sent."""
        self.clock.advance(by)
        self.version += 1
        await self.app.sweep()
        self.app.outbox.wake()

    async def next_morning(self) -> None:
        """Move the bot's time to the next MORNING_HOUR in the default time zone: past
        the quiet hours that hold back what the bot starts at night."""
        zone = ZoneInfo(self.settings.default_timezone)
        local = self.clock.now().astimezone(zone)
        morning = datetime.combine(local.date(), time(MORNING_HOUR), tzinfo=zone)
        if morning <= local:
            morning = datetime.combine(
                local.date() + timedelta(days=1), time(MORNING_HOUR), tzinfo=zone
            )
        await self.advance(morning.astimezone(UTC) - local.astimezone(UTC))

    # Dialog files ----------------------------------------------------------------------

    def _dialog_mtimes(self) -> dict[str, int]:
        directory: Path = self.settings.dialogs_dir
        return {p.name: p.stat().st_mtime_ns for p in sorted(directory.glob("*.yaml"))}

    def reload_dialogs(self) -> bool:
        """Read the dialog files again if one changed (or came or went); True if they were.
        Valid files replace the running dialogs; invalid ones leave them and say why."""
        files = self._dialog_mtimes()
        if files == self._dialog_files:
            return False
        self._dialog_files = files
        self.version += 1
        try:
            fresh = load_dialogs(self.settings.dialogs_dir)
        except (DialogError, OSError) as exc:
            self.dialog_problem = str(exc)
            log.warning("the dialog files were not reloaded: %s", exc)
            return True
        self.replace_dialogs(fresh)
        self.dialog_problem = None
        self.dialogs_reloaded += 1
        log.info("the dialog files were reloaded: %s", ", ".join(sorted(fresh)))
        return True

    def replace_dialogs(self, fresh: dict[str, Dialog]) -> None:
        # Every service reads the one dictionary the dialog service holds: changed in place,
        # it is changed for all of them; the access policy learns the dialogs' roles anew.
        running: dict[str, Dialog] = self.app.dispatcher["dialogs"].dialogs
        running.clear()
        running.update(fresh)
        self.app.dispatcher["policy"].learn(running)

    async def watch_dialogs(self) -> None:
        while True:
            await asyncio.sleep(DIALOG_POLL_SECONDS)
            self.reload_dialogs()


def playground_settings(settings: Settings, api_url: str) -> Settings:
    """The settings of the real bot, pointed at the embedded Bot API server and a database
    of the playground's own (so it never mixes with a real one), with its coordinator as the
    operator and no port of its own open."""
    return settings.model_copy(
        update={
            "bot_token": type(settings.bot_token)(DEFAULT_TOKEN),
            "telegram_api_url": api_url,
            "database_url": f"sqlite+aiosqlite:///{settings.data_dir / DATABASE}",
            "data_key": type(settings.data_key)(new_key()),
            "encrypt_data": True,
            "webhook_url": None,
            # Only the page listens: a bot running beside it keeps its own ports.
            "health_listen": None,
            "dashboard_url": None,
            "dashboard_listen": None,
            "coordinator_ids": [FIRST_PERSON_ID],
        }
    )


def forget_last_playground(settings: Settings) -> None:
    """Each start begins afresh: the simulated chats live in memory, so the database of
    the last run would name messages nobody has."""
    database = settings.data_dir / DATABASE
    for path in (database, *(database.with_name(database.name + s) for s in ("-wal", "-shm"))):
        path.unlink(missing_ok=True)


@contextlib.asynccontextmanager
async def running_playground(settings: Settings) -> AsyncIterator[Playground]:
    """The embedded Bot API server and the real bot on it, with the page's first three
    people: a coordinator, a mentor and a mentee."""
    async with BotAPIStandin(global_limit=None, chat_limit=None, group_limit=None) as standin:
        forget_last_playground(settings)
        clock = ShiftedClock()
        bot_settings = playground_settings(settings, standin.base_url)
        app = await create_app(bot_settings, clock)
        playground = Playground(standin, app, clock, bot_settings)
        playground.add_person("Dana", "en", "coordinator")
        playground.add_person("Ilze", "lv", "mentor")
        playground.add_person("Anna", "en", "mentee")
        try:
            await set_commands(app.bot, app.i18n)
            tasks = [
                asyncio.create_task(app.run()),
                asyncio.create_task(supervised("dialog files", playground.watch_dialogs)),
            ]
            try:
                yield playground
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await app.polling.drain()
        finally:
            await app.close()
