"""Fakes of the AI ports: a scripted language model, a word-count embedder, an in-memory
knowledge store. Integration tests use the real adapters (tests/knowledge, tests/llm)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field

from core.ai_ports import ChatMessage, ModelError
from core.knowledge import KnowledgeChunk

_WORD = re.compile(r"\w+")


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text) if len(w) > 2}


@dataclass
class FakeLanguageModel:
    """Answers with ``reply`` split into ``pieces``; records every request.

    ``fail_before`` makes the next calls fail before the first piece; ``fail_after`` makes a
    call fail after that many pieces.
    """

    reply: str = "Hello from the clone."
    pieces: int = 3
    fail_before: int = 0
    fail_after: int | None = None
    name: str = "fake-model"
    requests: list[tuple[list[ChatMessage], float]] = field(default_factory=list)

    async def stream(
        self, messages: Sequence[ChatMessage], temperature: float
    ) -> AsyncGenerator[str, None]:
        self.requests.append((list(messages), temperature))
        if self.fail_before:
            self.fail_before -= 1
            raise ModelError("the fake model is down")
        size = max(1, -(-len(self.reply) // self.pieces))
        for index, start in enumerate(range(0, len(self.reply), size)):
            if self.fail_after is not None and index >= self.fail_after:
                raise ModelError("the fake model stopped")
            await asyncio.sleep(0)
            yield self.reply[start : start + size]


@dataclass
class FakeEmbedder:
    """A vector of word counts over a fixed vocabulary (enough to rank by shared words)."""

    vocabulary: list[str] = field(default_factory=list)
    calls: int = 0

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        return [[float(word in _words(text)) for word in self.vocabulary] for text in texts]


@dataclass
class FakeKnowledgeStore:
    """Chunks per creator, ranked by the number of words shared with the query."""

    chunks: dict[int, dict[int, list[tuple[str, str]]]] = field(default_factory=dict)
    searches: list[tuple[int, str, bool]] = field(default_factory=list)
    fail_adds: int = 0

    async def add(
        self,
        creator_id: int,
        document_id: int,
        title: str,
        chunks: Sequence[str],
        vectors: Sequence[Sequence[float]] | None = None,
    ) -> None:
        if self.fail_adds:
            self.fail_adds -= 1
            raise OSError("the fake store is full")
        self.chunks.setdefault(creator_id, {})[document_id] = [(title, c) for c in chunks]

    async def search(
        self,
        creator_id: int,
        query: str,
        limit: int,
        vector: Sequence[float] | None = None,
    ) -> list[KnowledgeChunk]:
        self.searches.append((creator_id, query, vector is not None))
        terms = _words(query)
        found = []
        for document_id, chunks in self.chunks.get(creator_id, {}).items():
            for position, (title, text) in enumerate(chunks):
                score = len(terms & _words(text))
                if score:
                    found.append(KnowledgeChunk(document_id, position, title, text, score))
        found.sort(key=lambda c: (-c.score, c.document_id, c.position))
        return found[:limit]

    async def remove(self, creator_id: int, document_id: int) -> int:
        return len(self.chunks.get(creator_id, {}).pop(document_id, []))

    async def count(self, creator_id: int) -> int:
        return sum(len(c) for c in self.chunks.get(creator_id, {}).values())
