"""The webhook's settings, as the operator writes them."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from bot.config import Settings


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_a_webhook_without_a_secret_is_refused_with_a_line_saying_why() -> None:
    problem = settings(webhook_url="https://bot.example.org/telegram").webhook_problem()
    assert problem is not None
    assert "WEBHOOK_SECRET" in problem
    with_secret = settings(
        webhook_url="https://bot.example.org/telegram", webhook_secret=SecretStr("abc_DEF-123")
    )
    assert with_secret.webhook_problem() is None
    assert settings().webhook_problem() is None  # long polling


@pytest.mark.parametrize(
    "values",
    [
        {"webhook_secret": SecretStr("has space")},
        {"webhook_secret": SecretStr("x" * 257)},
        {"webhook_url": "bot.example.org/telegram"},
        {"webhook_listen": "8080"},
        {"health_listen": "localhost:http"},
    ],
)
def test_malformed_webhook_settings_are_refused(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        settings(**values)


def test_an_empty_webhook_url_means_long_polling() -> None:
    assert settings(webhook_url="").webhook_url is None
