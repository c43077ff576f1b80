"""A pair's state machine: every move the comments on ``Pair.status`` allow is allowed, and
every other one is refused, by the pure table and by the services' one way to move a pair."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from bot.domain.pairs import (
    HOLDING,
    INITIAL,
    RUNNING,
    SPENT,
    TRANSITIONS,
    ForbiddenTransition,
    PairStatus,
    can_move,
    move,
)
from bot.services.pairs import set_status
from bot.storage.models import Pair

P = PairStatus
ALLOWED = {
    (P.PROPOSED, P.ACTIVE),
    (P.PROPOSED, P.EXCLUDED),
    (P.REQUESTED, P.ACTIVE),
    (P.REQUESTED, P.DECLINED),
    (P.REQUESTED, P.EXPIRED),
    (P.ACTIVE, P.PAUSED),
    (P.ACTIVE, P.ENDED),
    (P.PAUSED, P.ACTIVE),
    (P.PAUSED, P.ENDED),
}
EVERY_MOVE = list(itertools.product(PairStatus, PairStatus))


def test_the_table_names_every_state() -> None:
    assert set(TRANSITIONS) == set(PairStatus)
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == ALLOWED


@pytest.mark.parametrize(("current", "to"), EVERY_MOVE)
def test_every_move_is_allowed_or_refused_as_the_model_says(
    current: PairStatus, to: PairStatus
) -> None:
    allowed = (current, to) in ALLOWED
    # The database gives back plain strings: they are judged the same way.
    assert can_move(current, to) is allowed
    assert can_move(str(current.value), str(to.value)) is allowed
    if allowed:
        assert move(current, to) is to
    else:
        with pytest.raises(ForbiddenTransition):
            move(current, to)


@pytest.mark.parametrize(("current", "to"), EVERY_MOVE)
def test_a_pair_moves_only_as_allowed(current: PairStatus, to: PairStatus) -> None:
    pair = Pair(status=current.value, created_at=datetime(2026, 1, 1, tzinfo=UTC))
    if (current, to) in ALLOWED:
        set_status(pair, to)
        assert pair.status == to
    else:
        with pytest.raises(ForbiddenTransition):
            set_status(pair, to)
        assert pair.status == current


@pytest.mark.parametrize("text", ["", "reassign", "ACTIVE", "draft"])
def test_an_unknown_state_allows_nothing(text: str) -> None:
    assert not any(can_move(text, to) for to in PairStatus)
    assert not any(can_move(current, text) for current in PairStatus)


def test_the_final_states_and_the_groups() -> None:
    final = {s for s, targets in TRANSITIONS.items() if not targets}
    assert final == {P.ENDED, P.EXCLUDED, P.DECLINED, P.EXPIRED} == set(SPENT)
    assert set(INITIAL) == {P.PROPOSED, P.REQUESTED}
    # Nothing moves back to where pairs are born.
    assert not any(to in INITIAL for targets in TRANSITIONS.values() for to in targets)
    assert set(RUNNING) <= set(HOLDING)
    assert set(HOLDING) == {P.ACTIVE, P.PAUSED, P.REQUESTED}
