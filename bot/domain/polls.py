"""Polls, quizzes and quiz games as a coordinator writes them: one message, the question
on the first line and an option on each further line; in a quiz the right option starts
with ``*``; a game is several quizzes, an empty line between two."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.texts import N_, Msg, plural_msg

MAX_QUESTION = 300  # Telegram's limits for a native poll
MAX_OPTION = 100
MIN_OPTIONS, MAX_OPTIONS = 2, 10
CORRECT_MARK = "*"


@dataclass(frozen=True)
class PollDraft:
    question: str
    options: tuple[str, ...]
    correct: int | None = None  # the right option of a quiz


class PollTextError(ValueError):
    def __init__(self, msg: Msg) -> None:
        super().__init__(msg.id)
        self.msg = msg


def parse_poll(text: str, quiz: bool) -> PollDraft:
    """The question and options of ``text`` (the message without its command), or a
    PollTextError whose message tells the coordinator what to change."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        raise PollTextError(Msg(N_("Write the question and the options.")))
    question, raw = lines[0], lines[1:]
    if len(question) > MAX_QUESTION:
        raise PollTextError(
            plural_msg(
                "The question is too long: at most {limit} character.",
                "The question is too long: at most {limit} characters.",
                "limit",
                {"limit": MAX_QUESTION},
            )
        )
    if not MIN_OPTIONS <= len(raw) <= MAX_OPTIONS:
        raise PollTextError(
            plural_msg(
                "A poll needs {low} to {high} option, one on each line.",
                "A poll needs {low} to {high} options, one on each line.",
                "high",
                {"low": MIN_OPTIONS, "high": MAX_OPTIONS},
            )
        )
    marked = [n for n, option in enumerate(raw) if option.startswith(CORRECT_MARK)]
    options = tuple(option.removeprefix(CORRECT_MARK).strip() for option in raw)
    if any(not option for option in options):
        raise PollTextError(Msg(N_("An option is empty.")))
    too_long = next((o for o in options if len(o) > MAX_OPTION), None)
    if too_long is not None:
        raise PollTextError(
            plural_msg(
                "An option is too long: at most {limit} character.",
                "An option is too long: at most {limit} characters.",
                "limit",
                {"limit": MAX_OPTION},
            )
        )
    if len(set(options)) != len(options):
        raise PollTextError(Msg(N_("Two options are the same.")))
    if quiz:
        if len(marked) != 1:
            raise PollTextError(
                Msg(N_("Mark exactly one option as the right answer with * at its start."))
            )
        return PollDraft(question, options, marked[0])
    if marked:
        raise PollTextError(Msg(N_("Only a quiz has a right answer: use /quiz, or remove the *.")))
    return PollDraft(question, options)


MIN_GAME_QUESTIONS, MAX_GAME_QUESTIONS = 2, 20
# A game's question goes with its number ("20/20. "), within Telegram's limit.
MAX_GAME_QUESTION = MAX_QUESTION - len(f"{MAX_GAME_QUESTIONS}/{MAX_GAME_QUESTIONS}. ")
# The time each question of a game is open, in seconds: the choices a coordinator moves
# through (Telegram's open_period takes 5 to 600), the first the default.
GAME_SECONDS = (20, 30, 60, 10)


def parse_game(text: str) -> tuple[PollDraft, ...]:
    """The questions of a game: blocks separated by an empty line, each written as a quiz
    (the question, then its options, the right one starting with ``*``)."""
    blocks = re.split(r"\n\s*\n", text.strip())
    blocks = [block for block in blocks if block.strip()]
    if not MIN_GAME_QUESTIONS <= len(blocks) <= MAX_GAME_QUESTIONS:
        raise PollTextError(
            Msg(
                N_("A game needs {low} to {high} questions, an empty line between two."),
                {"low": MIN_GAME_QUESTIONS, "high": MAX_GAME_QUESTIONS},
            )
        )
    questions = []
    for number, block in enumerate(blocks, start=1):
        try:
            question = parse_poll(block, quiz=True)
            if len(question.question) > MAX_GAME_QUESTION:
                raise PollTextError(
                    plural_msg(
                        "The question is too long: at most {limit} character.",
                        "The question is too long: at most {limit} characters.",
                        "limit",
                        {"limit": MAX_GAME_QUESTION},
                    )
                )
        except PollTextError as error:
            raise PollTextError(
                Msg(N_("Question {number}: {problem}"), {"number": number, "problem": error.msg})
            ) from error
        questions.append(question)
    return tuple(questions)


def next_seconds(seconds: int) -> int:
    """The time after ``seconds`` among the choices (a press moves on to it)."""
    at = GAME_SECONDS.index(seconds) if seconds in GAME_SECONDS else -1
    return GAME_SECONDS[(at + 1) % len(GAME_SECONDS)]
