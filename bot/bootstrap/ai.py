"""Composition of the AI clones: the knowledge store, the document reader, the model."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass

from bot.settings import Settings, knowledge_path
from core.ports import DocumentReader, Embedder, KnowledgeStore, LanguageModel


@dataclass(frozen=True, slots=True)
class Ai:
    """What the clones run on: where knowledge is kept and read from, and the model (None:
    answers quote the knowledge)."""

    store: KnowledgeStore
    reader: DocumentReader
    model: LanguageModel | None
    embedder: Embedder | None


async def open_ai(
    settings: Settings,
    stack: AsyncExitStack,
    *,
    store: KnowledgeStore | None = None,
    model: LanguageModel | None = None,
    embedder: Embedder | None = None,
) -> Ai:
    """The configured knowledge store and model; tests pass their own (fakes or local ones).

    No model configured: None, and the clones answer offline from the knowledge.
    """
    # Imported here: LanceDB, Arrow, pypdf and the OpenAI SDK take a while to import, which
    # commands that never answer a fan (one-bot reconcile, resume) need not pay.
    from adapters.knowledge.documents import FileDocumentReader
    from adapters.llm.openai_compatible import OpenAICompatibleEmbedder, OpenAICompatibleModel

    llm = settings.llm
    key = llm.api_key.get_secret_value() if llm.api_key else "none"  # Ollama needs none
    if store is None:
        from adapters.knowledge.lance_store import LanceKnowledgeStore

        lance = await LanceKnowledgeStore.open(knowledge_path(settings))
        stack.push_async_callback(lance.aclose)
        store = lance
    if model is None and llm.model and llm.base_url:
        chat = OpenAICompatibleModel(
            base_url=llm.base_url,
            api_key=key,
            model=llm.model,
            timeout=llm.timeout,
            max_retries=llm.max_retries,
            max_tokens=llm.max_tokens,
        )
        stack.push_async_callback(chat.aclose)
        model = chat
    if embedder is None and llm.embedding_model and llm.base_url:
        vectors = OpenAICompatibleEmbedder(
            base_url=llm.base_url,
            api_key=key,
            model=llm.embedding_model,
            timeout=llm.timeout,
            max_retries=llm.max_retries,
        )
        stack.push_async_callback(vectors.aclose)
        embedder = vectors
    return Ai(store, FileDocumentReader(), model, embedder)
