"""The sealing of people's words: what opens, what does not, and what is refused."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select

from bot.storage.models import Commitment, Outgoing
from bot.storage.sealing import DataKeyError, Keyring, is_sealed, new_key

PLAIN = "Mani vārdi, <b>tieši</b> tā".encode()


def test_a_sealed_value_opens_with_its_key_and_says_nothing_of_its_words() -> None:
    ring = Keyring.parse(new_key())
    token = ring.seal(PLAIN, "answers.value")
    assert is_sealed(token) and PLAIN not in token.encode()
    assert ring.open(token, "answers.value") == PLAIN
    # Sealed twice, the same words look different: nothing tells two equal answers apart.
    assert ring.seal(PLAIN, "answers.value") != token


def test_a_changed_token_another_column_or_another_key_does_not_open() -> None:
    ring = Keyring.parse(new_key())
    token = ring.seal(PLAIN, "answers.value")
    head, body = token.rsplit(":", 1)
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[-1] ^= 1
    changed = f"{head}:{base64.urlsafe_b64encode(bytes(raw)).decode()}"
    with pytest.raises(DataKeyError):
        ring.open(changed, "answers.value")
    with pytest.raises(DataKeyError):
        ring.open(token, "commitments.text")
    with pytest.raises(DataKeyError, match="which DATA_KEY does not hold"):
        Keyring.parse(new_key()).open(token, "answers.value")


def test_the_current_key_seals_and_the_older_ones_still_open() -> None:
    old, new = new_key(), new_key()
    before = Keyring.parse(old).seal(PLAIN, "outbox.payload")
    both = Keyring.parse(f"{new}, {old}")
    assert both.open(before, "outbox.payload") == PLAIN
    assert both.seal(PLAIN, "outbox.payload").split(":")[1] == Keyring.parse(new).current


@pytest.mark.parametrize(
    "key",
    ["", "short", "not base64 at all!", new_key() + ",", new_key()[:-4]],
    ids=["empty", "short", "not base64", "trailing comma", "cut short"],
)
def test_a_malformed_key_is_refused_with_how_to_make_one(key: str) -> None:
    with pytest.raises(DataKeyError, match="mentorbot new-key"):
        Keyring.parse(key)


def test_plain_words_are_not_taken_for_a_sealed_value() -> None:
    assert not is_sealed("mb1: my answer")
    assert not is_sealed("mb1:12345678:with spaces")
    assert not is_sealed(3)


def test_a_sealed_column_cannot_be_matched_in_sql_only_tested_for_null() -> None:
    # Sealed anew each time, a value would never match: the query is refused, not empty.
    with pytest.raises(TypeError, match="cannot be compared"):
        select(Commitment).where(Commitment.text == "Call my friends")
    with pytest.raises(TypeError, match="cannot be compared"):
        select(Outgoing).where(Outgoing.payload.in_([{"text": "x"}]))
    assert "IS NULL" in str(select(Commitment).where(Commitment.text.is_(None)))
