"""The relationship pulse: 30 days after a pair starts and then every 60, each side is asked
two one-tap questions; the figures go to the coordinators only, never to the partner."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.playground.botapi import BotAPIStandin, BotMessage
from bot.storage.models import Pair, PulseAnswer
from tests.e2e.conftest import MovableClock, Running
from tests.e2e.test_dialogs import translator
from tests.e2e.test_programme import matched_pair, wait_text

ASKED = "How is your mentoring with"


def answer_button(message: BotMessage) -> str:
    """The pulse's button, also when the invitation came merged with others."""
    (data,) = [data for row in message.buttons for _, data in row if data.startswith("pls:")]
    return data


async def started_at(bot: Running) -> MovableClock:
    async with bot.app.sessions() as db:
        (pair,) = (await db.execute(select(Pair))).scalars()
        assert pair.decided_at is not None
        return MovableClock(pair.decided_at)


async def answers(bot: Running) -> list[tuple[int, int, int | None, str | None]]:
    async with bot.app.sessions() as db:
        rows = await db.execute(
            select(
                PulseAnswer.person_id, PulseAnswer.round, PulseAnswer.useful, PulseAnswer.regular
            ).order_by(PulseAnswer.round, PulseAnswer.person_id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_both_sides_are_asked_after_30_days_and_every_60_and_only_figures_are_kept(
    standin: BotAPIStandin, bot: Running, clock: MovableClock
) -> None:
    t = translator(bot, "en")
    coordinator, anna, rita = await matched_pair(standin, bot)
    start = (await started_at(bot)).moment

    clock.moment = start + timedelta(days=29)
    await bot.app.sweep()
    assert await answers(bot) == []

    clock.moment = start + timedelta(days=30, minutes=1)
    await bot.app.sweep()
    bot.app.outbox.wake()
    asked_anna = await wait_text(standin, anna.user, ASKED)
    asked_rita = await wait_text(standin, rita.user, ASKED)
    assert "How is your mentoring with Rita going?" in (asked_anna.text or "")
    assert "only your programme's coordinators see the answers" in (asked_rita.text or "")
    # A second sweep asks nobody twice.
    await bot.app.sweep()
    assert len(await answers(bot)) == 2

    intro = await anna.act(
        lambda: standin.press_data(anna.user, answer_button(asked_anna), message=asked_anna)
    )
    assert "your partner does not" in (intro[0].text or "")
    assert "How useful is your mentoring so far" in (intro[-1].text or "")
    await anna.press("2")
    done = await anna.press(t("Less often"))
    assert "It helps the coordinators support your pair" in (done[-1].text or "")
    # Rita leaves this round unanswered.
    assert await answers(bot) == [(anna.user.id, 1, 2, "rarely"), (rita.user.id, 1, None, None)]
    # The coordinators see the figures, in the pair's health.
    (listing,) = await coordinator.write("/pairs")
    assert "🔴 #" in (listing.text or "")
    assert "Anna → Rita" in (listing.text or "")
    assert "days without contact: 30; pulse: usefulness 2 of 5; pulse: in touch less than" in (
        listing.text or ""
    )
    await coordinator.write("/stats")
    figures = "\n".join(m.text or "" for m in await coordinator.press("Riga <spring> 2027"))
    assert "Pair health: 🟢 0 · 🟡 0 · 🔴 1" in figures
    assert "Pulse, latest answers: usefulness 2.0 of 5 on average (1)" in figures
    # Neither side hears the other's figures.
    for side in (anna, rita):
        assert not any("usefulness" in (m.text or "") for m in standin.messages(side.user))

    await anna.act(
        lambda: standin.press_data(anna.user, answer_button(asked_anna), message=asked_anna)
    )
    assert anna.alerts()[-1] == t("You have answered this one already. Thank you!")

    # The second round comes 60 days after the first; the first's button has expired.
    clock.moment = start + timedelta(days=90, minutes=1)
    await bot.app.sweep()
    bot.app.outbox.wake()
    await standin.wait_for(
        lambda: sum(ASKED in (m.text or "") for m in standin.messages(rita.user)) == 2,
        10,
        "the second round",
    )
    await rita.act(
        lambda: standin.press_data(rita.user, answer_button(asked_rita), message=asked_rita)
    )
    assert rita.alerts()[-1] == t(
        "This question has expired: a newer one has come since, or the pair ended."
    )
    second = [m for m in standin.messages(rita.user) if ASKED in (m.text or "")][-1]
    await rita.act(lambda: standin.press_data(rita.user, answer_button(second), message=second))
    await rita.press("4")
    await rita.press(t("Every two weeks"))
    assert await answers(bot) == [
        (anna.user.id, 1, 2, "rarely"),
        (rita.user.id, 1, None, None),
        (anna.user.id, 2, None, None),
        (rita.user.id, 2, 4, "fortnightly"),
    ]
