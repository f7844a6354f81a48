"""/knowledge add|list|remove, and documents sent to the bot: what a creator's clone knows."""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from bot.conversation.context import Command, Context, UsageError
from bot.conversation.messages import MessageRef, Reply
from bot.conversation.router import error_text
from bot.conversation.streaming import Progress
from bot.conversation.texts import plural, t
from core.errors import DomainError, NotACreator
from core.knowledge import DocumentInfo

log = logging.getLogger(__name__)


def _size(characters: int) -> str:
    return t("knowledge.characters", count=characters)


def _added(info: DocumentInfo) -> Reply:
    chunks = plural("chunks", info.chunks)
    return Reply(t("knowledge.added", id=info.id, title=info.title, chunks=chunks))


async def knowledge(ctx: Context) -> Reply | MessageRef:
    action, _, rest = ctx.args.strip().partition(" ")
    action = action.split("\n", 1)[0].lower()
    rest = ctx.args.strip()[len(action) :].strip()
    service = ctx.services.knowledge
    if action in ("", "list"):
        handle, items = await service.list(ctx.who)
        if not items:
            return Reply(t("knowledge.none"))
        lines = [t("knowledge.title", handle=handle)]
        for item in items:
            if not item.complete:
                lines.append(t("knowledge.line_incomplete", id=item.id, title=item.title))
                continue
            source = t("knowledge.source_text") if item.source == "text" else item.source
            lines.append(
                t(
                    "knowledge.line",
                    id=item.id,
                    title=item.title,
                    chunks=plural("chunks", item.chunks),
                    size=_size(item.characters),
                    source=source,
                )
            )
        return Reply("\n".join(lines))
    if action == "add" and rest:
        progress = Progress(ctx.responder, "knowledge.progress", name=rest.split("\n")[0][:40])
        return await _learning(ctx, progress, service.add_text(ctx.who, rest, progress))
    if action == "remove" and rest:
        if not rest.isdigit():
            raise UsageError()
        info = await service.remove(ctx.who, rest)
        return Reply(t("knowledge.removed", id=info.id, title=info.title))
    raise UsageError()


async def _learning(
    ctx: Context, progress: Progress, work: Awaitable[DocumentInfo]
) -> Reply | MessageRef:
    # The outcome replaces the progress message, whether it is success or a refusal.
    try:
        info = await work
    except DomainError as error:
        return await progress.finish(Reply(t("error.prefix", message=error_text(error))))
    except Exception:
        incoming = ctx.incoming
        log.exception("learning failed (platform=%s user=%s)", incoming.platform, incoming.user_id)
        return await progress.finish(Reply(t("apology")))
    return await progress.finish(_added(info))


async def document(ctx: Context) -> Reply | MessageRef:
    """A file sent to the bot: the creator's clone learns it."""
    attachment = ctx.incoming.attachment
    assert attachment is not None
    service = ctx.services.knowledge
    try:
        await service.accept_file(
            ctx.who, attachment.file_name, attachment.mime_type, attachment.size
        )
    except NotACreator:
        return Reply(t("attachment_unused"))  # a fan's photo is not a mistake to scold
    progress = Progress(ctx.responder, "knowledge.progress", name=attachment.file_name[:40])
    await progress.start(t("knowledge.reading", name=attachment.file_name[:80]))

    async def read_and_learn() -> DocumentInfo:
        data = await ctx.responder.download(attachment)
        return await service.add_document(
            ctx.who, attachment.file_name, attachment.mime_type, data, progress
        )

    return await _learning(ctx, progress, read_and_learn())


COMMANDS = (Command("knowledge", knowledge, audience="creator"),)
# A file sent to the bot goes here.
FILE = Command("document", document, audience="creator")
