"""The route Telegram posts updates to in webhook mode; only it knows the secret token."""

from __future__ import annotations

import hmac
import json
import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.telegram_frontend.frontend import WEBHOOK_PATH, TelegramFrontend

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_route(frontend: TelegramFrontend, secret: str) -> Route:
    """POST /webhooks/telegram: 403 without the right secret header, nothing processed."""

    async def receive(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("refused a Telegram webhook call without the right secret token")
            return Response(status_code=403)
        try:
            data = json.loads(await request.body())
        except ValueError:
            return Response(status_code=400)
        if not isinstance(data, dict) or "update_id" not in data:
            return Response(status_code=400)
        if not await frontend.feed(data):
            return Response(status_code=400)
        return Response(status_code=200)

    return Route(WEBHOOK_PATH, receive, methods=["POST"])
