"""A bot process killed (``os._exit(137)``, like ``kill -9``) while fans are mid-purchase.

Usage (from the repository root)::

    python -m tests.crash.crashing_bot --db URL [--rpc-url URL] --provider FILE --out FILE \\
        [--fans N]

It builds the app as ``one-bot`` does (``bootstrap.build`` on the database; the chain opened
by ``bootstrap.open_chain``: the embedded EVM rebuilt from the ledger, or the JSON-RPC node at
``--rpc-url``), with a fake card rail whose refunds are kept in ``--provider`` (a JSON file:
the provider's side, which outlives the bot). It makes sure creator @alice has $ALICE; then
``--fans`` fans per group below start a purchase, and their ids are written to ``--out``
(``{"group": [ids]}``).

Then every group acts at once — payments delivered as the webhook route delivers them
(record, then advance), reversals likewise — and each purchase of a parked group stops at its
boundary (see ``Faults.park`` in tests/crash/faults.py). When all have stopped, the process
dies with ``os._exit(137)``: no ``finally``, no rollback, no goodbye.

==============  ==============================================================================
group           what it does, where it stops
==============  ==============================================================================
before-mint     pays; stops at ``mint:before`` (the mint is about to be sent)
mint-mined      pays; stops at ``mint:after`` (mined; the ledger not yet credited)
credited        pays; stops at ``notify:before`` (credit committed; the fan not yet told)
refund          pays, the chain refuses its mint for good; stops at ``refund:after`` (refunded
                at the provider; REFUNDED not yet stored)
clawback        paid and completed before; its payment is reversed now; stops at
                ``burn:after`` (burnt; the ledger not yet debited)
done            pays; not stopped (wherever it is when the others have stopped)
unpaid          never pays
==============  ==============================================================================

Exit status 137: killed as planned; 1: some purchase never arrived where it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from contextlib import AsyncExitStack
from pathlib import Path

from tests.crash.faults import Faults, FileGateway, purchase_of
from tests.crash.shop import (
    all_at_once,
    ensure_token,
    on_paid,
    on_reversed,
    open_app,
    payment,
    reversal,
    settings_for,
    start_purchases,
)
from tests.fakes.payments import FakeNotifier

# Group → the boundary its purchases stop at (None: not stopped).
PARKED_AT = {
    "before-mint": "mint:before",
    "mint-mined": "mint:after",
    "credited": "notify:before",
    "refund": "refund:after",
    "clawback": "burn:after",
    "done": None,
}
GROUPS = (*PARKED_AT, "unpaid")
ARRIVAL_S = 30.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crashing_bot", description=__doc__)
    parser.add_argument("--db", required=True, help="the database URL")
    parser.add_argument("--rpc-url", help="a JSON-RPC node (default: the embedded chain)")
    parser.add_argument("--provider", type=Path, required=True, help="the rail's refunds file")
    parser.add_argument("--out", type=Path, required=True, help="where to write purchase ids")
    parser.add_argument("--fans", type=int, default=2, help="fans per group")
    return parser


async def run(args: argparse.Namespace) -> None:
    settings = settings_for(args.db, args.rpc_url)
    faults = Faults(kill=True, armed=False)
    card = FileGateway("card", path=args.provider)
    refused: set[int] = set()
    async with AsyncExitStack() as stack:
        opened = await open_app(
            stack,
            settings,
            faults,
            gateways=[card],
            notifier=FakeNotifier(),
            reject=lambda reference: purchase_of(reference) in refused,
        )
        services = opened.app.services
        await ensure_token(services)
        groups = {g: await start_purchases(services, g, args.fans) for g in GROUPS}
        ids = {group: [p.id for p in bought] for group, bought in groups.items()}
        args.out.write_text(json.dumps(ids), encoding="utf-8")
        refused.update(ids["refund"])
        faults.park = {
            p.id: boundary
            for group, boundary in PARKED_AT.items()
            if boundary is not None
            for p in groups[group]
        }
        for p in groups["clawback"]:
            await on_paid(services, payment(p))
        faults.armed = True
        paying = [p for g in PARKED_AT if g != "clawback" for p in groups[g]]
        try:
            async with asyncio.timeout(ARRIVAL_S):
                failed = await all_at_once(
                    *(on_paid(services, payment(p)) for p in paying),
                    *(on_reversed(services, reversal(p)) for p in groups["clawback"]),
                )
        except TimeoutError:
            failed = []
        print(
            f"not every purchase arrived where it stops: {sorted(faults.parked)} of "
            f"{faults.park}; failures: {failed!r}",
            file=sys.stderr,
        )


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(run(_parser().parse_args(argv)))
    return 1  # the process was to be killed before getting here


if __name__ == "__main__":
    raise SystemExit(main())
