"""/broadcast TEXT: a creator's message to all followers, its progress shown in one message.

The messages go through the outbox (``core/services/broadcasts.py``); this command queues
them and answers "📣 Sending to N followers…". A task of its own then edits that answer as the
sender gets through them, until all are settled or ``WATCH_FOR`` seconds have passed (the rest
still go out): the creator's chat is free meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time

from bot.conversation.context import Command, Context
from bot.conversation.messages import MessageRef, Reply
from bot.conversation.texts import followers, t
from core.services.broadcasts import BroadcastProgress, BroadcastStarted

log = logging.getLogger(__name__)

POLL_EVERY = 1.5  # seconds between progress reads (at least the platform's edit interval)
WATCH_FOR = 600.0  # seconds the progress message is kept up to date


def _frame(name: str, handle: str, text: str) -> str:
    return t("broadcast.message", name=name, handle=handle, text=text)


async def broadcast(ctx: Context) -> Reply | MessageRef:
    text = ctx.require_args()
    started = await ctx.services.broadcasts.start(ctx.who, text, _frame)
    if started.total == 0:
        if started.opted_out:
            return Reply(t("broadcast.all_opted_out", followers=followers(started.opted_out)))
        return Reply(t("broadcast.no_followers", handle=started.handle))
    ref = await ctx.responder.send(
        Reply(t("broadcast.sending", followers=followers(started.total)))
    )
    ctx.spawn(_watch(ctx, started, ref), f"broadcast {started.batch} progress")
    return ref


async def _watch(ctx: Context, started: BroadcastStarted, ref: MessageRef) -> MessageRef:
    every = max(POLL_EVERY, ctx.responder.stream_every)
    until = time.monotonic() + WATCH_FOR
    progress: BroadcastProgress | None = None
    shown = ""
    while time.monotonic() < until:
        await asyncio.sleep(every)
        try:
            progress = await ctx.services.broadcasts.progress(ctx.who, started.batch)
        except Exception:
            log.warning("reading the progress of broadcast %s failed", started.batch, exc_info=True)
            continue
        if not progress.pending:
            break
        line = t("broadcast.progress", sent=progress.sent, total=started.total)
        if line != shown:
            try:
                await ctx.responder.edit(ref, Reply(line))
                shown = line
            except Exception:
                # A missed progress edit only delays the count: the final edit shows it.
                log.warning("broadcast progress edit failed", exc_info=True)
    return await _show_outcome(ctx, ref, _outcome(started, progress))


def _outcome(started: BroadcastStarted, progress: BroadcastProgress | None) -> Reply:
    if progress is None or progress.pending:
        sent = progress.sent if progress is not None else 0
        return Reply(t("broadcast.still_sending", sent=sent, total=started.total))
    return Reply(
        t(
            "broadcast.done",
            sent=progress.sent,
            total=started.total,
            unreachable=progress.unreachable,
            failed=progress.failed,
        )
    )


async def _show_outcome(ctx: Context, ref: MessageRef, outcome: Reply) -> MessageRef:
    try:
        await ctx.responder.edit(ref, outcome)
    except Exception:
        log.warning("final broadcast edit failed; sending the outcome anew", exc_info=True)
        return await ctx.responder.send(outcome)
    return ref


COMMANDS = (Command("broadcast", broadcast, audience="creator"),)
