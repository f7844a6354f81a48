"""The LanceDB knowledge store, on a real LanceDB in a temp folder."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from pathlib import Path

import lancedb
import pyarrow as pa  # type: ignore[import-untyped]
import pytest

from adapters.knowledge.lance_store import LanceKnowledgeStore, query_terms

CREATOR, OTHER = 1, 2
RECIPES = [
    "Sourdough needs a lively starter, flour, water and salt; let it rise overnight.",
    "Marathon training: build mileage slowly and run most kilometres at an easy pace.",
    "Stretch your hamstrings after every run, holding each stretch for thirty seconds.",
]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[LanceKnowledgeStore]:
    store = await LanceKnowledgeStore.open(tmp_path / "knowledge")
    yield store
    await store.aclose()


def axis(i: int, dim: int = 8, lean: int | None = None) -> list[float]:
    """A unit vector along axis ``i`` (leaning a little towards axis ``lean``)."""
    vector = [0.0] * dim
    vector[i] = 1.0
    if lean is not None:
        vector[lean] = 0.3
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector]


async def test_search_finds_the_chunk_with_the_words(store: LanceKnowledgeStore) -> None:
    await store.add(CREATOR, 7, "Notes", RECIPES)

    found = await store.search(CREATOR, "How long should sourdough rise?", 3)

    assert [(c.document_id, c.position, c.title) for c in found] == [(7, 0, "Notes")]
    assert found[0].text == RECIPES[0]
    assert found[0].score > 0
    ranked = await store.search(CREATOR, "run run run pace", 3)
    assert [c.position for c in ranked][:1] == [1]
    assert [c.score for c in ranked] == sorted((c.score for c in ranked), reverse=True)
    assert len(await store.search(CREATOR, "run", 1)) == 1


async def test_creators_are_isolated(store: LanceKnowledgeStore) -> None:
    await store.add(CREATOR, 1, "Bread", RECIPES[:1])
    await store.add(OTHER, 1, "Running", RECIPES[1:])

    assert await store.search(OTHER, "sourdough", 5) == []
    assert [c.title for c in await store.search(CREATOR, "sourdough", 5)] == ["Bread"]
    assert await store.search(CREATOR, "marathon", 5) == []
    assert (await store.count(CREATOR), await store.count(OTHER), await store.count(3)) == (
        1,
        2,
        0,
    )
    assert await store.search(3, "sourdough", 5) == []


async def test_adding_a_document_again_replaces_it(store: LanceKnowledgeStore) -> None:
    await store.add(CREATOR, 5, "Old", RECIPES)
    await store.add(CREATOR, 6, "Kept", ["Kept chunk about kayaks."])
    await store.add(CREATOR, 5, "New", ["Only this chunk about croissants now."])

    assert await store.count(CREATOR) == 2
    assert await store.search(CREATOR, "sourdough marathon hamstrings", 5) == []
    assert [(c.title, c.position) for c in await store.search(CREATOR, "croissants", 5)] == [
        ("New", 0)
    ]
    await store.add(CREATOR, 5, "Gone", [])  # no chunks left: the document is gone
    assert await store.count(CREATOR) == 1


async def test_remove_deletes_a_documents_chunks(store: LanceKnowledgeStore) -> None:
    await store.add(CREATOR, 1, "A", RECIPES)
    await store.add(CREATOR, 2, "B", ["Kayaks float."])

    assert await store.remove(CREATOR, 1) == 3
    assert await store.remove(CREATOR, 1) == 0
    assert await store.remove(OTHER, 1) == 0
    assert await store.count(CREATOR) == 1
    assert await store.search(CREATOR, "sourdough", 5) == []


@pytest.mark.parametrize(
    "query",
    [
        '"foo" AND (bar:',
        "*",
        "-",
        "🙂🔥",
        "sourdough " * 500,
        "x" * 5000,
        "title:sourdough OR NOT",
        "sourdough~2^3 [a TO z] {b} \\ / ' ` <> & | ! ?",
        "",
        "   \n\t ",
        "\x00\x01",
    ],
)
async def test_hostile_queries_never_raise(store: LanceKnowledgeStore, query: str) -> None:
    await store.add(CREATOR, 1, "Notes", RECIPES)

    found = await store.search(CREATOR, query, 5)

    assert all(c.document_id == 1 for c in found)
    if "sourdough" in query:
        assert found[0].position == 0


def test_queries_become_plain_lower_case_words() -> None:
    assert query_terms('"Foo" AND (bar: baz*') == "foo and bar baz"
    assert query_terms("🙂 -- ** ::") == ""
    assert query_terms("Café NAÏVE café") == "café naïve"
    assert query_terms("snake_case x" + "y" * 60) == "snake case"
    assert len(query_terms(" ".join(f"w{i}" for i in range(500))).split()) == 32


async def test_hybrid_search_finds_the_closest_meaning_without_shared_words(
    store: LanceKnowledgeStore,
) -> None:
    await store.add(CREATOR, 1, "Notes", RECIPES, [axis(0), axis(1), axis(2)])

    # No word in common with any chunk; the vector is closest to the stretching chunk.
    found = await store.search(CREATOR, "How do I loosen tight legs?", 2, axis(2, lean=1))

    assert [c.position for c in found] == [2, 1]
    assert found[0].score > found[1].score > 0
    # Full-text only without the vector: nothing.
    assert await store.search(CREATOR, "How do I loosen tight legs?", 2) == []


async def test_hybrid_search_fuses_words_and_meaning(store: LanceKnowledgeStore) -> None:
    await store.add(CREATOR, 1, "Notes", RECIPES, [axis(0), axis(1), axis(2)])

    # The words point at the bread chunk, the vector at the marathon one; both are found,
    # and a chunk both rankings like best would come first.
    found = await store.search(CREATOR, "sourdough starter", 3, axis(1))
    assert {c.position for c in found[:2]} == {0, 1}
    both = await store.search(CREATOR, "marathon mileage", 3, axis(1))
    assert both[0].position == 1
    assert both[0].score > both[1].score


async def test_search_sees_rows_right_after_add(store: LanceKnowledgeStore) -> None:
    for n in range(30):
        await store.add(CREATOR, n, f"Doc {n}", [f"entry number{n} about topic{n}"])
        found = await store.search(CREATOR, f"number{n}", 3)
        assert [c.document_id for c in found] == [n]


async def test_indexes_are_built_and_refreshed_in_the_background(tmp_path: Path) -> None:
    dim, docs, per_doc = 16, 40, 16
    store = await LanceKnowledgeStore.open(
        tmp_path / "kb", vector_index_rows=256, refresh_rows=100, quiet=0.05
    )
    try:
        for doc in range(docs):
            chunks = [f"doc{doc} part{p} shared words here" for p in range(per_doc)]
            vectors = [axis((doc + p) % dim, dim, lean=p % dim) for p in range(per_doc)]
            await store.add(CREATOR, doc, f"Doc {doc}", chunks, vectors)
            # Whatever the maintenance is doing meanwhile, the rows are found at once.
            assert (await store.search(CREATOR, f"doc{doc} part3", 1))[0].document_id == doc
        await store.wait_idle()
        table = await store._table(CREATOR)
        assert table is not None
        indexed = {i.columns[0]: i for i in await table.list_indices()}
        assert set(indexed) == {"text", "vector"}
        assert (indexed["text"].num_unindexed_rows or 0) < 100
        # Still right through the indexes, and for rows added after them.
        await store.add(CREATOR, 999, "Late", ["a late zeppelin chunk"], [axis(3, dim)])
        assert (await store.search(CREATOR, "zeppelin", 1))[0].document_id == 999
        hybrid = await store.search(CREATOR, "doc7 part1", 5, axis(8, dim, lean=1))
        assert (7, 1) in {(c.document_id, c.position) for c in hybrid}
        assert await store.count(CREATOR) == docs * per_doc + 1
    finally:
        await store.aclose()


async def test_concurrent_adds_to_one_creator(store: LanceKnowledgeStore) -> None:
    async def ingest(doc: int) -> None:
        await store.add(CREATOR, doc, f"Doc {doc}", [f"doc{doc} chunk{p}" for p in range(5)])

    # The creator's table does not exist yet: the first adds also race to create it.
    await asyncio.gather(*(ingest(doc % 10) for doc in range(30)))

    assert await store.count(CREATOR) == 50
    for doc in range(10):
        assert len(await store.search(CREATOR, f"doc{doc}", 10)) == 5


async def test_vector_dimensions_and_missing_vectors(store: LanceKnowledgeStore) -> None:
    await store.add(CREATOR, 1, "With", RECIPES, [axis(0), axis(1), axis(2)])

    # Another embedding model's vectors: the chunks are kept for word search only.
    await store.add(CREATOR, 9, "Other model", ["Xylophones ring."], [[1.0, 0.0]])
    assert await store.count(CREATOR) == 4
    assert [c.title for c in await store.search(CREATOR, "xylophones", 3)] == ["Other model"]
    await store.remove(CREATOR, 9)
    with pytest.raises(ValueError, match="one per chunk"):
        await store.add(CREATOR, 2, "Short", ["a", "b"], [axis(0)])
    with pytest.raises(ValueError, match="same dimension"):
        await store.add(CREATOR, 2, "Ragged", ["a", "b"], [axis(0), [1.0]])

    # Without vectors the chunks are still stored, found by words only.
    await store.add(CREATOR, 2, "Plain", ["Kayaks float on calm lakes."])
    assert [c.title for c in await store.search(CREATOR, "kayaks", 3, axis(5))][:1] == ["Plain"]
    assert all(c.title == "With" for c in await store.search(CREATOR, "nothing", 3, axis(5)))
    # A query vector of another dimension: full-text only.
    assert [c.position for c in await store.search(CREATOR, "sourdough", 3, [1.0, 0.0])] == [0]

    # A text-only table keeps being text-only: vectors given later are dropped.
    await store.add(OTHER, 1, "Plain", ["Kayaks float."])
    await store.add(OTHER, 2, "With", ["Canoes too."], [axis(0)])
    assert [c.title for c in await store.search(OTHER, "canoes", 3, axis(0))] == ["With"]


async def test_knowledge_survives_a_restart(tmp_path: Path) -> None:
    first = await LanceKnowledgeStore.open(tmp_path / "kb")
    await first.add(CREATOR, 1, "Notes", RECIPES, [axis(0), axis(1), axis(2)])
    await first.aclose()

    again = await LanceKnowledgeStore.open(tmp_path / "kb")
    try:
        assert await again.count(CREATOR) == 3
        assert (await again.search(CREATOR, "sourdough", 1))[0].position == 0
        assert (await again.search(CREATOR, "legs", 1, axis(2)))[0].position == 2
        await again.add(CREATOR, 2, "Other", ["x"], [[1.0]])  # kept, for words only
        assert await again.count(CREATOR) == 4
        # The rows the first store left unindexed (it closed before its refresh) are indexed.
        await again.wait_idle()
        table = await again._table(CREATOR)
        assert table is not None
        assert [i.num_unindexed_rows for i in await table.list_indices()] == [0]
    finally:
        await again.aclose()


async def test_limits(store: LanceKnowledgeStore) -> None:
    await store.add(CREATOR, 1, "Notes", RECIPES)
    assert await store.search(CREATOR, "run", 0) == []
    assert len(await store.search(CREATOR, "run sourdough hamstrings", 2)) == 2


async def test_a_table_left_without_its_index_gets_one(tmp_path: Path) -> None:
    # As a crash between creating a creator's table and its FTS index would leave it.
    db = await lancedb.connect_async(str(tmp_path / "kb"))
    rows = {"document_id": [1], "position": [0], "title": ["Notes"], "text": [RECIPES[0]]}
    schema = pa.schema(
        [
            ("document_id", pa.int64()),
            ("position", pa.int32()),
            ("title", pa.string()),
            ("text", pa.string()),
        ]
    )
    await db.create_table(f"creator_{CREATOR}", pa.table(rows, schema=schema))
    db.close()  # type: ignore[no-untyped-call]

    store = await LanceKnowledgeStore.open(tmp_path / "kb")
    try:
        # Opening it starts a refresh that makes the index; without one LanceDB's flat search
        # would not even fold case ("sourdough" ≠ "Sourdough").
        assert await store.count(CREATOR) == 1
        await store.wait_idle()
        assert (await store.search(CREATOR, "sourdough", 1))[0].document_id == 1
        table = await store._table(CREATOR)
        assert table is not None
        assert [i.columns for i in await table.list_indices()] == [["text"]]
    finally:
        await store.aclose()
