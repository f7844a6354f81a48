"""ELEVATE journeys in the chat: /journey (a fan's progress; a creator's texts and waits),
/stop [HANDLE], /rate HANDLE N, and a fan's replies to a step that asked something."""

from __future__ import annotations

from datetime import datetime

from bot.conversation.context import Command, Context, UsageError
from bot.conversation.messages import Reply
from bot.conversation.texts import t
from core.errors import NotACreator
from core.journeys import STEPS, RunState
from core.services.journeys import Answered, JourneyStatus


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def _status_line(status: JourneyStatus) -> str:
    if status.state is RunState.ACTIVE:
        return t(
            "journey.fan_line",
            handle=status.handle,
            step=status.step,
            total=len(STEPS),
            next=t(f"journey.step.{status.step_name}"),
            at=_when(status.next_at),
        )
    return t(f"journey.fan_line_{status.state.value}", handle=status.handle)


async def journey(ctx: Context) -> Reply:
    journeys = ctx.services.journeys
    if ctx.args:
        return await _configure(ctx)
    try:
        handle, enabled, template = await journeys.template_of(ctx.who)
    except NotACreator:
        statuses = await journeys.status(ctx.who)
        if not statuses:
            return Reply(t("journey.fan_none"))
        return Reply("\n".join([t("journey.fan_title"), *map(_status_line, statuses)]))
    lines = [t("journey.creator_title", handle=handle)]
    lines.append(t("journey.on" if enabled else "journey.off"))
    for number, step in enumerate(template.steps, 1):
        hours = f"{step.wait / 3600:g}"
        lines.append(t("journey.creator_line", n=number, step=step.name, hours=hours))
        lines.append(f"   {step.text}")
    lines.append(t("journey.creator_hint"))
    return Reply("\n".join(lines))


async def _configure(ctx: Context) -> Reply:
    journeys = ctx.services.journeys
    first, _, rest = ctx.args.strip().partition(" ")
    first = first.lower()
    if first in ("on", "off") and not rest:
        await journeys.set_enabled(ctx.who, first == "on")
        return Reply(t(f"journey.turned_{first}"))
    field, _, value = rest.strip().partition(" ")
    if field.lower() not in ("text", "wait") or not value.strip():
        raise UsageError()
    await journeys.configure(ctx.who, first, field.lower(), value)
    return Reply(t("journey.updated", step=first, field=field.lower()))


async def stop(ctx: Context) -> Reply:
    handle = ctx.args.strip() or None
    stopped = await ctx.services.journeys.stop(ctx.who, handle)
    if not stopped:
        return Reply(t("journey.stop_none"))
    return Reply(t("journey.stopped", handles=", ".join(f"@{h}" for h in stopped)))


async def rate(ctx: Context) -> Reply:
    parts = ctx.require_args().split()
    if len(parts) != 2:
        raise UsageError()
    handle = await ctx.services.journeys.rate(ctx.who, parts[0], parts[1])
    return Reply(t("journey.rated", handle=handle, stars="⭐" * int(parts[1])))


def answered_reply(answer: Answered) -> Reply:
    """The answer to a fan's reply to a journey step."""
    if answer.step != "hook":
        return Reply(t("journey.feedback_thanks", handle=answer.handle))
    if answer.analysis:
        return Reply(t("journey.analysis", handle=answer.handle, analysis=answer.analysis))
    quotes = [t("answer.quote", quote=q, title=title) for q, title in answer.quotes if q]
    body = "\n\n".join(quotes) if quotes else t("journey.analysis_later", handle=answer.handle)
    return Reply(t("journey.analysis_offline", handle=answer.handle, analysis=body))


COMMANDS = (
    Command("journey", journey),
    Command("stop", stop),
    Command("rate", rate),
)
