"""``kill -9`` with fans mid-purchase at every boundary, then the real ``one-bot resume``.

For each chain — the embedded EVM, and ganache over JSON-RPC — a bot process
(``tests/crash/crashing_bot.py``) lets 14 fans buy at once and dies with ``os._exit(137)``
once two purchases stand at each of these boundaries (see the table in crashing_bot.py):

- ``mint:before``: a mint about to be sent;
- ``mint:after``: a mint mined, the ledger not yet credited (on ganache the mint outlives the
  process: only the reference the contract records keeps it from being minted twice);
- ``notify:before``: the credit committed, the fan not yet told;
- ``refund:after``: a mint the chain refused was refunded at the provider, REFUNDED not stored;
- ``burn:after``: a reversed payment's tokens burnt, the ledger not yet debited.

Right after the kill the database (and ganache) is checked to hold exactly what those
boundaries leave, so the crash really happened there. Then the REAL ``one-bot resume`` runs
(``python -m bot resume``, configured by environment variables as an operator would), then
``one-bot reconcile`` must exit 0 (ledger = chain), then the invariants are checked.

What ran where: the killed process pays through a fake card rail whose refunds persist in a
JSON file. ``one-bot resume`` opens its own rail (the Stripe sandbox: a fresh child process that
knows none of those payments), so it cannot refund them — after it the refund group is still
REFUNDING (its attempts counted) — and a restart in-process (``bootstrap.build`` on the same
database and chain, with the file-backed rail) makes those refunds. ``one-bot resume`` has no
chat frontend either, so it leaves telling the fans to the running bot: the in-process restart
(with a fake notifier) tells them. Everything else — minting again or not, crediting, clawing
back — is done by the real ``one-bot resume``.
On the embedded chain ``one-bot reconcile`` compares the ledger with a chain rebuilt from that
same ledger, so there the database invariants carry the weight; on ganache the chain is
compared for real (balances, total supply, which references are applied).

Both runs start in a background thread with the first crash test (``kill_runs`` in conftest.py)
and go on beside the in-process tests; the tests here wait for their outcome. Their code is in
kill_runs.py.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future


async def test_kill_9_on_the_embedded_chain_then_one_bot_resume(
    kill_runs: dict[str, Future[None]],
) -> None:
    await asyncio.wrap_future(kill_runs["embedded"])


async def test_kill_9_on_ganache_then_one_bot_resume(kill_runs: dict[str, Future[None]]) -> None:
    await asyncio.wrap_future(kill_runs["ganache"])
