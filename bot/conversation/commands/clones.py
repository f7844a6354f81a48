"""AI clones: /clone (creators), /ask, /chat, /end, and plain messages during a chat."""

from __future__ import annotations

from bot.conversation.commands.journeys import answered_reply
from bot.conversation.context import Command, Context, UsageError
from bot.conversation.messages import Button, MessageRef, Reply
from bot.conversation.streaming import stream_answer
from bot.conversation.texts import plural, t
from core.clones import CloneView
from core.errors import CloneLocked
from core.services.clones import SETTINGS


def clone_reply(view: CloneView, notice: str | None = None) -> Reply:
    settings = view.settings
    lines = [notice] if notice else []
    lines.append(t("clone.title", name=view.name, handle=view.handle))
    if settings.persona:
        lines.append(t("clone.persona", persona=settings.persona))
    else:
        lines.append(t("clone.no_persona"))
    if view.symbol is None:
        lines.append(t("clone.open_no_token" if settings.gate == 0 else "clone.economics_no_token"))
    else:
        lines.append(
            t(
                "clone.economics",
                gate=settings.gate,
                symbol=view.symbol,
                cost=settings.cost,
                reward=settings.reward,
            )
        )
    lines.append(t("clone.temperature", temperature=f"{settings.temperature:g}"))
    stats = view.stats
    lines.append(
        t(
            "clone.stats",
            answers=plural("answers", stats.turns),
            charged=stats.charged,
            rewarded=stats.rewarded,
        )
    )
    lines.append(t("clone.knowledge", documents=view.documents))
    lines.append(t("clone.model", model=view.model) if view.model else t("clone.offline"))
    lines.append(t("clone.try", handle=view.handle))
    return Reply("\n".join(lines))


async def clone(ctx: Context) -> Reply:
    clones = ctx.services.clones
    if not ctx.args:
        return clone_reply(await clones.show(ctx.who))
    field, _, value = ctx.args.partition(" ")
    field = field.split("\n", 1)[0].lower()
    value = ctx.args[len(field) :].strip() if field else value
    if field not in SETTINGS or not value:
        raise UsageError()
    view = await clones.configure(ctx.who, field, value)
    return clone_reply(view, notice=t("clone.updated"))


def locked_reply(error: CloneLocked) -> Reply:
    """The refusal, with a button that buys what is missing."""
    params = error.params
    missing = int(str(params["needed"])) - int(str(params["held"]))
    button = Button(
        t("chat.button_buy", amount=missing, symbol=params["symbol"]),
        data=f"/buy {params['handle']} {missing}",
    )
    return Reply(t("error.prefix", message=t(error.key, **params)), ((button,),))


async def _answer(
    ctx: Context, handle: str, question: str, buttons: tuple[tuple[Button, ...], ...]
) -> Reply | MessageRef:
    parts = ctx.services.clone_chat.ask(ctx.who, handle, question)
    try:
        return await stream_answer(ctx.responder, parts, buttons)
    except CloneLocked as error:
        return locked_reply(error)


async def ask(ctx: Context) -> Reply | MessageRef:
    parts = ctx.require_args().split(maxsplit=1)
    if len(parts) != 2:
        raise UsageError()
    handle = parts[0].removeprefix("@").lower()
    button = Button(t("chat.button_chat", handle=handle), data=f"/chat {handle}")
    return await _answer(ctx, parts[0], parts[1], ((button,),))


async def chat(ctx: Context) -> Reply:
    parts = ctx.require_args().split()
    if len(parts) != 1:
        raise UsageError()
    try:
        access = await ctx.services.clones.start_chat(ctx.who, parts[0])
    except CloneLocked as error:
        return locked_reply(error)
    end = Button(t("chat.button_end"), data="/end")
    # In a server only slash commands reach the bot: the conversation goes on in DMs.
    key = "chat.started" if ctx.incoming.space is None else "chat.started_in_server"
    return Reply(t(key, handle=access.creator.handle), ((end,),))


async def end(ctx: Context) -> Reply:
    handle = await ctx.services.clones.end_chat(ctx.who)
    return Reply(t("chat.ended", handle=handle))


async def say(ctx: Context) -> Reply | MessageRef:
    """A plain message: to the clone the person is chatting with, if any."""
    handle = await ctx.services.clones.chatting_with(ctx.who)
    if handle is None:
        # Not chatting: maybe a journey step asked this person something.
        answer = await ctx.services.journeys.answer(ctx.who, ctx.args)
        return answered_reply(answer) if answer else Reply(t("not_a_command"))
    end_button = Button(t("chat.button_end"), data="/end")
    return await _answer(ctx, handle, ctx.args, ((end_button,),))


COMMANDS = (
    Command("ask", ask),
    Command("chat", chat),
    Command("end", end),
    Command("clone", clone, audience="creator"),
)
# Plain text (not a command) goes here; the router passes the whole text as ``args``.
PLAIN_TEXT = Command("say", say)
