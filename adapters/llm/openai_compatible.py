"""The :class:`~core.ai_ports.LanguageModel` and :class:`~core.ai_ports.Embedder` ports over the
OpenAI-compatible HTTP API, with the ``openai`` SDK: OpenAI itself, Ollama (``/v1``), vLLM,
llama.cpp's server, OpenRouter …

Every failure leaves these classes as :class:`~core.ai_ports.ModelError` (the cause chained), so
the core never sees an SDK exception. The SDK retries refused requests itself (429, 5xx, dropped
connections) ``max_retries`` times with backoff; a stream that broke after its first byte is not
retried (the caller has shown part of it already). The API key is handed to the SDK and nowhere
else: it is in no message and no log line.
"""

from __future__ import annotations

import array
import asyncio
import base64
import contextlib
import sys
from collections.abc import AsyncGenerator, Sequence
from typing import Literal, cast

import openai
from openai import omit
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam

from core.ai_ports import ChatMessage, ModelError

EMBEDDING_BATCH = 64  # inputs per request: well below every server's limit (OpenAI: 2048)


def _client(base_url: str, api_key: str, timeout: float, max_retries: int) -> openai.AsyncOpenAI:
    if timeout <= 0:
        raise ValueError("timeout must be positive")
    if max_retries < 0:
        raise ValueError("max_retries must be 0 or more")
    # The SDK's default timeout is 600 s; a float sets connect, read (each chunk of a stream),
    # write and pool waits alike. Nothing here touches the network until the first request.
    return openai.AsyncOpenAI(
        base_url=base_url, api_key=api_key, timeout=timeout, max_retries=max_retries
    )


def _describe(exc: BaseException) -> str:
    """A short account of an SDK failure, for the ModelError message (never the request)."""
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}"
    if isinstance(exc, openai.APITimeoutError | TimeoutError):
        return "timed out"
    if isinstance(exc, openai.APIConnectionError):
        return "unreachable or connection lost"
    return type(exc).__name__


class OpenAICompatibleModel:
    """A chat model behind an OpenAI-compatible ``/chat/completions`` endpoint, streamed.

    ``timeout`` bounds each wait: connecting, the response headers, and every piece of the
    stream after them (a stream that stalls longer fails). Built without network I/O; call
    :meth:`aclose` when done.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        model: str,
        *,
        timeout: float = 30.0,
        max_retries: int = 2,
        max_tokens: int | None = None,
    ) -> None:
        self._model = model
        self._timeout = timeout
        self._max_tokens = max_tokens
        self._client = _client(base_url, api_key, timeout, max_retries)

    @property
    def name(self) -> str:
        """The model's name, as sent with each request."""
        return self._model

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._client.close()

    async def stream(
        self, messages: Sequence[ChatMessage], temperature: float
    ) -> AsyncGenerator[str, None]:
        """The answer's text as it is generated, in non-empty pieces.

        ``ModelError`` when the server cannot be reached, refuses, times out, breaks off or
        sends nothing to say. Closing the generator early closes the HTTP stream.
        """
        # The first piece is due within ``timeout``, retries included: a fan is waiting.
        first_due = asyncio.get_running_loop().time() + self._timeout
        try:
            async with asyncio.timeout_at(first_due):
                response = await self._client.chat.completions.create(
                    model=self._model,
                    messages=[_message(m) for m in messages],
                    temperature=temperature,
                    stream=True,
                    max_tokens=self._max_tokens if self._max_tokens is not None else omit,
                )
        except Exception as exc:
            raise self._error("could not start an answer", exc) from exc
        answered = False
        try:
            while True:
                try:
                    # The SDK's read timeout does not fire on servers that keep the line
                    # alive with SSE comments (": ping") but send no tokens; this does.
                    due = first_due if not answered else None
                    async with (
                        asyncio.timeout(self._timeout) if due is None else (asyncio.timeout_at(due))
                    ):
                        chunk = await anext(response)
                except StopAsyncIteration:
                    break
                except Exception as exc:
                    # Timeouts, dropped connections, error events and undecodable chunks.
                    raise self._error("broke off its answer", exc) from exc
                text = _delta_text(chunk)
                if text:
                    answered = True
                    yield text
        finally:
            # Runs on the normal end, on errors and on aclose() by a consumer that stopped
            # early: the connection is released either way.
            with contextlib.suppress(Exception):
                await response.close()
        if not answered:
            raise ModelError(f"{self._model} sent an empty answer")

    def _error(self, what: str, exc: BaseException) -> ModelError:
        return ModelError(f"{self._model} {what}: {_describe(exc)}")


