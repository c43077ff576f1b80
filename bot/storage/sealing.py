"""People's words sealed at rest: authenticated encryption (AES-256-GCM, from the
``cryptography`` package) of the columns that hold what people wrote, with a key that
lives in the environment (``DATA_KEY``), never in the database.

A sealed value is stored as a token ``mb1:<key id>:<nonce and ciphertext, base64>``; the
key id (the start of the key's SHA-256) tells which key opens it, so ``DATA_KEY`` can list
older keys after the current one while ``mentorbot rotate-key`` seals everything anew. The
column's name is authenticated with each value, so a token copied into another column does
not open. Values written before encryption was switched on stay readable as they are until
the rotation seals them.

Each engine carries its own keyring (``attach``): the column types find it through the
dialect they are given, so two engines with different keys can live in one process.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import JSON, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import operators
from sqlalchemy.types import TypeDecorator

from bot.errors import OperatorError

TOKEN = re.compile(r"mb1:([0-9a-f]{8}):([A-Za-z0-9_-]+={0,2})\Z")
NONCE_BYTES = 12
KEY_BYTES = 32
_ATTRIBUTE = "mentorbot_keyring"


class DataKeyError(OperatorError):
    """The data key is missing, malformed, or does not open what the database holds."""


def new_key() -> str:
    """A fresh data key, as ``DATA_KEY`` takes it."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and TOKEN.match(value) is not None


@dataclass(frozen=True)
class Keyring:
    """The current key, which seals, and every key that may open (the current one too)."""

    current: str
    openers: dict[str, AESGCM]

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """``DATA_KEY``: one or more keys, comma-separated, the current one first."""
        keys = []
        for part in (p.strip() for p in text.split(",")):
            try:
                key = base64.urlsafe_b64decode(part.encode())
            except (binascii.Error, ValueError):
                key = b""
            if len(key) != KEY_BYTES:
                raise DataKeyError(
                    "DATA_KEY must be keys of 32 bytes in URL-safe base64, separated by "
                    "commas (make one with: mentorbot new-key)"
                )
            keys.append(key)
        return cls(key_id(keys[0]), {key_id(k): AESGCM(k) for k in reversed(keys)})

    def seal(self, plain: bytes, purpose: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self.openers[self.current].encrypt(nonce, plain, purpose.encode())
        return f"mb1:{self.current}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, token: str, purpose: str) -> bytes:
        found = TOKEN.match(token)
        if found is None:
            raise DataKeyError("a sealed value is damaged")
        opener = self.openers.get(found.group(1))
        if opener is None:
            raise DataKeyError(
                f"a value is sealed with key {found.group(1)}, which DATA_KEY does not hold"
            )
        raw = base64.urlsafe_b64decode(found.group(2).encode())
        try:
            return opener.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], purpose.encode())
        except InvalidTag:
            raise DataKeyError(f"a value sealed with key {found.group(1)} does not open") from None


def attach(engine: AsyncEngine, keyring: Keyring | None) -> None:
    setattr(engine.sync_engine.dialect, _ATTRIBUTE, keyring)


def keyring_of(dialect: Dialect) -> Keyring | None:
    ring: Keyring | None = getattr(dialect, _ATTRIBUTE, None)
    return ring


def _opened(token: str, purpose: str, dialect: Dialect) -> bytes:
    ring = keyring_of(dialect)
    if ring is None:
        raise DataKeyError("the database holds sealed values and no DATA_KEY is set")
    return ring.open(token, purpose)


class _NotComparable(TypeDecorator.Comparator[Any]):
    """A sealed value is sealed anew each time (a fresh nonce), so SQL cannot match one:
    a comparison would silently find nothing. Only NULL tests are allowed; code that needs
    to find a value reads the rows and compares in Python."""

    def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
        if op not in (operators.is_, operators.is_not):
            raise TypeError(f"a sealed column cannot be compared in SQL ({op.__name__})")
        return super().operate(op, *other, **kwargs)


class SealedJSON(TypeDecorator[Any]):
    """A JSON column whose values are sealed; with ``clear_numbers``, numbers stay in the
    clear (ratings such as a check-in's mood, which the statistics add up in SQL). Empty
    values stay as they are."""

    impl = JSON
    cache_ok = True
    comparator_factory = _NotComparable

    def __init__(self, purpose: str, clear_numbers: bool = False) -> None:
        super().__init__()
        self.purpose = purpose
        self.clear_numbers = clear_numbers

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        ring = keyring_of(dialect)
        if ring is None or value is None:
            return value
        if self.clear_numbers and isinstance(value, int | float):
            return value
        if value == {} or value == []:
            # Nothing to hide, and a scrubbed row is found by its empty value.
            return value
        plain = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
        return ring.seal(plain, self.purpose)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if is_sealed(value):
            return orjson.loads(_opened(value, self.purpose, dialect))
        return value


class SealedText(TypeDecorator[str]):
    """A text column whose values are sealed."""

    impl = Text
    cache_ok = True
    comparator_factory = _NotComparable

    def __init__(self, purpose: str) -> None:
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        ring = keyring_of(dialect)
        if ring is None or value is None:
            return value
        return ring.seal(value.encode(), self.purpose)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is not None and is_sealed(value):
            return _opened(value, self.purpose, dialect).decode()
        return value
