"""A creator's knowledge: text and documents chunked into the knowledge store, listed, removed.

Each document is a ``content`` entity the creator ``authored`` (it counts on their profile);
its chunks live in the knowledge store under the entity's id. The entity is written first and
marked complete only once every chunk is stored, so a crash mid-way leaves an item the creator
sees as incomplete and can remove, never chunks nobody can reach.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.ai_ports import (
    DocumentReader,
    Embedder,
    KnowledgeStore,
    ModelError,
    UnreadableDocument,
)
from core.errors import (
    DocumentTooLarge,
    DocumentUnreadable,
    DocumentUnsupported,
    InvalidInput,
    KnowledgeNotFound,
    Reason,
)
from core.knowledge import CHUNK_CHARS, OVERLAP_CHARS, DocumentInfo, chunk_text, normalise
from core.model import Counter, Entity, EntityType, EventType, Relation, UserRef
from core.ports import Clock, UnitOfWork, UnitOfWorkFactory
from core.services.event_log import log_event
from core.services.identities import owned_creator, resolve_user
from core.validation import clean_text

log = logging.getLogger(__name__)

Progress = Callable[[int, int], Awaitable[None]]  # (chunks stored, chunks in all)
TITLE_MAX = 80
LIST_MAX = 50
EMBED_BATCH = 64


@dataclass(frozen=True, slots=True)
class KnowledgeLimits:
    max_file_bytes: int = 10 * 1024 * 1024
    max_characters: int = 2_000_000  # about a 1,000-page book
    chunk_characters: int = CHUNK_CHARS
    overlap_characters: int = OVERLAP_CHARS


def _info(entity: Entity) -> DocumentInfo:
    props = entity.properties
    return DocumentInfo(
        id=entity.id,
        title=entity.name,
        chunks=int(props.get("chunks", 0)),
        characters=int(props.get("characters", 0)),
        source=str(props.get("source", "text")),
        created_at=entity.created_at,
        complete=bool(props.get("complete", False)),
    )


async def _no_progress(done: int, total: int) -> None:
    return None


class KnowledgeService:
    """What a creator teaches their clone."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        store: KnowledgeStore,
        reader: DocumentReader,
        embedder: Embedder | None,
        limits: KnowledgeLimits = KnowledgeLimits(),
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._store = store
        self._reader = reader
        self._embedder = embedder
        self._limits = limits

    @property
    def limits(self) -> KnowledgeLimits:
        """File size, text length and chunking limits this service applies."""
        return self._limits

    async def accept_file(
        self, who: UserRef, file_name: str, mime_type: str | None, size: int
    ) -> str:
        """The kind of a file ``who`` sent, checked before it is downloaded: NotACreator,
        DocumentUnsupported or DocumentTooLarge if it cannot become knowledge."""
        async with self._uow() as uow:
            await owned_creator(uow, await resolve_user(uow, self._clock, who))
            await uow.commit()
        return self._check_file(file_name, mime_type, size)

    def _check_file(self, file_name: str, mime_type: str | None, size: int) -> str:
        name = _title(file_name)
        kind = self._reader.accepts(file_name, mime_type)
        if kind is None:
            raise DocumentUnsupported(name=name)
        if size > self._limits.max_file_bytes:
            limit_mb = self._limits.max_file_bytes // (1024 * 1024)
            raise DocumentTooLarge(name=name, limit_mb=limit_mb)
        return kind

    async def add_text(
        self, who: UserRef, text: str, progress: Progress = _no_progress
    ) -> DocumentInfo:
        """Teach the clone a piece of text typed in the chat; its first words are its title."""
        text = normalise(text)
        if not text:
            raise InvalidInput(Reason.TEXT_REQUIRED)
        title = " ".join(text.split()[:8]).rstrip(".,;:!?-–—")
        return await self._add(who, _title(title), text, "text", progress)

    async def add_document(
        self,
        who: UserRef,
        file_name: str,
        mime_type: str | None,
        data: bytes,
        progress: Progress = _no_progress,
    ) -> DocumentInfo:
        """Teach the clone a file (.txt, .md, .pdf); DocumentRefused subclasses if unusable."""
        kind = await self.accept_file(who, file_name, mime_type, len(data))
        try:
            raw = await self._reader.read(kind, data)
            # Megabytes of text: tidied off the event loop.
            text = await asyncio.to_thread(normalise, raw) if len(raw) > 50_000 else normalise(raw)
        except UnreadableDocument:
            raise DocumentUnreadable(name=_title(file_name)) from None
        if not text:
            raise DocumentUnreadable(name=_title(file_name))
        return await self._add(who, _title(file_name), text, kind, progress)

    async def _add(
        self, who: UserRef, title: str, text: str, source: str, progress: Progress
    ) -> DocumentInfo:
        if len(text) > self._limits.max_characters:
            raise InvalidInput(
                Reason.TOO_LONG,
                field="document",
                length=len(text),
                limit=self._limits.max_characters,
            )
        size, overlap = self._limits.chunk_characters, self._limits.overlap_characters
        # About 0.3 ms per 1,000 characters: a book would hold the event loop for a second.
        if len(text) > 50_000:
            chunks = await asyncio.to_thread(chunk_text, text, size, overlap)
        else:
            chunks = chunk_text(text, size, overlap)
        properties = {
            "kind": "knowledge",
            "source": source,
            "characters": len(text),
            "chunks": len(chunks),
            "complete": False,
        }
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            creator = await owned_creator(uow, user_id)
            now = self._clock.now()
            document_id = await uow.entities.add(EntityType.CONTENT, title, None, properties, now)
            assert document_id is not None  # content has no handle to collide on
            await uow.connections.add(creator.id, document_id, Relation.AUTHORED, {}, now)
            await uow.commit()
        try:
            await progress(0, len(chunks))
            vectors = await self._embed(chunks, progress)
            await self._store.add(creator.id, document_id, title, chunks, vectors)
            await progress(len(chunks), len(chunks))
        except BaseException:
            await self._forget(creator.id, document_id)
            raise
        async with self._uow() as uow:
            entity = await uow.entities.get(document_id)
            if entity is None:  # removed (from another chat) while it was being learned
                await uow.commit()
                await self._store.remove(creator.id, document_id)
                raise KnowledgeNotFound(document_id=document_id)
            now = self._clock.now()
            await uow.entities.update(document_id, {**entity.properties, "complete": True}, now)
            await uow.counters.add(creator.id, Counter.CONTENT, 1)
            await log_event(
                uow,
                self._clock,
                creator.id,
                EventType.KNOWLEDGE_ADDED,
                actor_id=user_id,
                metadata={"document_id": document_id, "title": title, "chunks": len(chunks)},
            )
            info = _info((await uow.entities.get(document_id)) or entity)
            await uow.commit()
        return info

    async def _embed(self, chunks: list[str], progress: Progress) -> list[list[float]] | None:
        if self._embedder is None:
            return None
        vectors: list[list[float]] = []
        for start in range(0, len(chunks), EMBED_BATCH):
            try:
                vectors += await self._embedder.embed(chunks[start : start + EMBED_BATCH])
            except ModelError:
                # Knowledge found by its words is better than none: the creator keeps it.
                log.warning("embedding failed: storing this document for word search only")
                return None
            # Embedding is the slow part; storing is quick, so it shows as the last step.
            await progress(min(start + EMBED_BATCH, len(chunks)) * 9 // 10, len(chunks))
        return vectors

    async def _forget(self, creator_id: int, document_id: int) -> None:
        # Undo a failed ingest; if this fails too, the item stays listed as incomplete.
        try:
            await self._store.remove(creator_id, document_id)
            async with self._uow() as uow:
                await uow.entities.delete(document_id)
                await uow.commit()
        except Exception:
            log.exception("could not clean up knowledge item %d", document_id)

    async def list(self, who: UserRef) -> tuple[str, list[DocumentInfo]]:
        """The creator's handle and their newest knowledge items (at most 50)."""
        async with self._uow() as uow:
            creator = await owned_creator(uow, await resolve_user(uow, self._clock, who))
            ids = await uow.connections.targets(creator.id, Relation.AUTHORED, LIST_MAX)
            entities = await uow.entities.get_many(ids)
            await uow.commit()
        return creator.handle or "", [_info(entities[i]) for i in ids if i in entities]

    async def remove(self, who: UserRef, document_id: str) -> DocumentInfo:
        """Forget one knowledge item and its chunks; KnowledgeNotFound if not the creator's."""
        text = document_id.strip().removeprefix("#")
        if not (text.isascii() and text.isdigit() and len(text) <= 18):
            raise KnowledgeNotFound(document_id=document_id.strip()[:20])
        doc_id = int(text)
        async with self._uow() as uow:
            user_id = await resolve_user(uow, self._clock, who)
            creator = await owned_creator(uow, user_id)
            entity = await self._owned(uow, creator.id, doc_id)
            await uow.commit()
        # Chunks first: if the database step then fails, the item is still listed and a
        # second /knowledge remove finishes the job.
        await self._store.remove(creator.id, doc_id)
        async with self._uow() as uow:
            entity = await self._owned(uow, creator.id, doc_id)
            if _info(entity).complete:
                await uow.counters.add(creator.id, Counter.CONTENT, -1)
            await uow.entities.delete(doc_id)
            await log_event(
                uow,
                self._clock,
                creator.id,
                EventType.KNOWLEDGE_REMOVED,
                actor_id=user_id,
                metadata={"document_id": doc_id, "title": entity.name},
            )
            await uow.commit()
        return _info(entity)

    async def _owned(self, uow: UnitOfWork, creator_id: int, doc_id: int) -> Entity:
        if not await uow.connections.exists(creator_id, doc_id, Relation.AUTHORED):
            raise KnowledgeNotFound(document_id=doc_id)
        entity = await uow.entities.get(doc_id)
        if entity is None:
            raise KnowledgeNotFound(document_id=doc_id)
        return entity


def _title(text: str) -> str:
    try:
        title = clean_text(text, "title", 10_000)
    except InvalidInput:
        title = "".join(ch for ch in text if ch.isprintable())
    return (title[: TITLE_MAX - 1] + "…") if len(title) > TITLE_MAX else (title or "…")
