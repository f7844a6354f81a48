"""A real, local OpenAI-compatible HTTP server (aiohttp) for tests and benchmarks.

It serves ``POST /v1/chat/completions`` (JSON, or SSE with ``"stream": true``),
``POST /v1/embeddings`` (``encoding_format`` ``"float"`` or ``"base64"``) and ``GET /v1/models``
on 127.0.0.1 and a free port, records every request, and answers as scripted::

    async with LocalLLMServer() as server:
        server.script(reply="Hello there", chunks=["Hel", "lo ", "there"], token_delay=0.01)
        model = OpenAICompatibleModel(server.base_url, "key", "local-chat")
        ...
        assert server.last_chat.body["stream"] is True

Each chat request takes the oldest :meth:`LocalLLMServer.script` (a script with ``fail_first``
stays until its failures are spent); with none queued, :attr:`LocalLLMServer.default` answers
(set it with :meth:`LocalLLMServer.always`), whose reply is ``"Echo: " + the last user message``.
Embeddings are a signed, hashed bag of words (:func:`bag_of_words`): texts sharing words are
close, unrelated texts nearly orthogonal, and the same text always gets the same vector.

No pytest needed (``bench/`` scripts use it under ``asyncio.run``); the ``llm_server`` fixture
is here for any ``conftest.py`` to import.
"""

from __future__ import annotations

import array
import asyncio
import base64
import contextlib
import hashlib
import json
import math
import re
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import pytest
from aiohttp import web

DEFAULT_DIMS = 64
CHAT_MODEL = "local-chat"
EMBEDDING_MODEL = "local-embed"
WORDS = re.compile(r"\w+")
# Left out of the embeddings, so that shared content words decide how close two texts are.
STOP_WORDS = frozenset(
    str.split(
        "a an and are as at be by do for from how i in is it of on or that the this to was what"
        " with you"
    )
)


@dataclass
class Script:
    """How the server answers one request (see :meth:`LocalLLMServer.script`)."""

    reply: str | None = None
    chunks: Sequence[str] | None = None
    first_token_delay: float = 0.0
    token_delay: float = 0.0
    fail_first: int = 0
    fail_status: int = 500
    retry_after_ms: float | None = 10.0
    hang: bool = False
    disconnect_after: int | None = None
    malformed: bool = False
    ping_interval: float | None = None

    def pieces(self, messages: Any) -> list[str]:
        """The text chunks of the answer to ``messages``."""
        if self.chunks is not None:
            return list(self.chunks)
        text = self.reply if self.reply is not None else echo(messages)
        return split_words(text)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received: ``headers`` has lower-case names; ``body`` is the parsed JSON."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


def echo(messages: Any) -> str:
    """The default reply: the last user message, echoed."""
    last = ""
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, dict) and message.get("role") == "user":
                last = str(message.get("content", ""))
    return f"Echo: {last}"


def split_words(text: str) -> list[str]:
    """``"a b  c"`` → ``["a ", "b  ", "c"]``: word-sized chunks that join back to the text."""
    return re.findall(r"\s+\S*\s*|\S+\s*", text) or [text]


def bag_of_words(text: str, dims: int = DEFAULT_DIMS) -> list[float]:
    """The deterministic embedding of ``text``: lower-cased word tokens but :data:`STOP_WORDS`
    hashed into ``dims`` signed buckets, L2-normalised (a text of stop words only keeps them;
    one without words gets a fixed unit vector)."""
    vector = [0.0] * dims
    words = WORDS.findall(text.lower())
    for token in [w for w in words if w not in STOP_WORDS] or words or [""]:
        digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
        number = int.from_bytes(digest, "little")
        vector[number % dims] += 1.0 if (number >> 32) & 1 else -1.0
    norm = math.sqrt(sum(value * value for value in vector))
    if norm == 0.0:  # every token cancelled out: still a unit vector, still deterministic
        vector[0], norm = 1.0, 1.0
    return [value / norm for value in vector]


def encode_base64(vector: Sequence[float]) -> str:
    """``vector`` as OpenAI's base64: little-endian float32."""
    values = array.array("f", vector)
    if sys.byteorder == "big":
        values.byteswap()
    return base64.b64encode(values.tobytes()).decode("ascii")


