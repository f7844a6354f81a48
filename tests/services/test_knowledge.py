"""Knowledge on fakes: text and documents in, listed, removed; offline answers quote it."""

from __future__ import annotations

import pytest

from bot.conversation.context import Services
from core.clones import Answered
from core.errors import (
    DocumentTooLarge,
    DocumentUnreadable,
    DocumentUnsupported,
    InvalidInput,
    KnowledgeNotFound,
    NotACreator,
)
from core.model import EventType
from tests.fakes import FakeStore
from tests.fakes.ai import FakeKnowledgeStore
from tests.services.test_purchases import alice_token, bought
from tests.services_support import ALICE, BOB, register

NOTES = (
    "My weekly planning ritual happens on Sunday evening. I block two deep-work mornings and "
    "leave Friday afternoons for admin.\n\nOn nutrition: I eat oats before training."
)


async def ask(services: Services, question: str) -> Answered:
    async for part in services.clone_chat.ask(BOB, "alice", question):
        if isinstance(part, Answered):
            return part
    raise AssertionError("no answer")


async def test_text_is_chunked_stored_listed_and_counted_on_the_profile(
    services: Services, knowledge_store: FakeKnowledgeStore, store: FakeStore
) -> None:
    await alice_token(services)
    progress: list[tuple[int, int]] = []

    async def seen(done: int, total: int) -> None:
        progress.append((done, total))

    info = await services.knowledge.add_text(ALICE, NOTES * 10, seen)
    assert info.complete
    assert info.source == "text"
    assert info.chunks > 1
    assert progress[0] == (0, info.chunks)
    assert progress[-1] == (info.chunks, info.chunks)
    creator_id_ = creator_id(store)
    assert await knowledge_store.count(creator_id_) == info.chunks
    handle, items = await services.knowledge.list(ALICE)
    assert handle == "alice"
    assert [i.id for i in items] == [info.id]
    profile = await services.creators.profile(BOB, "alice")
    assert profile.creator.content == 1
    kinds = [e.type for e in store.events.values() if e.entity_id == creator_id_]
    assert EventType.KNOWLEDGE_ADDED in kinds


async def test_removing_forgets_the_chunks_and_only_the_owner_can(
    services: Services, knowledge_store: FakeKnowledgeStore, store: FakeStore
) -> None:
    await alice_token(services)
    await register(services, BOB)
    info = await services.knowledge.add_text(ALICE, NOTES)
    for wrong in ("abc", "-1", "#999", "1e3", str(info.id + 1000)):
        with pytest.raises(KnowledgeNotFound):
            await services.knowledge.remove(ALICE, wrong)
    with pytest.raises(KnowledgeNotFound):  # Bob is a creator, but not this item's
        await services.knowledge.remove(BOB, str(info.id))
    removed = await services.knowledge.remove(ALICE, f"#{info.id}")
    assert removed.id == info.id
    assert await knowledge_store.count(creator_id(store)) == 0
    assert (await services.knowledge.list(ALICE))[1] == []
    assert (await services.creators.profile(BOB, "alice")).creator.content == 0


async def test_a_failed_store_leaves_no_item_behind(
    services: Services, knowledge_store: FakeKnowledgeStore
) -> None:
    await alice_token(services)
    knowledge_store.fail_adds = 1
    with pytest.raises(OSError, match="full"):
        await services.knowledge.add_text(ALICE, NOTES)
    assert (await services.knowledge.list(ALICE))[1] == []


async def test_fans_cannot_teach_and_bad_files_are_refused_before_download(
    services: Services,
) -> None:
    await alice_token(services)
    with pytest.raises(NotACreator):
        await services.knowledge.add_text(BOB, NOTES)
    with pytest.raises(NotACreator):
        await services.knowledge.accept_file(BOB, "notes.txt", "text/plain", 10)
    with pytest.raises(DocumentUnsupported):
        await services.knowledge.accept_file(ALICE, "song.mp3", "audio/mpeg", 10)
    with pytest.raises(DocumentTooLarge) as large:
        await services.knowledge.accept_file(ALICE, "big.pdf", "application/pdf", 11 << 20)
    assert large.value.params["limit_mb"] == 10
    with pytest.raises(InvalidInput):
        await services.knowledge.add_text(ALICE, "  \n ")


async def test_documents_are_read_and_unreadable_ones_refused(services: Services) -> None:
    await alice_token(services)
    info = await services.knowledge.add_document(
        ALICE, "plan.md", "text/markdown", ("# Plan\n\n" + NOTES).encode()
    )
    assert info.source == "md"
    assert info.title == "plan.md"
    with pytest.raises(DocumentUnreadable):
        await services.knowledge.add_document(ALICE, "x.txt", "text/plain", b"\x00\xff" * 500)
    with pytest.raises(DocumentUnreadable):
        await services.knowledge.add_document(ALICE, "x.pdf", None, b"%PDF-1.4 broken")
    assert len((await services.knowledge.list(ALICE))[1]) == 1


async def test_offline_answers_quote_the_knowledge_and_say_so(
    services: Services, store: FakeStore
) -> None:
    await alice_token(services)
    await services.knowledge.add_text(ALICE, NOTES)
    await bought(services, 1)
    answered = await ask(services, "What about weekly planning?")
    assert answered.offline
    assert not answered.model_failed
    [(quote, title)] = answered.quotes
    assert quote.startswith("My weekly planning ritual happens on Sunday evening.")
    assert title.startswith("My weekly planning ritual")
    assert answered.rewarded == 10  # offline answers count like any other
    nothing = await ask(services, "Quantum chromodynamics?")
    assert nothing.offline
    assert nothing.quotes == ()


def creator_id(store: FakeStore) -> int:
    return next(
        e.id for e in store.entities.values() if e.type == "creator" and e.handle == "alice"
    )


async def test_an_item_removed_while_it_is_learned_leaves_no_chunks(
    services: Services, knowledge_store: FakeKnowledgeStore, store: FakeStore
) -> None:
    await alice_token(services)
    removed: list[int] = []

    async def remove_it_midway(done: int, total: int) -> None:
        if done == 0 and not removed:
            _, items = await services.knowledge.list(ALICE)
            removed.append((await services.knowledge.remove(ALICE, str(items[0].id))).id)

    with pytest.raises(KnowledgeNotFound):
        await services.knowledge.add_text(ALICE, NOTES, remove_it_midway)
    assert removed
    assert await knowledge_store.count(creator_id(store)) == 0
    assert (await services.knowledge.list(ALICE))[1] == []
