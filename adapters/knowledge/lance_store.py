"""Creators' knowledge in LanceDB (embedded, no network): a ``KnowledgeStore``.

One table per creator (``creator_<id>``): document_id, position, title, text and, if the
creator's first ``add`` brings vectors, a ``vector`` column of their dimension. That first add
decides for good: vectors later given to a table without the column are dropped (a warning is
logged; the chunks are found by words); chunks added without vectors to a table with the column
get a null vector (found by words only); vectors of another dimension raise ``ValueError``
(another embedding model: mixing spaces would rank nonsense). A *query* vector of another
dimension is ignored, so a fan's question never fails on it: the search is full-text only.

Search is BM25 over a native FTS index on ``text``; with a query vector and a vector column,
hybrid: full-text and vector searches run at once and are fused by reciprocal rank.

Indexes: the FTS index is made with the table. Rows added later are not in it until a refresh,
but LanceDB scans unindexed rows flat, so a search sees them as soon as ``add`` returns. That
scan tokenises each unindexed chunk for each query (~1 ms per 50 chunks), while a refresh
(``optimize``: compaction, new rows folded into the indexes) costs ~0.5-1 s at 100k chunks
whatever it adds. So a background task refreshes once a creator's writes pause for ``quiet``
seconds, or at once when ``refresh_rows`` rows wait: a settled table is fully indexed, and a
bulk ingest pays one refresh per ``refresh_rows`` rows, not one per document. The vector index
(IVF_SQ, cosine) is built once a table has ``vector_index_rows`` rows, and rebuilt when it has
doubled since (so the partitions fit the data) or when refreshes stacked up over ``MAX_DELTAS``
delta parts. All of it runs in LanceDB's threads (awaited: the event loop never waits) under
the creator's write lock, which serialises every write to a table. One process writes.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import lancedb
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
from lancedb.index import FTS, IvfSq
from lancedb.table import AsyncTable

from core.knowledge import KnowledgeChunk

log = logging.getLogger(__name__)

COLUMNS = ["document_id", "position", "title", "text"]
VECTOR_INDEX_ROWS = 10_000  # below this, a flat scan of all vectors takes < ~10 ms
REFRESH_ROWS = 1_000  # most unindexed rows a search scans flat (~20 ms) during a bulk ingest
QUIET_SECONDS = 1.0  # a pause in a creator's writes long enough to refresh the indexes
MAX_DELTAS = 8  # at ~40 delta parts, vector search is twice as slow
RRF_K = 60  # the usual reciprocal rank fusion constant: 1 / (60 + rank)
REFINE_FACTOR = 5  # re-rank 5×limit IVF_SQ candidates on the exact vectors (recall ~1.0)
MAX_TERMS = 32  # a pasted essay must not become a 1000-term query
MAX_TERM_CHARS = 40  # the FTS index drops longer tokens anyway
MAX_QUERY_CHARS = 4_000
KEEP_VERSIONS = timedelta(hours=1)  # old table versions a running search may still read
_TERMS = re.compile(r"[^\W_]+")  # runs of letters/digits in any script, as the index splits


def query_terms(query: str) -> str:
    """The plain words of a user's query, lower-cased and space-separated ("" if none).

    Everything else (quotes, colons, brackets, operators, emoji) is dropped, so no input can
    ever be read as query syntax; AND/OR/NOT become the ordinary words and/or/not.
    """
    words = (w.lower() for w in _TERMS.findall(query[:MAX_QUERY_CHARS]))
    unique = dict.fromkeys(w for w in words if len(w) <= MAX_TERM_CHARS)
    return " ".join(list(unique)[:MAX_TERMS])


CONSISTENCY = timedelta(seconds=2)


class LanceKnowledgeStore:
    """Each creator's chunks in their own LanceDB table; see the module docstring."""

    def __init__(
        self, db: lancedb.AsyncConnection, vector_index_rows: int, refresh_rows: int, quiet: float
    ) -> None:
        self._db = db
        self._vector_index_rows = vector_index_rows
        self._refresh_rows = refresh_rows
        self._quiet = quiet
        self._written: dict[int, float] = {}  # loop time of each creator's last add
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tables: dict[int, AsyncTable] = {}
        self._dims: dict[int, int | None] = {}  # the vector column's dimension, None: no column
        self._pending: defaultdict[int, int] = defaultdict(int)  # rows added since a refresh
        self._trained: dict[int, int] = {}  # rows the vector index was trained on
        self._tasks: dict[int, asyncio.Task[None]] = {}

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        vector_index_rows: int = VECTOR_INDEX_ROWS,
        refresh_rows: int = REFRESH_ROWS,
        quiet: float = QUIET_SECONDS,
    ) -> LanceKnowledgeStore:
        """The store kept in the folder ``path`` (created if missing); see the module doc."""
        await asyncio.to_thread(path.mkdir, parents=True, exist_ok=True)
        # Several bot processes (on PostgreSQL) share this folder: each sees what another
        # added or removed within a couple of seconds, at the cost of a version check per read.
        db = await lancedb.connect_async(str(path), read_consistency_interval=CONSISTENCY)
        return cls(db, vector_index_rows, refresh_rows, quiet)

    async def aclose(self) -> None:
        """Stop index maintenance (an unfinished refresh is simply not committed); close."""
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._db.close()  # type: ignore[no-untyped-call]

    async def wait_idle(self) -> None:
        """Wait until no index maintenance is running (for tests and benchmarks)."""
        while tasks := [t for t in self._tasks.values() if not t.done()]:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def add(
        self,
        creator_id: int,
        document_id: int,
        title: str,
        chunks: Sequence[str],
        vectors: Sequence[Sequence[float]] | None = None,
    ) -> None:
        """Store a document's chunks, replacing those stored before under its id.

        ``ValueError`` if there is not one vector per chunk. Vectors of another dimension than
        the creator's table (the embedding model changed) are dropped with a warning: the
        chunks are still found by their words.
        """
        matrix = await asyncio.to_thread(_matrix, vectors, len(chunks))
        async with self._locks[creator_id]:
            table = await self._table(creator_id)
            dim = matrix.shape[1] if matrix is not None else None
            if table is not None and dim is not None and dim != self._dims[creator_id]:
                log.warning(
                    "creator %s's knowledge has %s vectors, not %d-dimensional ones: "
                    "storing these chunks for word search only",
                    creator_id,
                    self._dims[creator_id] or "no",
                    dim,
                )
                matrix = None
            if table is not None:
                # Delete first: a retried ingest must never leave two copies.
                await table.delete(f"document_id = {int(document_id)}")
            if not chunks:
                return
            if table is None:
                table = await self._create(creator_id, dim)
            await table.add(_rows(self._dims[creator_id], document_id, title, chunks, matrix))
            self._pending[creator_id] += len(chunks)
            self._written[creator_id] = asyncio.get_running_loop().time()
        self._schedule(creator_id)

    async def search(
        self,
        creator_id: int,
        query: str,
        limit: int,
        vector: Sequence[float] | None = None,
    ) -> list[KnowledgeChunk]:
        """The best ``limit`` chunks for ``query``, best first; hybrid when given ``vector``.

        [] for a query without words, a creator without knowledge or ``limit`` < 1. The score
        is BM25 for full-text results and the reciprocal-rank-fusion sum for hybrid ones.
        """
        terms = query_terms(query)
        table = await self._table(creator_id) if terms and limit > 0 else None
        if table is None:
            return []
        dim = self._dims[creator_id]
        hybrid = vector is not None and dim is not None and len(vector) == dim
        depth = max(2 * limit, 20) if hybrid else limit  # candidates each side brings to fusion
        by_words = (
            table.query()
            .nearest_to_text(terms, columns="text")  # plain words: no syntax
            .select([*COLUMNS, "_score"])
            .limit(depth)
            .to_list()
        )
        if not hybrid:
            return [_chunk(row, row["_score"]) for row in await by_words]
        by_meaning = (
            table.query()
            .nearest_to(np.asarray(vector, dtype=np.float32))
            .column("vector")
            .distance_type("cosine")
            .refine_factor(REFINE_FACTOR)
            .select([*COLUMNS, "_distance"])
            .limit(depth)
            .to_list()
        )
        return _fuse(limit, *await asyncio.gather(by_words, by_meaning))

    async def remove(self, creator_id: int, document_id: int) -> int:
        """Delete a document's chunks; how many there were (0 for an unknown one)."""
        async with self._locks[creator_id]:
            table = await self._table(creator_id)
            if table is None:
                return 0
            where = f"document_id = {int(document_id)}"
            removed = await table.count_rows(where)
            if removed:
                await table.delete(where)
            return removed

    async def count(self, creator_id: int) -> int:
        """How many chunks the creator has stored."""
        table = await self._table(creator_id)
        return 0 if table is None else await table.count_rows()

    async def _table(self, creator_id: int) -> AsyncTable | None:
        if (table := self._tables.get(creator_id)) is not None:
            return table
        try:
            table = await self._db.open_table(f"creator_{creator_id}")
        except ValueError:  # "Table … was not found": no knowledge yet
            return None
        schema = await table.schema()
        vector = schema.field("vector").type if "vector" in schema.names else None
        self._dims[creator_id] = vector.list_size if vector is not None else None
        # Rows an earlier run left unindexed are refreshed now.
        fts = next((i for i in await table.list_indices() if i.columns == ["text"]), None)
        self._pending[creator_id] = (fts.num_unindexed_rows or 0) if fts else 1
        table = self._tables.setdefault(creator_id, table)
        self._schedule(creator_id)
        return table

    async def _create(self, creator_id: int, dim: int | None) -> AsyncTable:
        table = await self._db.create_table(f"creator_{creator_id}", schema=_schema(dim))
        # The index made on the empty table covers nothing yet; it makes every search a
        # BM25 search, and the first refresh fills it.
        await table.create_index("text", config=FTS())
        self._dims[creator_id] = dim
        self._pending[creator_id] = 0
        return self._tables.setdefault(creator_id, table)

    def _schedule(self, creator_id: int) -> None:
        running = self._tasks.get(creator_id)
        if self._pending[creator_id] and (running is None or running.done()):
            self._tasks[creator_id] = asyncio.create_task(self._maintain(creator_id))

    async def _maintain(self, creator_id: int) -> None:
        """Refresh the indexes once the writes pause or the backlog is long; see module doc."""
        loop = asyncio.get_running_loop()
        try:
            while self._pending[creator_id]:
                wait = self._written.get(creator_id, 0.0) + self._quiet - loop.time()
                if wait > 0 and self._pending[creator_id] < self._refresh_rows:
                    await asyncio.sleep(wait)
                    continue
                async with self._locks[creator_id]:
                    await self._refresh(creator_id, self._tables[creator_id])
                    self._pending[creator_id] = 0  # not before: a failed refresh is retried
        except Exception:
            # The data is safe and still searchable (flat); the next add tries again.
            log.exception("refreshing creator %s's knowledge indexes failed", creator_id)

    async def _refresh(self, creator_id: int, table: AsyncTable) -> None:
        indices = {i.columns[0]: i for i in await table.list_indices()}
        if "text" not in indices:  # a crash came between creating the table and its index
            await table.create_index("text", config=FTS())
        await table.optimize(cleanup_older_than=KEEP_VERSIONS)
        if self._dims[creator_id] is None:
            return
        ann = indices.get("vector")
        rows = await table.count_rows()
        # An index from an earlier run: its training size is unknown; the deltas will tell.
        trained = self._trained.get(creator_id, rows)
        if ann is None:
            # Counting the null vectors scans the column (~0.2 s at 100k): only when it matters.
            due = rows >= self._vector_index_rows and (
                await table.count_rows("vector IS NOT NULL") >= self._vector_index_rows
            )
        else:
            due = rows >= 2 * trained or (ann.num_segments or 1) > MAX_DELTAS
        if not due:
            return
        # IVF_SQ: built in ~4 s at 100k × 384 (IVF_PQ: ~27 s, recall far worse), ~5 ms a query.
        ivf_sq = IvfSq(distance_type="cosine")
        await table.create_index("vector", config=ivf_sq, replace=True)  # type: ignore[arg-type]
        self._trained[creator_id] = rows