class LocalLLMServer:
    """The server; ``async with LocalLLMServer() as server`` starts and stops it.

    ``api_key``: when set, requests without ``Authorization: Bearer <api_key>`` get 401.
    ``dims``: the embedding length (a request's ``dimensions`` overrides it).
    """

    def __init__(
        self,
        *,
        dims: int = DEFAULT_DIMS,
        api_key: str | None = None,
        models: Sequence[str] = (CHAT_MODEL, EMBEDDING_MODEL),
        host: str = "127.0.0.1",
    ) -> None:
        self.dims = dims
        self.api_key = api_key
        self.models = list(models)
        self.host = host
        self.requests: list[RecordedRequest] = []
        # Streams whose client hung up before the end (a consumer that stopped reading).
        self.abandoned_streams = 0
        self.default = Script()
        self.default_embeddings = Script()
        self._chat_scripts: deque[Script] = deque()
        self._embedding_scripts: deque[Script] = deque()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._closing = asyncio.Event()

    # Scripting ---------------------------------------------------------------------------

    def script(
        self,
        reply: str | None = None,
        chunks: Sequence[str] | None = None,
        *,
        first_token_delay: float = 0.0,
        token_delay: float = 0.0,
        fail_first: int = 0,
        fail_status: int = 500,
        retry_after_ms: float | None = 10.0,
        hang: bool = False,
        disconnect_after: int | None = None,
        malformed: bool = False,
        ping_interval: float | None = None,
    ) -> Script:
        """Queue the answer to the next chat request.

        - ``reply``: the text (default: the echo); ``chunks``: its exact split into stream
          chunks (default: word by word). Non-streamed requests get the chunks joined.
        - ``first_token_delay`` / ``token_delay``: seconds before the first / each next chunk.
        - ``fail_first``: answer that many requests with ``fail_status`` (500, 429 …) first;
          they carry ``retry-after-ms: retry_after_ms`` so the SDK retries at once (None: no
          header, the SDK's own backoff of about 0.5 s, 1 s …).
        - ``hang``: never answer this request (until the client gives up or the server
          stops); a retry gets the next script. ``always(hang=True)`` hangs every time.
        - ``disconnect_after``: drop the connection after that many stream chunks.
        - ``malformed``: send a chunk that is not JSON after the first.
        - ``ping_interval``: while delaying, send SSE comments (``: ping``) this often, as
          some servers do to keep the line alive.
        """
        scripted = Script(
            reply=reply,
            chunks=chunks,
            first_token_delay=first_token_delay,
            token_delay=token_delay,
            fail_first=fail_first,
            fail_status=fail_status,
            retry_after_ms=retry_after_ms,
            hang=hang,
            disconnect_after=disconnect_after,
            malformed=malformed,
            ping_interval=ping_interval,
        )
        self._chat_scripts.append(scripted)
        return scripted

    def always(self, **script: Any) -> Script:
        """Answer every chat request without a queued script like this (e.g. ``fail_first=10**6``
        to fail forever). Takes :meth:`script`'s arguments."""
        self.default = Script(**script)
        return self.default

    def script_embeddings(
        self,
        *,
        fail_first: int = 0,
        fail_status: int = 500,
        retry_after_ms: float | None = 10.0,
        first_token_delay: float = 0.0,
        hang: bool = False,
    ) -> Script:
        """Queue how the next embeddings request goes: failures, a delay, or a hang."""
        scripted = Script(
            fail_first=fail_first,
            fail_status=fail_status,
            retry_after_ms=retry_after_ms,
            first_token_delay=first_token_delay,
            hang=hang,
        )
        self._embedding_scripts.append(scripted)
        return scripted

    def reset(self) -> None:
        """Forget the recorded requests and the scripts."""
        self.requests.clear()
        self._chat_scripts.clear()
        self._embedding_scripts.clear()
        self.default = Script()
        self.default_embeddings = Script()

    # What was asked ----------------------------------------------------------------------

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def embedding_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/embeddings")]

    @property
    def last_chat(self) -> RecordedRequest:
        return self.chat_requests[-1]

    @property
    def last_embedding(self) -> RecordedRequest:
        return self.embedding_requests[-1]

    # Life cycle --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._site is None:
            raise RuntimeError("the server is not started")
        return self._site.port

    @property
    def base_url(self) -> str:
        """What to give an OpenAI client: ``http://127.0.0.1:PORT/v1``."""
        return f"http://{self.host}:{self.port}/v1"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_get("/v1/models", self._models)
        # handler_cancellation: a handler still waiting (hang, delays) stops when its client
        # hangs up, and nothing keeps the shutdown waiting.
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self.host, 0)
        await self._site.start()

    async def close(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> LocalLLMServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # Handlers ----------------------------------------------------------------------------

    async def _record(self, request: web.Request) -> RecordedRequest:
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        recorded = RecordedRequest(
            request.method,
            request.path,
            {name.lower(): value for name, value in request.headers.items()},
            body,
        )
        self.requests.append(recorded)
        return recorded

    def _refused(self, recorded: RecordedRequest) -> web.Response | None:
        if self.api_key is not None and recorded.authorization != f"Bearer {self.api_key}":
            return _error(401, "Incorrect API key provided.", "invalid_api_key")
        if not isinstance(recorded.body, dict) and recorded.method == "POST":
            return _error(400, "The body is not a JSON object.", "invalid_request_error")
        return None

    def _take(self, queue: deque[Script], default: Script) -> tuple[Script, bool]:
        """The script for this request, and whether it is one of its failures."""
        current = queue[0] if queue else default
        if current.fail_first > 0:
            current.fail_first -= 1
            return current, True
        if queue:
            queue.popleft()
        return current, False

    async def _sleep(self, seconds: float) -> None:
        """Wait, but no longer than the server lives."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), seconds)

    async def _models(self, request: web.Request) -> web.StreamResponse:
        recorded = await self._record(request)
        if (refused := self._refused(recorded)) is not None:
            return refused
        data = [
            {"id": name, "object": "model", "created": 0, "owned_by": "local"}
            for name in self.models
        ]
        return web.json_response({"object": "list", "data": data})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        recorded = await self._record(request)
        if (refused := self._refused(recorded)) is not None:
            return refused
        body: dict[str, Any] = recorded.body
        current, failing = self._take(self._chat_scripts, self.default)
        if failing:
            return _failure(current)
        if current.hang:
            await self._closing.wait()
            raise web.HTTPServiceUnavailable()
        pieces = current.pieces(body.get("messages"))
        model = str(body.get("model", CHAT_MODEL))
        if not body.get("stream"):
            await self._sleep(current.first_token_delay)
            if current.disconnect_after is not None:
                _drop(request)
                raise web.HTTPServiceUnavailable()
            return web.json_response(_completion(model, "".join(pieces), body.get("messages")))
        return await self._stream(request, current, model, pieces, body)

    async def _stream(
        self,
        request: web.Request,
        current: Script,
        model: str,
        pieces: list[str],
        body: dict[str, Any],
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        try:
            return await self._send_stream(response, request, current, model, pieces, body)
        except (asyncio.CancelledError, ConnectionResetError):
            self.abandoned_streams += 1
            raise

    async def _send_stream(
        self,
        response: web.StreamResponse,
        request: web.Request,
        current: Script,
        model: str,
        pieces: list[str],
        body: dict[str, Any],
    ) -> web.StreamResponse:
        ident = f"chatcmpl-{len(self.requests)}"

        async def send(delta: dict[str, Any], finish: str | None = None) -> None:
            chunk = _chunk(ident, model, [{"index": 0, "delta": delta, "finish_reason": finish}])
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

        async def pause(seconds: float) -> None:
            if current.ping_interval is None:
                await self._sleep(seconds)
                return
            until = time.monotonic() + seconds
            while (left := until - time.monotonic()) > 0 and not self._closing.is_set():
                await self._sleep(min(left, current.ping_interval))
                await response.write(b": ping\n\n")

        await send({"role": "assistant", "content": ""})
        for number, piece in enumerate(pieces):
            if number == current.disconnect_after:
                _drop(request)
                return response
            await pause(current.first_token_delay if number == 0 else current.token_delay)
            await send({"content": piece})
            if current.malformed and number == 0:
                await response.write(b'data: {"choices": [\n\n')
        if current.disconnect_after is not None and current.disconnect_after >= len(pieces):
            _drop(request)
            return response
        await send({}, "stop")
        options = body.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage"):
            usage = _usage(body.get("messages"), "".join(pieces))
            await response.write(
                f"data: {json.dumps(_chunk(ident, model, [], usage))}\n\n".encode()
            )
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        recorded = await self._record(request)
        if (refused := self._refused(recorded)) is not None:
            return refused
        body: dict[str, Any] = recorded.body
        current, failing = self._take(self._embedding_scripts, self.default_embeddings)
        if failing:
            return _failure(current)
        if current.hang:
            await self._closing.wait()
            raise web.HTTPServiceUnavailable()
        await self._sleep(current.first_token_delay)
        texts = body.get("input")
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not all(isinstance(t, str) and t for t in texts):
            return _error(400, "input must be a non-empty string or list of them", "invalid_input")
        dims = body.get("dimensions") or self.dims
        encoding = body.get("encoding_format", "float")
        if encoding not in ("float", "base64"):
            return _error(400, f"unknown encoding_format {encoding!r}", "invalid_request_error")
        data = []
        for index, text in enumerate(texts):
            vector = bag_of_words(text, int(dims))
            embedding = encode_base64(vector) if encoding == "base64" else vector
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        tokens = sum(len(WORDS.findall(text)) for text in texts)
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": str(body.get("model", EMBEDDING_MODEL)),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )


def _drop(request: web.Request) -> None:
    """Cut the connection mid-answer, as a crashed server or a proxy would."""
    if request.transport is not None:
        request.transport.abort()


def _error(status: int, message: str, code: str) -> web.Response:
    error = {"message": message, "type": "invalid_request_error", "param": None, "code": code}
    return web.json_response({"error": error}, status=status)


def _failure(current: Script) -> web.Response:
    response = _error(
        current.fail_status, f"scripted failure ({current.fail_status})", "scripted_failure"
    )
    if current.retry_after_ms is not None:
        response.headers["retry-after-ms"] = str(current.retry_after_ms)
    return response


def _usage(messages: Any, answer: str) -> dict[str, int]:
    prompt = len(WORDS.findall(json.dumps(messages)))
    completion = len(WORDS.findall(answer))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _chunk(
    ident: str, model: str, choices: list[dict[str, Any]], usage: dict[str, int] | None = None
) -> dict[str, Any]:
    return {
        "id": ident,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
        "usage": usage,
    }


def _completion(model: str, text: str, messages: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-local",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": _usage(messages, text),
    }


@pytest.fixture
async def llm_server() -> AsyncIterator[LocalLLMServer]:
    """A started :class:`LocalLLMServer`, stopped after the test."""
    async with LocalLLMServer() as server:
        yield server
