"""Keeps secrets out of logs, whoever logs them (httpx logs every URL, and a Bot API URL holds
the bot's token)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from pydantic import SecretStr

from bot.settings import Settings, webhook_secret

MASK = "«redacted»"


class RedactSecrets(logging.Filter):
    """Replaces every configured secret in a record's final message (and traceback) by a mask."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call: still redact, never raise into the caller
            message = str(record.msg)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        cleaned, text = self._clean(message), self._clean(record.exc_text or "")
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_text and text != record.exc_text:
            record.exc_text, record.exc_info = text, None
        return True

    def _clean(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value in the settings, and the webhook secret derived from them."""
    found: list[str] = []
    if settings.telegram.token is not None:
        found.append(webhook_secret(settings.telegram))
    for section in settings.model_dump().values():
        for value in section.values() if isinstance(section, dict) else ():
            if isinstance(value, SecretStr):
                found.append(value.get_secret_value())
    return found


def install(settings: Settings, handlers: Iterable[logging.Handler]) -> None:
    redact = RedactSecrets(secrets_of(settings))
    for handler in handlers:
        handler.addFilter(redact)
