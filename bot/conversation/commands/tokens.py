"""/token SYMBOL PRICE_USD (creators), /wallet and /balance."""

from __future__ import annotations

from bot.conversation.context import Command, Context, UsageError
from bot.conversation.messages import Reply
from bot.conversation.texts import dollars, t


async def token(ctx: Context) -> Reply:
    parts = ctx.require_args().split()
    if len(parts) != 2:
        raise UsageError()
    created = await ctx.services.tokens.create(ctx.who, parts[0], parts[1])
    return Reply(
        t(
            "token.created",
            symbol=created.symbol,
            price=dollars(created.price_cents),
            address=created.address,
        )
    )


async def wallet(ctx: Context) -> Reply:
    parts = ctx.args.split()
    if len(parts) == 1:
        message = await ctx.services.wallets.challenge(ctx.who, parts[0])
        return Reply(t("wallet.challenge", address=parts[0], message=message), private=True)
    if len(parts) == 2:
        found = await ctx.services.wallets.link(ctx.who, parts[0], parts[1])
        return Reply(t("wallet.link_done", address=found.linked), private=True)
    if parts:
        raise UsageError()
    found = await ctx.services.wallets.show(ctx.who)
    lines = [t("wallet.custodial", address=found.custodial)]
    if found.linked:
        lines.append(t("wallet.linked", address=found.linked))
    return Reply("\n".join(lines), private=True)


async def balance(ctx: Context) -> Reply:
    holdings = await ctx.services.tokens.holdings(ctx.who)
    if not holdings:
        return Reply(t("balance.none"), private=True)
    lines = [t("balance.title")]
    for holding in holdings:
        if holding.on_chain is None:
            chain = t("balance.chain_unknown")
        elif holding.on_chain == holding.amount:
            chain = t("balance.chain_agrees")
        else:
            chain = t("balance.chain_differs", on_chain=holding.on_chain)
        lines.append(
            t(
                "balance.line",
                amount=holding.amount,
                symbol=holding.token.symbol,
                handle=holding.creator_handle,
                value=dollars(holding.value_cents),
                chain=chain,
            )
        )
    return Reply("\n".join(lines), private=True)


COMMANDS = (
    Command("balance", balance),
    Command("wallet", wallet),
    Command("token", token, audience="creator"),
)
