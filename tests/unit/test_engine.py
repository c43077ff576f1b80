"""The dialog engine over every dialog definition."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import engine
from bot.domain.dialogs import Dialog, DialogError, load_dialog
from bot.domain.engine import OtherInput, Press, Progress, TextInput
from tests.dialog_answers import TODAY, valid_input

ROOT = Path(__file__).resolve().parents[2]


def walk(dialog: Dialog, limit: int = 200) -> tuple[Progress, list[engine.ShowWheel]]:
    outcome = engine.start(dialog)
    progress, shows = outcome.progress, list(outcome.shows)
    for n in range(limit):
        if progress.finished:
            return progress, shows
        event = valid_input(dialog, progress, n)
        outcome = engine.handle(dialog, progress, event, TODAY)
        assert outcome.accepted, outcome.error
        toggled = isinstance(event, Press) and event.action.startswith("t:")
        assert outcome.progress.seq > progress.seq or toggled
        progress = outcome.progress
        shows += outcome.shows
    raise AssertionError("dialog did not finish")


def at_kind(dialog: Dialog, kind: str) -> Progress:
    """Walk until the current question is of this kind."""
    progress = engine.start(dialog).progress
    for n in range(200):
        assert progress.cursor is not None, f"{dialog.id} has no {kind} question"
        if engine.step_at(dialog, progress.cursor).kind == kind:
            return progress
        progress = engine.handle(dialog, progress, valid_input(dialog, progress, n), TODAY).progress
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "dialog_id", ["grow", "wheel", "dilts", "intake_mentee", "intake_mentor", "cohort_new"]
)
def test_every_dialog_can_be_finished_and_summarised(
    dialogs: dict[str, Dialog], dialog_id: str
) -> None:
    dialog = dialogs[dialog_id]
    progress, _ = walk(dialog)
    lines = engine.summary(dialog, progress)
    answered = [line for line in lines if not line.heading and line.value is not None]
    assert len(answered) >= 3
    for line in answered:
        assert line.value not in ("", None)


def test_grow_follows_goal_reality_options_will(dialogs: dict[str, Dialog]) -> None:
    dialog = dialogs["grow"]
    progress, _ = walk(dialog)
    stages = [line.label.id for line in engine.summary(dialog, progress) if line.heading]
    assert stages == ["G · Goal", "R · Reality", "O · Options", "W · Will"]
    drafts = engine.commitments(dialog, progress)
    assert len(drafts) == 3
    assert all(d.text.startswith("answer") and d.due > TODAY for d in drafts)
    options = [k for k in progress.answers if k.startswith("options.") and k.endswith(".option")]
    assert len(options) == 3
    obstacles = [k for k in progress.answers if k.endswith(".obstacle")]
    assert len(obstacles) == 2


def test_grow_takes_a_fourth_action_when_asked(dialogs: dict[str, Dialog]) -> None:
    dialog = dialogs["grow"]
    progress = engine.start(dialog).progress
    n = 0
    while not progress.finished:
        assert progress.cursor is not None
        step = engine.step_at(dialog, progress.cursor)
        top = dialog.steps[progress.cursor[0]]
        wants_more = step.kind == "confirm" and top.id == "actions"
        event = Press("c:yes") if wants_more else valid_input(dialog, progress, n)
        progress = engine.handle(dialog, progress, event, TODAY).progress
        n += 1
    assert len(engine.commitments(dialog, progress)) == 4


def test_the_chosen_option_is_one_of_the_persons_own(dialogs: dict[str, Dialog]) -> None:
    dialog = dialogs["grow"]
    progress = at_kind(dialog, "choice")
    while engine.step_at(dialog, progress.cursor).id != "chosen":  # type: ignore[arg-type]
        progress = engine.handle(dialog, progress, valid_input(dialog, progress, 1), TODAY).progress
    labels = [label for _, label in engine.options(dialog, progress, dialog.step("chosen"))]
    assert labels == [progress.answers[f"options.{n}.option"] for n in (1, 2, 3)]
    refused = engine.handle(dialog, progress, Press("c:4"), TODAY)
    assert not refused.accepted and refused.progress is progress


def test_wheel_shows_the_chart_and_preselects_the_weakest_areas(
    dialogs: dict[str, Dialog],
) -> None:
    dialog = dialogs["wheel"]
    progress = engine.start(dialog).progress
    ratings = [7, 5, 8, 4, 6, 7, 3, 6]
    shows: list[engine.ShowWheel] = []
    for rating in ratings:
        outcome = engine.handle(dialog, progress, Press(f"c:{rating}"), TODAY)
        progress, shows = outcome.progress, shows + list(outcome.shows)
    assert [s.ratings for s in shows] == [tuple(ratings)]
    question = engine.question(dialog, progress)
    selected = [b.action for row in question.buttons for b in row if b.selected]
    assert selected == ["t:partner", "t:finances", "t:fun"]
    # Change the selection: drop one, add another; Done with one only is refused.
    for action in ("t:partner", "t:fun"):
        progress = engine.handle(dialog, progress, Press(action), TODAY).progress
    refused = engine.handle(dialog, progress, Press("ok"), TODAY)
    assert refused.error is not None and refused.progress is progress
    progress = engine.handle(dialog, progress, Press("t:health"), TODAY).progress
    progress = engine.handle(dialog, progress, Press("ok"), TODAY).progress
    assert progress.answers["focus"] == ["finances", "health"]
    asked = engine.question(dialog, progress)
    assert asked.item is not None and asked.item.values["item"] == engine.Msg("Finances")


DILTS_LEVELS = ("environment", "behaviour", "capabilities", "values", "identity", "purpose")


def dilts_to_the_way_down(dialog: Dialog, level: str) -> engine.Outcome:
    """A Dilts run with the problem at ``level``, up to the first question of the way down;
    the outcome of the last answer up."""
    progress = engine.handle(dialog, engine.start(dialog).progress, TextInput("x"), TODAY).progress
    outcome = engine.handle(dialog, progress, Press(f"c:{level}"), TODAY)
    for n in range(6):
        outcome = engine.handle(dialog, outcome.progress, TextInput(f"up {n}"), TODAY)
    return outcome


@pytest.mark.parametrize(
    ("level", "first_down"),
    [
        ("environment", "down_behaviour"),
        ("behaviour", "down_capabilities"),
        ("capabilities", "down_values"),
        ("values", "down_identity"),
        ("identity", "down_purpose"),
        # Nothing is above the top: the way down starts there.
        ("purpose", "down_purpose"),
    ],
)
def test_dilts_way_down_starts_one_level_above_the_problem(
    dialogs: dict[str, Dialog], level: str, first_down: str
) -> None:
    dialog = dialogs["dilts"]
    outcome = dilts_to_the_way_down(dialog, level)
    progress = outcome.progress
    assert engine.step_at(dialog, progress.cursor).id == first_down  # type: ignore[arg-type]
    while not progress.finished:
        progress = engine.handle(dialog, progress, TextInput("down"), TODAY).progress
    down = [k for k in progress.answers if k.startswith("down_")]
    levels = [f"down_{name}" for name in DILTS_LEVELS]
    assert down == list(reversed(levels[: levels.index(first_down) + 1]))


def test_dilts_goes_up_then_down_and_marks_the_problem_level(dialogs: dict[str, Dialog]) -> None:
    dialog = dialogs["dilts"]
    progress = engine.handle(dialog, engine.start(dialog).progress, TextInput("x"), TODAY).progress
    chosen = engine.handle(dialog, progress, Press("c:behaviour"), TODAY)
    (said,) = chosen.recaps
    assert said.id.startswith("Problem level — {level}.")
    assert said.values == {"level": engine.Msg("Behaviour: what I do")}
    progress = chosen.progress
    while not progress.finished:
        progress = engine.handle(dialog, progress, TextInput("answer"), TODAY).progress
    keys = [k for k in progress.answers if k.startswith(("up_", "down_"))]
    assert keys == [
        "up_environment",
        "up_behaviour",
        "up_capabilities",
        "up_values",
        "up_identity",
        "up_purpose",
        "down_capabilities",
        "down_behaviour",
        "down_environment",
    ]
    lines = {line.label.id: line.value for line in engine.summary(dialog, progress)}
    assert lines["Problem level"] == engine.Msg("Behaviour: what I do")


def test_a_changed_problem_level_leaves_the_old_way_down_out(dialogs: dict[str, Dialog]) -> None:
    dialog = dialogs["dilts"]
    progress = dilts_to_the_way_down(dialog, "values").progress
    progress = engine.handle(dialog, progress, TextInput("identity seen"), TODAY).progress
    # Back to the level: the problem sits at Behaviour after all.
    while engine.step_at(dialog, progress.cursor).id != "level":  # type: ignore[arg-type]
        progress = engine.handle(dialog, progress, Press("back"), TODAY).progress
    progress = engine.handle(dialog, progress, Press("c:behaviour"), TODAY).progress
    while not progress.finished:
        progress = engine.handle(dialog, progress, Press("keep"), TODAY).progress
        if progress.cursor and engine.step_at(dialog, progress.cursor).id.startswith("down_"):
            break
    assert engine.step_at(dialog, progress.cursor).id == "down_capabilities"  # type: ignore[arg-type]
    while not progress.finished:
        progress = engine.handle(dialog, progress, TextInput("down"), TODAY).progress
    labels = [line.label.id for line in engine.summary(dialog, progress)]
    assert "Identity, seen from above" not in labels
    assert "Capabilities, seen from above" in labels


def test_grow_recaps_each_stage_in_the_persons_words_and_nothing_more(
    dialogs: dict[str, Dialog],
) -> None:
    dialog = dialogs["grow"]
    outcome = engine.start(dialog)
    said: list[tuple[str, engine.Msg]] = []
    for n in range(200):
        progress = outcome.progress
        if progress.finished:
            break
        leaving = dialog.steps[progress.cursor[0]].id  # type: ignore[index]
        event = valid_input(dialog, progress, n)
        if leaving == "goal":
            event = TextInput("Run   10 km\nin under an hour " + "and more " * 30)
        outcome = engine.handle(dialog, progress, event, TODAY)
        said += [(leaving, recap) for recap in outcome.recaps]
    assert [where for where, _ in said] == ["benefits_long", "obstacles", "first_step"]
    goal, reality, options = (recap for _, recap in said)
    # A long answer is quoted by its beginning, on one line.
    quoted = goal.values["goal"]
    assert isinstance(quoted, str) and quoted.startswith("Run 10 km in under an hour and more")
    assert len(quoted) == engine.RECAP_QUOTE_LIMIT and quoted.endswith("…")
    assert reality.values == {"reality": progress.answers["reality"]}
    chosen = progress.answers["chosen"]
    assert options.values == {
        "chosen": progress.answers[f"options.{chosen}.option"],
        "first_step": progress.answers["first_step"],
    }


def test_grow_asks_the_commitment_and_the_first_step(dialogs: dict[str, Dialog]) -> None:
    dialog = dialogs["grow"]
    progress, _ = walk(dialog)
    lines = {line.label.id: line.value for line in engine.summary(dialog, progress)}
    assert lines["First step"] == progress.answers["first_step"]
    assert lines["My commitment"] == progress.answers["commitment"]
    reports = [k for k in progress.answers if k.endswith(".report")]
    assert len(reports) == 3 and all(progress.answers[k] for k in reports)
    assert not dialog.step("actions").steps[2].optional


@pytest.mark.parametrize("locale", ["en", "lv"])
def test_grow_asks_one_question_per_message(dialogs: dict[str, Dialog], locale: str) -> None:
    catalog = read_po(
        (ROOT / "locales" / locale / "LC_MESSAGES" / "messages.po").open("rb"), locale=locale
    )
    asked = [
        inner
        for step in dialogs["grow"].steps
        for inner in (step.steps or (step,))
        if inner.kind not in ("loop", "show")
    ]
    for step in asked:
        prompt = catalog[step.prompt].string
        assert isinstance(prompt, str) and prompt.count("?") <= 1, prompt
        hint = catalog[step.hint].string if step.hint else ""
        assert isinstance(hint, str) and "?" not in hint, hint


def test_an_even_wheel_preselects_nothing_and_says_it_is_even(
    dialogs: dict[str, Dialog],
) -> None:
    dialog = dialogs["wheel"]
    outcome = engine.start(dialog)
    for _ in range(8):
        outcome = engine.handle(dialog, outcome.progress, Press("c:6"), TODAY)
    (shown,) = outcome.shows
    assert shown.reading is not None and shown.reading.id.startswith("How to read it")
    question = engine.question(dialog, outcome.progress)
    assert question.text.id == dialog.step("focus").even_prompt
    assert not [b for row in question.buttons for b in row if b.selected]
    uneven = engine.handle(dialog, engine.start(dialog).progress, Press("c:5"), TODAY)
    for _ in range(7):
        uneven = engine.handle(dialog, uneven.progress, Press("c:6"), TODAY)
    assert engine.question(dialog, uneven.progress).text.id == dialog.step("focus").prompt


@pytest.mark.parametrize("dialog_id", ["wheel", "intake_mentee", "intake_mentor"])
def test_every_multi_choice_refuses_more_than_its_maximum(
    dialogs: dict[str, Dialog], dialog_id: str
) -> None:
    dialog = dialogs[dialog_id]
    progress = engine.start(dialog).progress
    checked = 0
    for n in range(200):
        if progress.finished:
            break
        step = engine.step_at(dialog, progress.cursor)  # type: ignore[arg-type]
        if step.kind == "multi":
            offered = [value for value, _ in engine.options(dialog, progress, step)]
            most = min(step.max_choices or len(offered), len(offered))
            for value in offered:
                if value in (progress.pending or ()):
                    continue
                outcome = engine.handle(dialog, progress, Press(f"t:{value}"), TODAY)
                if len(progress.pending or ()) < most:
                    assert outcome.accepted
                else:
                    assert outcome.error is not None and outcome.progress is progress
                    assert outcome.error.values == {"high": most}
                progress = outcome.progress
            assert len(progress.pending or ()) == most
            checked += 1
        progress = engine.handle(dialog, progress, valid_input(dialog, progress, n), TODAY).progress
    assert checked >= 1


def test_back_returns_to_the_previous_answer_and_keep_moves_on(
    dialogs: dict[str, Dialog],
) -> None:
    dialog = dialogs["grow"]
    start = engine.start(dialog).progress
    refused = engine.handle(dialog, start, Press("back"), TODAY)
    assert refused.error is not None
    one = engine.handle(dialog, start, TextInput("Run a marathon"), TODAY).progress
    back = engine.handle(dialog, one, Press("back"), TODAY).progress
    assert back.cursor == start.cursor
    question = engine.question(dialog, back)
    assert question.current == "Run a marathon"
    assert any(b.action == "keep" for row in question.buttons for b in row)
    changed = engine.handle(dialog, back, TextInput("Run a half marathon"), TODAY).progress
    assert changed.answers["goal"] == "Run a half marathon"
    assert changed.cursor == one.cursor
    back_again = engine.handle(dialog, changed, Press("back"), TODAY).progress
    kept = engine.handle(dialog, back_again, Press("keep"), TODAY).progress
    assert kept.cursor == one.cursor and kept.answers["goal"] == "Run a half marathon"


def test_skip_only_where_optional(dialogs: dict[str, Dialog]) -> None:
    dialog = dialogs["grow"]
    start = engine.start(dialog).progress
    assert engine.handle(dialog, start, Press("skip"), TODAY).error is not None
    progress = start
    while not engine.step_at(dialog, progress.cursor).optional:  # type: ignore[arg-type]
        progress = engine.handle(dialog, progress, valid_input(dialog, progress, 3), TODAY).progress
    skipped = engine.handle(dialog, progress, Press("skip"), TODAY)
    assert skipped.accepted
    assert skipped.progress.answers[engine.answer_key(dialog, progress, progress.cursor)] is None  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["text", "scale", "choice", "multi", "date", "confirm"])
@pytest.mark.parametrize("other", ["sticker", "photo", "voice"])
def test_non_text_is_refused_at_every_kind(
    dialogs: dict[str, Dialog], kind: str, other: str
) -> None:
    dialog = dialogs["wheel"] if kind in ("multi", "scale") else dialogs["grow"]
    progress = at_kind(dialog, kind)
    outcome = engine.handle(dialog, progress, OtherInput(other), TODAY)
    assert outcome.error is not None
    assert outcome.progress is progress


@pytest.mark.parametrize("text", ["0", "11", "seven", "-3", "7.5", ""])
def test_bad_ratings_are_refused(dialogs: dict[str, Dialog], text: str) -> None:
    dialog = dialogs["wheel"]
    start = engine.start(dialog).progress
    outcome = engine.handle(dialog, start, TextInput(text), TODAY)
    assert outcome.error is not None and outcome.progress is start
    assert engine.handle(dialog, start, Press("c:11"), TODAY).error is not None
    assert engine.handle(dialog, start, TextInput("7"), TODAY).progress.answers["family"] == 7


@pytest.mark.parametrize("kind", ["choice", "multi", "confirm"])
def test_text_where_a_button_is_wanted(dialogs: dict[str, Dialog], kind: str) -> None:
    dialog = dialogs["wheel"] if kind == "multi" else dialogs["grow"]
    progress = at_kind(dialog, kind)
    outcome = engine.handle(dialog, progress, TextInput("internal"), TODAY)
    assert outcome.error is not None and outcome.progress is progress


def test_text_limits(dialogs: dict[str, Dialog]) -> None:
    dialog = dialogs["grow"]
    start = engine.start(dialog).progress
    limit = dialog.step("goal").max_length
    for text in ("", "   \n ", "x" * (limit + 1), "y" * 5000):
        outcome = engine.handle(dialog, start, TextInput(text), TODAY)
        assert outcome.error is not None and outcome.progress is start
    assert engine.handle(dialog, start, TextInput("x" * limit), TODAY).accepted


@pytest.mark.parametrize(
    "text",
    ["24.11.2026", "2026-11-24", "31.02.2027", "tomorrow", "12/31", "99.99.9999", "1.1.2040"],
)
def test_bad_dates_are_refused(dialogs: dict[str, Dialog], text: str) -> None:
    dialog = dialogs["grow"]
    progress = at_kind(dialog, "date")
    outcome = engine.handle(dialog, progress, TextInput(text), TODAY)
    assert outcome.error is not None and outcome.progress is progress


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25.11.2026", date(2026, 11, 25)),
        ("2026-12-31", date(2026, 12, 31)),
        ("31/12/2026", date(2026, 12, 31)),
        ("3.1", date(2027, 1, 3)),
        ("30.11.", date(2026, 11, 30)),
    ],
)
def test_dates_people_write(text: str, expected: date) -> None:
    assert engine.parse_date(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("28.11.2026 09:30", datetime(2026, 11, 28, 9, 30)),
        ("2026-11-28 9.30", datetime(2026, 11, 28, 9, 30)),
        (" 3.1 18 ", datetime(2027, 1, 3, 18, 0)),
        ("28.11.2026", None),
        ("09:30", None),
        ("28.11.2026 25:00", None),
        ("tomorrow 09:30", None),
    ],
)
def test_moments_people_write(text: str, expected: datetime | None) -> None:
    assert engine.parse_moment(text, TODAY) == expected


def test_date_shortcut_buttons(dialogs: dict[str, Dialog]) -> None:
    dialog = dialogs["grow"]
    progress = at_kind(dialog, "date")
    moved = engine.handle(dialog, progress, Press("c:+14"), TODAY).progress
    assert moved.answers["goal_date"] == (TODAY + timedelta(days=14)).isoformat()


def test_markup_in_answers_is_kept_as_written(dialogs: dict[str, Dialog]) -> None:
    dialog = dialogs["grow"]
    text = "<b>bold</b> & <3 *stars* _under_ [link](x)"
    progress = engine.handle(dialog, engine.start(dialog).progress, TextInput(text), TODAY).progress
    line = next(x for x in engine.summary(dialog, progress) if x.label.id == "Goal")
    assert line.value == text


def test_progress_survives_serialisation(dialogs: dict[str, Dialog]) -> None:
    dialog = dialogs["wheel"]
    progress = at_kind(dialog, "multi")
    progress = engine.handle(dialog, progress, Press("t:career"), TODAY).progress
    again = Progress.from_json(progress.to_json())
    assert again == progress


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=1200))
def test_any_text_either_advances_or_changes_nothing(text: str) -> None:
    dialog = load_dialog(ROOT / "dialogs" / "grow.yaml")
    start = engine.start(dialog).progress
    outcome = engine.handle(dialog, start, TextInput(text), TODAY)
    if outcome.accepted:
        assert outcome.progress.answers["goal"] == text.strip()
    else:
        assert outcome.progress is start


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            "  - {id: first, kind: text, prompt: P, label: L, optional: true}\n"
            "  - {id: second, kind: text, prompt: P, label: L, recap: 'You said {first}'}\n",
            r"step .second.: recap: \{first\} must name a step that is always answered",
        ),
        (
            "  - {id: first, kind: text, prompt: P, label: L, recap: 'You said {later}'}\n"
            "  - {id: later, kind: text, prompt: P, label: L}\n",
            r"step .first.: recap: \{later\} must name this or an earlier question step",
        ),
        (
            "  - {id: first, kind: text, prompt: P, label: L, ask_if: {step: nope, among: [a]}}\n",
            r"step .first.: ask_if.step must name an earlier choice step",
        ),
        (
            "  - {id: pick, kind: choice, prompt: P, label: L, options: [{value: a, label: A}]}\n"
            "  - {id: then, kind: text, prompt: P, label: L, ask_if: {step: pick, among: [b]}}\n",
            r"step .then.: ask_if.among must be values of that choice",
        ),
        (
            "  - {id: pick, kind: multi, prompt: P, label: L, max_choices: 0,"
            " options: [{value: a, label: A}]}\n",
            r"max_choices >= 1",
        ),
    ],
)
def test_recaps_conditions_and_maximums_are_checked_at_load(
    tmp_path: Path, steps: str, message: str
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(
        "id: broken\ncommand: broken\nroles: [everyone]\ntitle: T\nintro: I\noutro: O\n"
        "steps:\n" + steps,
        encoding="utf-8",
    )
    with pytest.raises(DialogError, match=message):
        load_dialog(path)


def test_a_broken_definition_names_the_file_and_the_step(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(
        "id: broken\ncommand: broken\nroles: [everyone]\ntitle: T\nintro: I\noutro: O\nsteps:\n"
        "  - {id: first, kind: text, prompt: P, label: L}\n"
        "  - {id: rating, kind: scale, prompt: P, label: L, min: 1, max: 21}\n",
        encoding="utf-8",
    )
    with pytest.raises(DialogError, match=r"broken\.yaml: step .rating.*max <= 20"):
        load_dialog(path)


def test_time_zones_by_button_or_by_name(dialogs: dict[str, Dialog]) -> None:
    dialog = dialogs["intake_mentor"]
    progress = at_kind(dialog, "timezone")
    key = engine.answer_key(dialog, progress, progress.cursor)  # type: ignore[arg-type]
    for typed, expected in (
        ("europe/vilnius", "Europe/Vilnius"),
        ("America/New York", "America/New_York"),
        # A city or a country of one zone, in English or Latvian.
        ("riga", "Europe/Riga"),
        ("Ņujorka", "America/New_York"),
        ("Latvija", "Europe/Riga"),
    ):
        outcome = engine.handle(dialog, progress, TextInput(typed), TODAY)
        assert outcome.progress.answers[key] == expected
    assert engine.handle(dialog, progress, Press("c:Europe/Athens"), TODAY).accepted
    # Unknown, empty, or a country of several zones (which one is not guessed).
    for bad in ("Mars/Olympus", "", "United States"):
        refused = engine.handle(dialog, progress, TextInput(bad), TODAY)
        assert refused.error is not None and refused.progress is progress


def test_a_loop_over_chosen_wishes_asks_about_each(dialogs: dict[str, Dialog]) -> None:
    dialog = dialogs["intake_mentee"]
    progress = at_kind(dialog, "multi")
    while engine.step_at(dialog, progress.cursor).id != "preferences":  # type: ignore[arg-type]
        progress = engine.handle(dialog, progress, valid_input(dialog, progress, 1), TODAY).progress
    for action in ("t:woman", "t:in_person", "ok"):
        progress = engine.handle(dialog, progress, Press(action), TODAY).progress
    asked = engine.question(dialog, progress)
    assert asked.item == engine.Msg("{item}", {"item": engine.Msg("A woman")})
    progress = engine.handle(dialog, progress, Press("c:must"), TODAY).progress
    progress = engine.handle(dialog, progress, Press("c:nice"), TODAY).progress
    assert progress.answers["weight.woman.required"] == "must"
    assert progress.answers["weight.in_person.required"] == "nice"


def test_times_people_write_or_press(dialogs: dict[str, Dialog]) -> None:
    dialog = dialogs["meet"]
    progress = at_kind(dialog, "time")
    key = engine.answer_key(dialog, progress, progress.cursor)  # type: ignore[arg-type]
    for typed, expected in (("18:30", "18:30"), ("9.15", "09:15"), (" 7 ", "07:00")):
        assert (
            engine.handle(dialog, progress, TextInput(typed), TODAY).progress.answers[key]
            == expected
        )
    assert engine.handle(dialog, progress, Press("c:12:00"), TODAY).progress.answers[key] == "12:00"
    for bad in ("25:00", "18:61", "half past six", "", "18:3"):
        refused = engine.handle(dialog, progress, TextInput(bad), TODAY)
        assert refused.error is not None and refused.progress is progress
    sticker = engine.handle(dialog, progress, OtherInput("sticker"), TODAY)
    assert sticker.error is not None and sticker.progress is progress


def calendar_labels(dialog: Dialog, progress: Progress) -> dict[str, str]:
    """The calendar's buttons, label to action."""
    q = engine.question(dialog, progress)
    return {
        str(b.label): b.action
        for row in q.buttons
        for b in row
        if not isinstance(b.label, engine.Msg)
    }


