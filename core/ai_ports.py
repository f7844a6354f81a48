"""What the AI clones need from the outside world, named by role: a language model, an
embedder, a knowledge store and a document reader. Re-exported by :mod:`core.ports`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from core.knowledge import DocumentInfo, KnowledgeChunk


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of a chat completion request."""

    role: Literal["system", "user", "assistant"]
    content: str


class ModelError(Exception):
    """The model could not answer (unreachable, timed out, refused): an outage, never shown."""


class LanguageModel(Protocol):
    """An OpenAI-compatible chat model (OpenAI, Ollama, vLLM …)."""

    @property
    def name(self) -> str:
        """The model's name, as logged with each answer."""
        ...

    def stream(
        self, messages: Sequence[ChatMessage], temperature: float
    ) -> AsyncGenerator[str, None]:
        """The answer as it is generated, piece by piece; ``ModelError`` if it fails."""
        ...


class Embedder(Protocol):
    """Turns text into vectors for semantic search."""

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order; ``ModelError`` if it fails."""
        ...


class KnowledgeStore(Protocol):
    """Each creator's knowledge chunks, searchable by words (and by vectors when given).

    Chunks are stored per creator; nothing of one creator is ever returned for another.
    """

    async def add(
        self,
        creator_id: int,
        document_id: int,
        title: str,
        chunks: Sequence[str],
        vectors: Sequence[Sequence[float]] | None = None,
    ) -> None:
        """Store the chunks of one document (replacing any stored before under its id)."""
        ...

    async def search(
        self,
        creator_id: int,
        query: str,
        limit: int,
        vector: Sequence[float] | None = None,
    ) -> list[KnowledgeChunk]:
        """The best ``limit`` chunks for ``query``: full-text, hybrid with ``vector``."""
        ...

    async def remove(self, creator_id: int, document_id: int) -> int:
        """Delete a document's chunks; how many there were."""
        ...

    async def count(self, creator_id: int) -> int:
        """How many chunks the creator has stored."""
        ...


class UnreadableDocument(Exception):
    """A file that is not text, or that could not be read (a damaged or encrypted PDF)."""


class DocumentReader(Protocol):
    """Extracts the text of a file a creator sent (.txt, .md, .pdf)."""

    def accepts(self, file_name: str, mime_type: str | None) -> str | None:
        """The kind of document (``"txt"``, ``"md"``, ``"pdf"``) or None if not supported."""
        ...

    async def read(self, kind: str, data: bytes) -> str:
        """The document's text; ``UnreadableDocument`` if there is none to be had."""
        ...


__all__ = [
    "ChatMessage",
    "DocumentInfo",
    "DocumentReader",
    "Embedder",
    "KnowledgeChunk",
    "KnowledgeStore",
    "LanguageModel",
    "ModelError",
    "UnreadableDocument",
]
