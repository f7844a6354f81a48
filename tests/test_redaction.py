"""Secrets never reach the logs, even when a library logs a URL that contains one."""

from __future__ import annotations

import io
import logging

from bot import redaction
from bot.settings import load_settings

TOKEN = "123456:AAE-very-secret-token"


def test_a_token_in_a_message_or_a_traceback_is_masked() -> None:
    settings = load_settings(environ={"ONE_BOT__TELEGRAM__TOKEN": TOKEN})
    assert TOKEN in redaction.secrets_of(settings)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    redaction.install(settings, [handler])
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("HTTP Request: POST https://api.telegram.org/bot%s/getMe", TOKEN)
        try:
            raise RuntimeError(f"failed calling /bot{TOKEN}/sendMessage")
        except RuntimeError:
            logger.exception("send failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert TOKEN not in output
    assert output.count(redaction.MASK) == 2
    assert "send failed" in output
    assert "RuntimeError" in output


def test_a_malformed_log_call_never_raises_into_the_caller() -> None:
    settings = load_settings(environ={"ONE_BOT__TELEGRAM__TOKEN": TOKEN})
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    redaction.install(settings, [handler])
    logger = logging.getLogger("test.redaction.malformed")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("token %s and a number %d", TOKEN, "not a number")
    finally:
        logger.removeHandler(handler)
    assert TOKEN not in stream.getvalue()