@pytest.mark.parametrize(
    "action", ["m:2026-10", "m:2026-13", "m:9999-01", "m:x", "c:2026-11-24", "c:2026-02-30", "n"]
)
def test_a_calendar_refuses_what_cannot_be_chosen(dialogs: dict[str, Dialog], action: str) -> None:
    dialog = dialogs["cohort_new"]
    progress = at_kind(dialog, "date")
    opened = engine.handle(dialog, progress, Press("m:"), TODAY).progress
    outcome = engine.handle(dialog, opened, Press(action), TODAY)
    assert outcome.error is not None and outcome.progress is opened


def test_a_calendar_opens_at_this_month_and_turns_without_leaving_the_question(
    dialogs: dict[str, Dialog],
) -> None:
    dialog = dialogs["cohort_new"]
    progress = at_kind(dialog, "date")
    closed = [b.action for row in engine.question(dialog, progress).buttons for b in row]
    assert "m:" in closed and not any(a.startswith("c:2026") for a in closed)
    opened = engine.handle(dialog, progress, Press("m:"), TODAY).progress
    assert opened.seq == progress.seq and opened.cursor == progress.cursor
    days = calendar_labels(dialog, opened)
    assert "◀" not in days and days["▶"] == "m:2026-12"
    assert days["25"] == "c:2026-11-25" and "24" not in days
    december = engine.handle(dialog, opened, Press("m:2026-12"), TODAY).progress
    days = calendar_labels(dialog, december)
    assert days["◀"] == "m:2026-11" and days["1"] == "c:2026-12-01"
    chosen = engine.handle(dialog, december, Press("c:2026-12-31"), TODAY)
    assert chosen.accepted and chosen.progress.answers["ends_on"] == "2026-12-31"
