"""The OpenAI-compatible model and embedder against a real local server, over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import math
import socket
import time
from collections.abc import AsyncIterator, Callable, Sequence

import openai
import pytest

from adapters.llm.openai_compatible import OpenAICompatibleEmbedder, OpenAICompatibleModel
from core.ai_ports import ChatMessage, Embedder, LanguageModel, ModelError
from tests.llm_server import LocalLLMServer, bag_of_words

KEY = "sk-test-123"
QUESTION = [
    ChatMessage("system", "You are Alice's clone."),
    ChatMessage("user", "Hello?"),
    ChatMessage("assistant", "Hi! Ask me anything."),
    ChatMessage("user", "How do I start running?"),
]

MakeModel = Callable[..., OpenAICompatibleModel]
MakeEmbedder = Callable[..., OpenAICompatibleEmbedder]


@pytest.fixture
async def make_model(llm_server: LocalLLMServer) -> AsyncIterator[MakeModel]:
    """Models on the local server (or ``base_url``), closed after the test."""
    made: list[OpenAICompatibleModel] = []

    def make(
        timeout: float = 5.0,
        max_retries: int = 2,
        base_url: str | None = None,
        max_tokens: int | None = None,
    ) -> OpenAICompatibleModel:
        model = OpenAICompatibleModel(
            base_url or llm_server.base_url,
            KEY,
            "local-chat",
            timeout=timeout,
            max_retries=max_retries,
            max_tokens=max_tokens,
        )
        made.append(model)
        return model

    yield make
    for model in made:
        await model.aclose()


@pytest.fixture
async def make_embedder(llm_server: LocalLLMServer) -> AsyncIterator[MakeEmbedder]:
    made: list[OpenAICompatibleEmbedder] = []

    def make(**options: object) -> OpenAICompatibleEmbedder:
        embedder = OpenAICompatibleEmbedder(
            llm_server.base_url,
            KEY,
            "local-embed",
            **options,  # type: ignore[arg-type]
        )
        made.append(embedder)
        return embedder

    yield make
    for embedder in made:
        await embedder.aclose()


async def pieces(
    model: OpenAICompatibleModel, messages: Sequence[ChatMessage] = QUESTION
) -> list[str]:
    async with contextlib.aclosing(model.stream(messages, 0.3)) as stream:
        return [piece async for piece in stream]


async def read_into(got: list[str], model: OpenAICompatibleModel) -> None:
    """Collect the pieces into ``got`` (kept when the stream then fails)."""
    async with contextlib.aclosing(model.stream(QUESTION, 0.3)) as stream:
        async for piece in stream:
            got.append(piece)


async def eventually(check: Callable[[], object], seconds: float = 1.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("it never happened")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (
        math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    )


# Chat --------------------------------------------------------------------------------------


async def test_the_adapters_fit_the_ports_and_start_offline() -> None:
    # Nothing listens on port 1: building (and closing) must not touch the network.
    model = OpenAICompatibleModel("http://127.0.0.1:1/v1", KEY, "m")
    embedder = OpenAICompatibleEmbedder("http://127.0.0.1:1/v1", KEY, "e")
    ports: tuple[LanguageModel, Embedder] = (model, embedder)  # mypy checks the fit
    assert ports[0].name == "m"
    await model.aclose()
    await embedder.aclose()


async def test_streamed_pieces_arrive_in_order_and_make_the_reply(
    llm_server: LocalLLMServer, make_model: MakeModel
) -> None:
    llm_server.script(chunks=["Start ", "with ", "", "walks", " and jogs."], token_delay=0.01)
    assert await pieces(make_model()) == ["Start ", "with ", "walks", " and jogs."]


async def test_pieces_come_as_they_are_generated(
    llm_server: LocalLLMServer, make_model: MakeModel
) -> None:
    llm_server.script(chunks=["one ", "two ", "three"], token_delay=0.2)
    arrivals: list[float] = []
    start = time.monotonic()
    async with contextlib.aclosing(make_model().stream(QUESTION, 0.3)) as stream:
        async for _ in stream:
            arrivals.append(time.monotonic() - start)
    assert arrivals[1] - arrivals[0] > 0.15
    assert arrivals[2] - arrivals[1] > 0.15


async def test_what_is_sent(llm_server: LocalLLMServer, make_model: MakeModel) -> None:
    answer = "".join(await pieces(make_model()))

    assert answer == "Echo: How do I start running?"
    (request,) = llm_server.chat_requests
    assert request is llm_server.last_chat
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body["model"] == "local-chat"
    assert request.body["stream"] is True
    assert request.body["temperature"] == 0.3
    assert request.body["messages"] == [{"role": m.role, "content": m.content} for m in QUESTION]


async def test_the_key_is_checked_and_a_wrong_one_is_an_outage(make_model: MakeModel) -> None:
    async with LocalLLMServer(api_key="another") as server:
        model = make_model(base_url=server.base_url)
        with pytest.raises(ModelError, match="HTTP 401") as caught:
            await pieces(model)
        assert KEY not in str(caught.value)
        assert len(server.requests) == 1  # a refused key is not retried


async def test_a_failure_is_retried(llm_server: LocalLLMServer, make_model: MakeModel) -> None:
    llm_server.script(reply="Second time lucky", fail_first=1, fail_status=500)
    assert "".join(await pieces(make_model(max_retries=2))) == "Second time lucky"
    assert len(llm_server.chat_requests) == 2


async def test_a_rate_limit_is_retried(llm_server: LocalLLMServer, make_model: MakeModel) -> None:
    llm_server.script(reply="ok", fail_first=2, fail_status=429)
    assert await pieces(make_model(max_retries=2)) == ["ok"]


async def test_failing_every_time_is_a_model_error(
    llm_server: LocalLLMServer, make_model: MakeModel
) -> None:
    llm_server.always(fail_first=10**6)
    with pytest.raises(ModelError, match="HTTP 500") as caught:
        await pieces(make_model(max_retries=2))
    assert isinstance(caught.value.__cause__, openai.InternalServerError)
    assert len(llm_server.chat_requests) == 3


async def test_a_hang_times_out(llm_server: LocalLLMServer, make_model: MakeModel) -> None:
    llm_server.always(hang=True)
    start = time.monotonic()
    with pytest.raises(ModelError, match="timed out"):
        await pieces(make_model(timeout=0.5, max_retries=0))
    assert time.monotonic() - start < 2.0


async def test_the_first_word_is_due_within_the_timeout_retries_included(
    llm_server: LocalLLMServer, make_model: MakeModel
) -> None:
    llm_server.always(hang=True)
    start = time.monotonic()
    with pytest.raises(ModelError, match="timed out"):
        await pieces(make_model(timeout=0.5, max_retries=3))
    assert time.monotonic() - start < 1.2  # not 4 × 0.5 s


async def test_the_longest_answer_is_asked_for(
    llm_server: LocalLLMServer, make_model: MakeModel
) -> None:
    await pieces(make_model(max_tokens=123))
    assert llm_server.last_chat is not None
    assert llm_server.last_chat.body["max_tokens"] == 123
    await pieces(make_model())
    assert "max_tokens" not in llm_server.last_chat.body


async def test_a_stream_that_stalls_times_out(
    llm_server: LocalLLMServer, make_model: MakeModel
) -> None:
    llm_server.script(chunks=["Well, ", "let me think"], token_delay=10)
    got: list[str] = []
    start = time.monotonic()
    with pytest.raises(ModelError, match="timed out"):
        await read_into(got, make_model(timeout=0.5))
    assert got == ["Well, "]
    assert time.monotonic() - start < 2.0


async def test_keepalive_comments_do_not_hide_a_stall(
    llm_server: LocalLLMServer, make_model: MakeModel
) -> None:
    llm_server.script(chunks=["Well, ", "let me think"], token_delay=10, ping_interval=0.05)
    start = time.monotonic()
    with pytest.raises(ModelError, match="timed out"):
        await pieces(make_model(timeout=0.5))
    assert time.monotonic() - start < 2.0


async def test_the_timeout_is_per_piece_not_for_the_whole_answer(
    llm_server: LocalLLMServer, make_model: MakeModel
) -> None:
    llm_server.script(chunks=list("abcdefgh"), token_delay=0.1, ping_interval=0.03)
    assert "".join(await pieces(make_model(timeout=0.5))) == "abcdefgh"


async def test_a_dropped_connection_mid_stream_is_a_model_error(
    llm_server: LocalLLMServer, make_model: MakeModel
) -> None:
    llm_server.script(chunks=["a", "b", "c", "d"], disconnect_after=2)
    got: list[str] = []
    with pytest.raises(ModelError, match="broke off"):
        await read_into(got, make_model())
    assert got == ["a", "b"]
    assert len(llm_server.chat_requests) == 1  # a stream under way is never retried


async def test_a_dropped_connection_before_the_end_marker_is_a_model_error(
    llm_server: LocalLLMServer, make_model: MakeModel
) -> None:
    llm_server.script(chunks=["a", "b"], disconnect_after=2)
    with pytest.raises(ModelError):
        await pieces(make_model())


async def test_a_malformed_stream_is_a_model_error(
    llm_server: LocalLLMServer, make_model: MakeModel
) -> None:
    llm_server.script(chunks=["a", "b"], malformed=True)
    with pytest.raises(ModelError, match="JSONDecodeError"):
        await pieces(make_model())


async def test_an_empty_answer_is_a_model_error(
    llm_server: LocalLLMServer, make_model: MakeModel
) -> None:
    llm_server.script(chunks=["", ""])
    with pytest.raises(ModelError, match="empty answer"):
        await pieces(make_model())


async def test_an_unreachable_server_is_a_model_error(make_model: MakeModel) -> None:
    model = make_model(base_url=f"http://127.0.0.1:{closed_port()}/v1", max_retries=1)
    with pytest.raises(ModelError, match="unreachable") as caught:
        await pieces(model)
    assert isinstance(caught.value.__cause__, openai.APIConnectionError)


async def test_stopping_early_closes_the_stream(
    llm_server: LocalLLMServer, make_model: MakeModel
) -> None:
    llm_server.script(chunks=[f"{n} " for n in range(50)], token_delay=0.02)
    model = make_model()
    stream = model.stream(QUESTION, 0.3)
    assert await anext(stream) == "0 "
    await stream.aclose()
    await eventually(lambda: llm_server.abandoned_streams == 1)  # noticed at its next write
    assert await pieces(model) == ["Echo: ", "How ", "do ", "I ", "start ", "running?"]


async def test_a_cancelled_consumer_closes_the_stream(
    llm_server: LocalLLMServer, make_model: MakeModel
) -> None:
    llm_server.script(chunks=["a", "b"], token_delay=10)
    task = asyncio.create_task(pieces(make_model()))
    await eventually(lambda: llm_server.chat_requests)
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await eventually(lambda: llm_server.abandoned_streams == 1)


async def test_answers_stream_side_by_side(
    llm_server: LocalLLMServer, make_model: MakeModel
) -> None:
    model = make_model()
    llm_server.always(token_delay=0.02)
    first, second = await asyncio.gather(
        pieces(model, [ChatMessage("user", "one two three")]),
        pieces(model, [ChatMessage("user", "four five six")]),
    )
    assert "".join(first) == "Echo: one two three"
    assert "".join(second) == "Echo: four five six"


# Embeddings --------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["float", "base64"])
async def test_embeddings_in_either_encoding(
    llm_server: LocalLLMServer, make_embedder: MakeEmbedder, encoding: str
) -> None:
    embedder = make_embedder(encoding=encoding)
    assert embedder.dimensions is None

    vectors = await embedder.embed(["Cats and dogs", "Interval training"])

    assert llm_server.last_embedding.body["encoding_format"] == encoding
    assert llm_server.last_embedding.body["input"] == ["Cats and dogs", "Interval training"]
    assert llm_server.last_embedding.headers["authorization"] == f"Bearer {KEY}"
    assert embedder.dimensions == 64
    for vector, text in zip(vectors, ["Cats and dogs", "Interval training"], strict=True):
        assert vector == pytest.approx(bag_of_words(text), abs=1e-6)


async def test_the_sdk_default_base64_works_with_the_server(llm_server: LocalLLMServer) -> None:
    async with openai.AsyncOpenAI(base_url=llm_server.base_url, api_key=KEY) as client:
        response = await client.embeddings.create(model="local-embed", input=["cats"])
    assert llm_server.last_embedding.body["encoding_format"] == "base64"
    assert response.data[0].embedding == pytest.approx(bag_of_words("cats"), abs=1e-6)


async def test_the_server_sends_little_endian_float32(llm_server: LocalLLMServer) -> None:
    async with openai.AsyncOpenAI(base_url=llm_server.base_url, api_key=KEY) as client:
        raw = await client.embeddings.create(
            model="local-embed", input="cats", encoding_format="base64"
        )
    encoded = raw.data[0].embedding
    assert isinstance(encoded, str)
    assert len(base64.b64decode(encoded)) == 64 * 4


async def test_many_texts_are_sent_in_batches_and_kept_in_order(
    llm_server: LocalLLMServer, make_embedder: MakeEmbedder
) -> None:
    texts = [f"text number {n} about topic{n % 7}" for n in range(150)]
    vectors = await make_embedder().embed(texts)

    assert [len(r.body["input"]) for r in llm_server.embedding_requests] == [64, 64, 22]
    assert len(vectors) == 150
    for vector, text in zip(vectors, texts, strict=True):
        assert vector == pytest.approx(bag_of_words(text), abs=1e-6)


async def test_dimensions_follow_the_server(make_embedder: MakeEmbedder) -> None:
    async with LocalLLMServer(dims=16) as server:
        embedder = OpenAICompatibleEmbedder(server.base_url, KEY, "local-embed", batch_size=2)
        try:
            vectors = await embedder.embed(["a", "b", "c"])
        finally:
            await embedder.aclose()
    assert [len(v) for v in vectors] == [16, 16, 16]
    assert embedder.dimensions == 16


async def test_nothing_to_embed_asks_nothing(
    llm_server: LocalLLMServer, make_embedder: MakeEmbedder
) -> None:
    assert await make_embedder().embed([]) == []
    assert llm_server.requests == []


async def test_a_blank_text_still_gets_a_vector(make_embedder: MakeEmbedder) -> None:
    (vector,) = await make_embedder().embed([""])
    assert math.isclose(sum(v * v for v in vector), 1.0, rel_tol=1e-6)


async def test_texts_sharing_words_are_closer(make_embedder: MakeEmbedder) -> None:
    cat, cat_again, money = await make_embedder().embed(
        [
            "The cat sat on the mat",
            "A cat sleeping on a mat",
            "Quarterly revenue forecast spreadsheet",
        ]
    )
    assert cosine(cat, cat_again) > 0.5
    assert cosine(cat, cat_again) > abs(cosine(cat, money)) + 0.3


async def test_an_embedding_failure_is_retried_then_a_model_error(
    llm_server: LocalLLMServer, make_embedder: MakeEmbedder
) -> None:
    embedder = make_embedder(max_retries=1)
    llm_server.script_embeddings(fail_first=1)
    assert len(await embedder.embed(["fine"])) == 1

    llm_server.script_embeddings(fail_first=2, fail_status=429)
    with pytest.raises(ModelError, match="HTTP 429"):
        await embedder.embed(["not fine"])


async def test_an_embedding_hang_times_out(
    llm_server: LocalLLMServer, make_embedder: MakeEmbedder
) -> None:
    llm_server.script_embeddings(hang=True)
    with pytest.raises(ModelError, match="timed out"):
        await make_embedder(timeout=0.5, max_retries=0).embed(["anything"])


async def test_an_embedding_hang_with_retries_ends_within_the_timeout(
    llm_server: LocalLLMServer, make_embedder: MakeEmbedder
) -> None:
    llm_server.script_embeddings(hang=True)
    llm_server.script_embeddings(hang=True)
    start = time.monotonic()
    with pytest.raises(ModelError, match="timed out"):
        await make_embedder(timeout=0.5, max_retries=3).embed(["anything"])
    assert time.monotonic() - start < 1.2


async def test_an_unreachable_embedder_is_a_model_error() -> None:
    embedder = OpenAICompatibleEmbedder(
        f"http://127.0.0.1:{closed_port()}/v1", KEY, "e", max_retries=0
    )
    try:
        with pytest.raises(ModelError, match="unreachable"):
            await embedder.embed(["x"])
    finally:
        await embedder.aclose()


# The server itself -------------------------------------------------------------------------


async def test_the_server_answers_without_streaming_and_lists_models(
    llm_server: LocalLLMServer,
) -> None:
    llm_server.script(reply="Plain answer")
    async with openai.AsyncOpenAI(base_url=llm_server.base_url, api_key=KEY) as client:
        completion = await client.chat.completions.create(
            model="local-chat", messages=[{"role": "user", "content": "hi"}]
        )
        models = await client.models.list()
    assert completion.choices[0].message.content == "Plain answer"
    assert [m.id async for m in models] == ["local-chat", "local-embed"]


async def test_the_server_reports_usage_when_asked(llm_server: LocalLLMServer) -> None:
    async with openai.AsyncOpenAI(base_url=llm_server.base_url, api_key=KEY) as client:
        stream = await client.chat.completions.create(
            model="local-chat",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 2


def test_the_server_runs_without_pytest_under_asyncio_run() -> None:
    async def main() -> list[str]:
        async with LocalLLMServer() as server:
            model = OpenAICompatibleModel(server.base_url, "none", "local-chat", timeout=5)
            try:
                return await pieces(model, [ChatMessage("user", "ping")])
            finally:
                await model.aclose()

    assert asyncio.run(main()) == ["Echo: ", "ping"]
