"""A recording stand-in for the Bot API server, plugged in as PTB's request layer.

It answers each method as Telegram does (well-formed JSON bodies, HTTP errors for 429 and 403),
so the real ``telegram.Bot`` parses real responses. Tests script failures per method and chat.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_USER: dict[str, Any] = {
    "id": 4242,
    "is_bot": True,
    "first_name": "ONE",
    "username": "one_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
MESSAGE_METHODS = {"sendMessage", "sendPhoto", "sendDocument", "sendInvoice", "editMessageText"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]

    @property
    def chat_id(self) -> int | None:
        chat = self.params.get("chat_id")
        return int(chat) if chat is not None else None


@dataclass
class RecordingBotApi(BaseRequest):
    calls: list[Call] = field(default_factory=list)
    # (method, chat_id) → (HTTP status, description) to answer next, e.g. 429 or 403.
    failures: dict[tuple[str, int], deque[tuple[int, str | None]]] = field(default_factory=dict)
    updates: deque[dict[str, Any]] = field(default_factory=deque)
    # What getFile and the file server give for a file id (documents people send).
    files: dict[str, bytes] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    def fail(
        self, method: str, chat_id: int, *statuses: int, description: str | None = None
    ) -> None:
        queue = self.failures.setdefault((method, chat_id), deque())
        queue.extend((status, description) for status in statuses)

    def sent(self, method: str = "sendMessage", chat_id: int | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == method and chat_id in (None, c.chat_id)]

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [str(c.params.get("text", "")) for c in self.sent("sendMessage", chat_id)]

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        if "/file/bot" in url:  # the file server: the path getFile gave is the file id
            self.calls.append(Call("downloadFile", {"file_path": endpoint}))
            return 200, self.files[endpoint]
        call = Call(endpoint, params)
        self.calls.append(call)
        queued = self.failures.get((endpoint, call.chat_id or 0))
        if queued:
            return self._error(*queued.popleft())
        return 200, json.dumps({"ok": True, "result": self._result(call)}).encode()

    def _error(self, status: int, description: str | None) -> tuple[int, bytes]:
        body: dict[str, Any] = {"ok": False, "error_code": status}
        if status == 429:
            body |= {"description": "Too Many Requests: retry after 3"}
            body["parameters"] = {"retry_after": 3}
        elif status == 403:
            body["description"] = "Forbidden: bot was blocked by the user"
        else:
            body["description"] = description or "Bad Request: something"
        return status, json.dumps(body).encode()

    def _result(self, call: Call) -> Any:
        if call.method == "getMe":
            return BOT_USER
        if call.method == "getFile":
            file_id = str(call.params["file_id"])
            return {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_size": len(self.files[file_id]),
                "file_path": file_id,
            }
        if call.method == "getUpdates":
            return [self.updates.popleft()] if self.updates else []
        if call.method in MESSAGE_METHODS:
            chat_id = call.chat_id or 0
            message: dict[str, Any] = {
                "message_id": int(call.params.get("message_id") or next(self._ids)),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
                "from": BOT_USER,
            }
            if "text" in call.params:
                message["text"] = call.params["text"]
            return message
        return True


class Updates:
    """Real Update JSON, as Telegram sends it."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    @staticmethod
    def user(user_id: int, name: str = "Bob") -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": name, "language_code": "en"}

    def message(
        self,
        user_id: int,
        text: str,
        *,
        name: str = "Bob",
        chat_id: int | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        chat = chat_id or user_id
        message: dict[str, Any] = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private" if chat > 0 else "group", "title": "G"},
            "from": self.user(user_id, name),
            **extra,
        }
        if text:
            message["text"] = text
            if text.startswith("/"):
                length = len(text.split(" ", 1)[0])
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return {"update_id": next(self._ids), "message": message}

    def button(self, user_id: int, data: str, *, name: str = "Bob") -> dict[str, Any]:
        origin = self.message(4242, "", chat_id=user_id)["message"]
        return {
            "update_id": next(self._ids),
            "callback_query": {
                "id": f"cb{next(self._ids)}",
                "from": self.user(user_id, name),
                "chat_instance": "ci",
                "data": data,
                "message": origin,
            },
        }

    def document(self, user_id: int, file_name: str, size: int) -> dict[str, Any]:
        document = {
            "file_id": "F1",
            "file_unique_id": "U1",
            "file_name": file_name,
            "mime_type": "text/plain",
            "file_size": size,
        }
        return self.message(user_id, "", document=document)

    def pre_checkout(self, user_id: int, payload: str = "purchase:1") -> dict[str, Any]:
        return {
            "update_id": next(self._ids),
            "pre_checkout_query": {
                "id": f"pcq{next(self._ids)}",
                "from": self.user(user_id),
                "currency": "XTR",
                "total_amount": 100,
                "invoice_payload": payload,
            },
        }

    def successful_payment(
        self, user_id: int, charge_id: str, payload: str = "purchase:1", amount: int = 100
    ) -> dict[str, Any]:
        paid = {
            "currency": "XTR",
            "total_amount": amount,
            "invoice_payload": payload,
            "telegram_payment_charge_id": charge_id,
            "provider_payment_charge_id": "",
        }
        return self.message(user_id, "", successful_payment=paid)

    def refunded_payment(
        self, user_id: int, charge_id: str, payload: str = "purchase:1", amount: int = 100
    ) -> dict[str, Any]:
        refund = {
            "currency": "XTR",
            "total_amount": amount,
            "invoice_payload": payload,
            "telegram_payment_charge_id": charge_id,
        }
        return self.message(user_id, "", refunded_payment=refund)
