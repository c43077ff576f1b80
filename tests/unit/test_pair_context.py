"""The rule of which pair a mentor's message or press is about."""

from __future__ import annotations

from bot.services.pair_context import Found, which
from bot.storage.models import Pair

MENTOR = 7


def pair(number: int, mentee: int, status: str = "active") -> Pair:
    return Pair(id=number, mentee_id=mentee, mentor_id=MENTOR, status=status, cohort_id=1)


ANNA, BEN = pair(1, 11), pair(2, 12)


def test_what_names_a_pair_decides() -> None:
    pairs = [ANNA, BEN]
    assert which(MENTOR, pairs, chosen=2).pair is BEN
    assert which(MENTOR, pairs, replied={"pair": 2, "from": 12}).pair is BEN
    # A shared summary names who shared it.
    assert which(MENTOR, pairs, replied={"from": 12, "session": 5}).pair is BEN
    assert which(MENTOR, pairs, talking_to=2).pair is BEN
    # A button outweighs a reply, a reply the mentee chosen in /mentees.
    assert which(MENTOR, pairs, chosen=1, replied={"pair": 2}).pair is ANNA
    assert which(MENTOR, pairs, replied={"pair": 1}, talking_to=2).pair is ANNA


def test_with_several_pairs_and_nothing_named_the_mentor_is_asked() -> None:
    found = which(MENTOR, [ANNA, BEN])
    assert found.found is Found.CHOOSE and found.pair is None
    assert found.pairs == (ANNA, BEN)
    # A reply to a message that belongs to no pair names none.
    assert which(MENTOR, [ANNA, BEN], replied={"broadcast": 3}).found is Found.CHOOSE
    assert which(MENTOR, [ANNA, BEN], talking_to=99).found is Found.CHOOSE


def test_a_pair_named_that_is_not_theirs_or_over_is_never_replaced_by_another() -> None:
    assert which(MENTOR, [ANNA], chosen=2).found is Found.GONE
    assert which(MENTOR, [ANNA], replied={"pair": 2}).found is Found.GONE
    assert which(MENTOR, [ANNA], replied={"from": 12}).found is Found.GONE
    assert which(MENTOR, [], chosen=1).found is Found.NONE


def test_the_only_pair_and_an_active_one_before_a_paused_one() -> None:
    assert which(MENTOR, [ANNA]).pair is ANNA
    paused = pair(3, 13, "paused")
    assert which(MENTOR, [ANNA, paused]).pair is ANNA
    assert which(MENTOR, [paused]).pair is paused
    assert which(MENTOR, [paused, pair(4, 14, "paused")]).found is Found.CHOOSE
    assert which(MENTOR, [ANNA, paused], replied={"pair": 3}).pair is paused
