"""Creators' knowledge: ingestion rate and retrieval latency of the real LanceKnowledgeStore.

The store is opened in a temp folder, as the bot opens it. A generated corpus (pseudo-words with
a Zipf distribution, documents of ~30k characters) is chunked with ``core.knowledge.chunk_text``
and stored document by document with ``store.add``, as an ingest does:

1. **ingestion**: chunks per second (chunking + ``add``; the vectors an embedder would make are
   generated outside the timing), text only and with 384-dim vectors; the time the background
   index upkeep needed afterwards; the event loop's longest stall in the store's calls;
2. **retrieval**: p50/p95 of ``search`` (limit 5) for one creator at 10k and 100k chunks,
   full-text and hybrid, once the store settled; queries are 3 corpus words (the 50 commonest
   left out, as stop words would be), vectors deterministic pseudo-random unit vectors.
   Target: p95 ≤ 50 ms at 100k. Then, for information, the same while 5% more chunks are
   being added (the newest rows are scanned flat until the next index refresh).
3. **first words**: what the bot adds between a fan's ``/ask`` and the first visible words of
   the streamed answer, beyond the model's own time to first token (bench/first_edit.py).
   Target: p95 ≤ 100 ms.

Run: .venv/bin/python bench/knowledge.py [--quick]   (--quick: 1k and 10k chunks, fewer queries)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import lancedb
import numpy as np
from first_edit import first_edit  # section 3, a sibling script

from adapters.knowledge.lance_store import REFRESH_ROWS, LanceKnowledgeStore
from core.knowledge import chunk_text

DIM, LIMIT, TARGET_MS = 384, 5, 50.0
VOCABULARY, COMMON, DOC_WORDS = 20_000, 50, 4_500  # ~30k characters a document


class Corpus:
    """Pseudo-words ("kelavo", "tirum" …) drawn with a Zipf distribution, like real text."""

    def __init__(self, rng: np.random.Generator) -> None:
        syllables = [c + v for c in "bdfghklmnprstvz" for v in "aeiou"]
        self.words = np.array(
            ["".join(rng.choice(syllables, size=rng.integers(2, 4))) for _ in range(VOCABULARY)]
        )
        weights = 1.0 / np.arange(1, VOCABULARY + 1) ** 1.1
        self.weights = weights / weights.sum()
        # Queries leave out the commonest words, as the index drops stop words.
        self.query_weights = self.weights[COMMON:] / self.weights[COMMON:].sum()
        self.rng = rng

    def document(self) -> str:
        words = self.words[self.rng.choice(VOCABULARY, size=DOC_WORDS, p=self.weights)]
        # Sentences of 12 words, paragraphs of 8 sentences: chunk_text has breaks to find.
        sentences = [" ".join(words[i : i + 12]) + "." for i in range(0, len(words), 12)]
        return "\n\n".join(" ".join(sentences[i : i + 8]) for i in range(0, len(sentences), 8))

    def query(self) -> str:
        ranks = self.rng.choice(VOCABULARY - COMMON, size=3, p=self.query_weights)
        return " ".join(self.words[ranks + COMMON])


def unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.standard_normal((n, DIM), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def make_vectors(corpus: Corpus, n: int, wanted: bool) -> list[list[float]] | None:
    """What an embedder would return for ``n`` chunks (None: no embedder)."""
    return unit_vectors(corpus.rng, n).tolist() if wanted else None


class StallWatch:
    """The event loop's longest stall during store calls.

    A task asks to wake every 5 ms and notes how late it is, counting only the waits that began
    and ended within one ``watch.store_call()`` block: the bench's own work between calls (the
    corpus, chunk_text) is not the store's. Background index upkeep is watched through
    ``store.wait_idle()``, when it is all that runs.
    """

    def __init__(self) -> None:
        self.longest = 0.0
        self._calls, self._inside = 0, False
        self._task: asyncio.Task[None] | None = None

    @contextmanager
    def store_call(self) -> Iterator[None]:
        self._calls, self._inside = self._calls + 1, True
        try:
            yield
        finally:
            self._inside = False

    async def _watch(self) -> None:
        while True:
            call, before = self._calls if self._inside else -1, time.perf_counter()
            await asyncio.sleep(0.005)
            if self._inside and self._calls == call:
                self.longest = max(self.longest, time.perf_counter() - before - 0.005)

    def __enter__(self) -> StallWatch:
        self._task = asyncio.create_task(self._watch())
        return self

    def __exit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()


@dataclass
class Ingested:
    chunks: int = 0
    seconds: float = 0.0  # chunking and store.add only
    upkeep: float = 0.0  # waiting for the background index upkeep afterwards
    stall: float = 0.0

    def line(self, label: str) -> str:
        return (
            f"   {label:<17}{self.chunks:>8,} chunks in {self.seconds:5.1f} s: "
            f"{self.chunks / self.seconds:>7,.0f} chunks/s · index upkeep after: "
            f"{self.upkeep:4.1f} s · longest event-loop stall {self.stall * 1000:4.0f} ms"
        )


async def ingest(
    store: LanceKnowledgeStore,
    creator: int,
    corpus: Corpus,
    until: int,
    vectors: bool,
) -> Ingested:
    """Add documents to ``creator`` until they have ``until`` chunks; timed as described."""
    done = Ingested()
    with StallWatch() as watch:
        have = done.chunks = await store.count(creator)
        document_id = have  # more than the documents so far: a new id
        while have < until:
            # The corpus and the vectors are made in a thread (what an embedder would return
            # is not the store's cost); chunk_text runs on the loop, as in an ingest.
            text = await asyncio.to_thread(corpus.document)
            started = time.perf_counter()
            chunks = chunk_text(text)[: until - have]
            done.seconds += time.perf_counter() - started
            embedded = await asyncio.to_thread(make_vectors, corpus, len(chunks), vectors)
            started = time.perf_counter()
            with watch.store_call():
                await store.add(creator, document_id, f"Document {document_id}", chunks, embedded)
            done.seconds += time.perf_counter() - started
            have += len(chunks)
            document_id += 1
        started = time.perf_counter()
        with watch.store_call():
            await store.wait_idle()
        done.upkeep = time.perf_counter() - started
        done.stall = watch.longest
    done.chunks = have - done.chunks
    return done


async def latencies(
    store: LanceKnowledgeStore,
    creator: int,
    corpus: Corpus,
    queries: int,
    hybrid: bool,
    warm_up: int = 20,
) -> list[float]:
    """Milliseconds per search, after ``warm_up`` searches."""
    times = []
    for n in range(queries + warm_up):
        query = corpus.query()
        vector = unit_vectors(corpus.rng, 1)[0].tolist() if hybrid else None
        started = time.perf_counter()
        await store.search(creator, query, LIMIT, vector)
        if n >= warm_up:
            times.append((time.perf_counter() - started) * 1000)
    return times


async def while_ingesting(
    store: LanceKnowledgeStore, creator: int, corpus: Corpus, more: int
) -> dict[str, list[float]]:
    """Search latencies while ``more`` chunks are being added to the same creator."""
    target = await store.count(creator) + more
    adding = asyncio.create_task(ingest(store, creator, corpus, target, vectors=True))
    times: dict[str, list[float]] = {"full-text": [], "hybrid": []}
    while not adding.done():
        for mode, found in times.items():
            found += await latencies(store, creator, corpus, 5, mode == "hybrid", warm_up=0)
    await adding
    return times


def p(times: list[float], q: int) -> float:
    return statistics.quantiles(times, n=100, method="inclusive")[q - 1]


def percentiles(label: str, times: list[float]) -> str:
    return f"      {label:<10} p50 {p(times, 50):6.1f} ms   p95 {p(times, 95):6.1f} ms"


async def ingestion(store: LanceKnowledgeStore, corpus: Corpus, chunks: int) -> None:
    """Section 1: chunks per second, text only (creator 1) and with vectors (creator 2)."""
    print("1. Ingestion (chunk_text + store.add, one document of ~30k chars at a time)")
    print((await ingest(store, 1, corpus, chunks, vectors=False)).line("text only"))
    print((await ingest(store, 2, corpus, chunks, vectors=True)).line(f"{DIM}-dim vectors"))


async def retrieval(
    store: LanceKnowledgeStore, corpus: Corpus, sizes: tuple[int, int], queries: int
) -> bool:
    """Section 2: search latencies as creator 3 grows to each size; True if the target is met."""
    print(f"\n2. Retrieval, one creator, limit {LIMIT}, {queries} queries of 3 words")
    worst: dict[str, float] = {}
    for size in sizes:
        grown = await ingest(store, 3, corpus, size, vectors=True)
        table = await store._table(3)
        assert table is not None
        unindexed = max(i.num_unindexed_rows or 0 for i in await table.list_indices())
        print(
            f"   {size:>7,} chunks (built at {grown.chunks / grown.seconds:,.0f} chunks/s "
            f"+ {grown.upkeep:.1f} s upkeep; {unindexed:,} rows not yet indexed)"
        )
        for mode in ("full-text", "hybrid"):
            times = await latencies(store, 3, corpus, queries, mode == "hybrid")
            worst[mode] = p(times, 95)
            print(percentiles(mode, times))
    more = sizes[-1] // 20
    print(f"   while {more:,} more chunks are being added (≤ {REFRESH_ROWS:,} rows unindexed)")
    for mode, times in (await while_ingesting(store, 3, corpus, more)).items():
        print(percentiles(mode, times))
    met = max(worst.values()) <= TARGET_MS
    print(
        f"\n   Target p95 ≤ {TARGET_MS:.0f} ms at {sizes[-1]:,} chunks (settled): "
        f"{'MET' if met else 'MISSED'} (full-text {worst['full-text']:.1f} ms, "
        f"hybrid {worst['hybrid']:.1f} ms)"
    )
    return met


async def knowledge(args: argparse.Namespace) -> bool:
    """Sections 1 and 2, on one store in a temp folder; True when the targets are met."""
    corpus = Corpus(np.random.default_rng(args.seed))
    with tempfile.TemporaryDirectory(prefix="one-bot-knowledge-") as folder:
        store = await LanceKnowledgeStore.open(Path(folder))
        try:
            await ingestion(store, corpus, 5_000 if args.quick else 20_000)
            sizes = (1_000, 10_000) if args.quick else (10_000, 100_000)
            return await retrieval(store, corpus, sizes, 50 if args.quick else 200)
        finally:
            await store.aclose()


# ---------------------------------------------------------------------------------------------
# The sections, run in order. Each prints its figures and returns whether its targets are met.
SECTIONS: list[Callable[[argparse.Namespace], Awaitable[bool]]] = [knowledge, first_edit]


async def main(args: argparse.Namespace) -> bool:
    print(
        f"one-bot knowledge benchmark\nPython {platform.python_version()} · lancedb "
        f"{lancedb.__version__} · {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs\n"
    )
    results = [await section(args) for section in SECTIONS]
    return all(results)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1k and 10k chunks, not 10k, 100k")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    started = time.perf_counter()
    met = asyncio.run(main(parser.parse_args()))
    print(f"\nTotal runtime {time.perf_counter() - started:.0f} s")
    sys.exit(0 if met else 1)