def _message(message: ChatMessage) -> ChatCompletionMessageParam:
    # The SDK types each role as its own TypedDict; the wire shape is the same for all three.
    return cast(ChatCompletionMessageParam, {"role": message.role, "content": message.content})


def _delta_text(chunk: ChatCompletionChunk) -> str:
    # Some servers end with a chunk without choices (usage), or send role-only first deltas.
    if not chunk.choices:
        return ""
    return chunk.choices[0].delta.content or ""


class OpenAICompatibleEmbedder:
    """An embedding model behind an OpenAI-compatible ``/embeddings`` endpoint.

    Texts are sent ``batch_size`` at a time; vectors come back in the texts' order.
    ``encoding`` is what is asked of the server: ``"float"`` (understood everywhere) or
    ``"base64"`` (a quarter of the bytes, where supported). Built without network I/O; call
    :meth:`aclose` when done.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        model: str,
        *,
        timeout: float = 30.0,
        max_retries: int = 2,
        batch_size: int = EMBEDDING_BATCH,
        encoding: Literal["float", "base64"] = "float",
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._model = model
        self._timeout = timeout
        self._batch_size = batch_size
        self._encoding: Literal["float", "base64"] = encoding
        self._client = _client(base_url, api_key, timeout, max_retries)
        self._dimensions: int | None = None

    @property
    def name(self) -> str:
        """The embedding model's name."""
        return self._model

    @property
    def dimensions(self) -> int | None:
        """The length of the vectors, once a first answer told it (None before)."""
        return self._dimensions

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._client.close()

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order; ``ModelError`` if any batch fails or is malformed."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            try:
                # Each batch within ``timeout``, retries included (the SDK's own timeout is
                # per attempt): a fan's question is waiting on the first.
                async with asyncio.timeout(self._timeout):
                    batch = await self._embed_batch(texts[start : start + self._batch_size])
            except TimeoutError as exc:
                raise ModelError(f"{self._model} could not embed: timed out") from exc
            vectors += batch
        return vectors

    async def _embed_batch(self, texts: Sequence[str]) -> list[list[float]]:
        # OpenAI refuses empty strings as input; a blank embeds as "nothing in particular".
        inputs = [text if text else " " for text in texts]
        try:
            response = await self._client.embeddings.create(
                model=self._model, input=inputs, encoding_format=self._encoding
            )
            ordered = sorted(response.data, key=lambda item: item.index)
            vectors = [_floats(item.embedding) for item in ordered]
        except Exception as exc:
            raise ModelError(f"{self._model} could not embed: {_describe(exc)}") from exc
        if [item.index for item in ordered] != list(range(len(inputs))):
            raise ModelError(f"{self._model} answered {len(ordered)} vectors for {len(inputs)}")
        sizes = {len(vector) for vector in vectors}
        if self._dimensions is not None:
            sizes.add(self._dimensions)
        if len(sizes) != 1 or 0 in sizes:
            raise ModelError(f"{self._model} answered vectors of sizes {sorted(sizes)}")
        self._dimensions = sizes.pop()
        return vectors


def _floats(embedding: object) -> list[float]:
    # With an explicit encoding_format the SDK hands base64 back undecoded: little-endian
    # float32, as OpenAI sends it. A server that ignored "float" and sent base64 is fine too.
    if isinstance(embedding, str):
        values = array.array("f", base64.b64decode(embedding, validate=True))
        if sys.byteorder == "big":
            values.byteswap()
        return values.tolist()
    if isinstance(embedding, list):
        return [float(value) for value in embedding]
    raise TypeError(f"an embedding of type {type(embedding).__name__}")