def _schema(dim: int | None) -> pa.Schema:
    types = [pa.int64(), pa.int32(), pa.string(), pa.string()]
    fields = [
        pa.field(name, kind, nullable=False) for name, kind in zip(COLUMNS, types, strict=True)
    ]
    vector = [pa.field("vector", pa.list_(pa.float32(), dim))] if dim is not None else []
    return pa.schema(fields + vector)


Matrix = np.ndarray[Any, np.dtype[np.float32]]


def _rows(
    dim: int | None, document_id: int, title: str, chunks: Sequence[str], matrix: Matrix | None
) -> pa.Table:
    n = len(chunks)
    columns = [[document_id] * n, range(n), [title] * n, list(chunks)]
    if dim is not None:  # the table's dimension: no matrix when the vectors are not stored
        columns.append(
            pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1)), dim)
            if matrix is not None
            else pa.nulls(n, pa.list_(pa.float32(), dim))
        )
    return pa.Table.from_arrays(columns, schema=_schema(dim))


def _matrix(vectors: Sequence[Sequence[float]] | None, n: int) -> Matrix | None:
    if vectors is not None and len(vectors) != n:
        raise ValueError(f"{len(vectors)} vectors for {n} chunks: one per chunk is needed")
    if not vectors:
        return None
    try:
        matrix = np.asarray(vectors, dtype=np.float32)
    except ValueError as error:  # ragged: not all of one dimension
        raise ValueError("the vectors must all have the same dimension") from error
    if matrix.ndim != 2 or matrix.shape[1] == 0:
        raise ValueError("each vector must be a non-empty list of numbers")
    return matrix


def _chunk(row: dict[str, Any], score: float) -> KnowledgeChunk:
    return KnowledgeChunk(row["document_id"], row["position"], row["title"], row["text"], score)


def _fuse(limit: int, *rankings: list[dict[str, Any]]) -> list[KnowledgeChunk]:
    """Reciprocal rank fusion: a chunk scores Σ 1/(RRF_K + rank) over the rankings it is in."""
    scores: dict[tuple[int, int], float] = {}
    rows: dict[tuple[int, int], dict[str, Any]] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking, start=1):
            key = (row["document_id"], row["position"])
            scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_K + rank)
            rows.setdefault(key, row)
    best = sorted(scores, key=scores.__getitem__, reverse=True)[:limit]
    return [_chunk(rows[key], scores[key]) for key in best]
