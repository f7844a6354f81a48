"""The outbox sender: messages that journeys and broadcasts queued, sent at the platforms' pace.

Journey steps and broadcasts never send anything themselves: they put their messages into the
``outbox`` table in the transaction that changes their state. This sender drains it. Each
``drain``:

1. claims up to ``batch`` due pending messages with a lease (one short transaction): no other
   caller, in this process or another, takes them before ``lease_until``;
2. sends them, at most ``concurrency`` at a time (the platform's limiter paces the sends; a
   small bound keeps a 429 from holding up a whole batch), each through
   :meth:`ChatNotifier.deliver` and within a timeout (``send_timeout``, at most half the lease);
3. records each outcome in short transactions as sends finish: sent, unreachable (no chat can
   reach the person: not retried), or a failed attempt, due again after 1 s, 2 s, 4 s … (capped
   at ``backoff_max``), failed for good after ``attempts``. A message that cannot be rendered
   (a bad catalogue key, a malformed button) fails at once: retrying would not help.

A message is sent at least once, not exactly once. A message sent but not yet recorded when
the process dies (or when its drain is cancelled) is pending again once its lease expires, and
is sent again: at most ``batch`` messages per process, and usually only the few in flight, as
outcomes are recorded every ``FLUSH_EVERY`` seconds and every ``FLUSH_SIZE`` messages. A
cancelled send records nothing: its message waits for the lease. No send starts so late that it
could still run when its lease expires, so a live process never races another over the same
message.

Where no chat frontend runs (``one-bot resume``) nothing is claimed; where the person's chats
are all on platforms another process serves, the message is left for that process. Neither
counts as an attempt.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import quote

from bot.conversation.messages import Button, Media, Reply
from bot.conversation.texts import t
from bot.notifications import ChatNotifier, NoChatFrontend
from core.journeys import OutboxItem
from core.model import Identity
from core.ports import Clock, UnitOfWorkFactory

log = logging.getLogger(__name__)

# Outcomes are recorded whenever this many are waiting, and every this many seconds.
FLUSH_SIZE = 64
FLUSH_EVERY = 1.0

# (platform, start payload) → the link that opens the bot with it there.
PlatformLink = Callable[[str, str], str]


class MalformedMessage(Exception):
    """An outbox message this code cannot render: it fails without further attempts."""


def render(message: Mapping[str, Any], platform: str, link: PlatformLink) -> Reply:
    """The ``Reply`` for an outbox message on ``platform``.

    ``message`` is ``{"text", "buttons"?, "document"?, "start"?}``: the text is shown as it is,
    except that ``{link}`` becomes the platform's deep link for the ``start`` payload (when there
    is one); buttons are rows of ``{"label_key", "params"?, "data" | "url"}`` whose labels come
    from the catalogue now; a ``document`` (``file_name``, ``content``) is attached as a file.
    A ``{link}`` in a button's url becomes the link too (percent-encoded inside a longer url,
    e.g. a share url). MalformedMessage if the message does not have this shape.
    """
    try:
        text = message["text"]
        if not isinstance(text, str):
            raise TypeError("text is not a string")
        start = message.get("start")
        deep_link = link(platform, str(start)) if start else None
        if deep_link is not None:
            text = text.replace("{link}", deep_link)
        rows = tuple(
            tuple(_button(spec, deep_link) for spec in row) for row in message.get("buttons") or ()
        )
        media = None
        if (document := message.get("document")) is not None:
            content = document["content"]
            media = Media("document", str(content).encode("utf-8"), str(document["file_name"]))
        return Reply(text, tuple(row for row in rows if row), media)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
        raise MalformedMessage(f"{type(e).__name__}: {e}") from e


def _button(spec: Mapping[str, Any], deep_link: str | None) -> Button:
    params = dict(spec.get("params") or {})
    # Formatted even without params, so that a placeholder left unfilled is an error.
    label = t(spec["label_key"], **params) if params else t(spec["label_key"]).format()
    url = spec.get("url")
    if url is not None and deep_link is not None and "{link}" in url:
        url = deep_link if url == "{link}" else url.replace("{link}", quote(deep_link, safe=""))
    return Button(label, data=spec.get("data"), url=url)


@dataclass(frozen=True, slots=True)
class SenderSettings:
    batch: int = 100  # messages claimed per drain
    concurrency: int = 8  # sends at the same time
    lease: float = 300.0  # seconds a claimed message is this sender's
    send_timeout: float = 60.0  # seconds one send may take (429 waits included) …
    attempts: int = 8  # failed attempts before a message fails for good
    backoff: float = 1.0  # seconds before the second attempt; doubled after each failure
    backoff_max: float = 300.0

    def __post_init__(self) -> None:
        if self.batch < 1 or self.concurrency < 1 or self.attempts < 1 or self.lease <= 0:
            raise ValueError("batch, concurrency and attempts must be at least 1, lease above 0")

    @property
    def timeout(self) -> float:
        """… and at most half the lease, so a send that starts in time ends within it."""
        return min(self.send_timeout, self.lease / 2)


@dataclass(frozen=True, slots=True)
class DrainReport:
    """What one drain did. ``left``: claimed but not attempted (no frontend here for the
    person, or no time left in the lease); they are due again when their lease expires."""

    claimed: int = 0
    sent: int = 0
    unreachable: int = 0
    retried: int = 0
    failed: int = 0
    left: int = 0
    more: bool = False  # the claim came back full: more may be due now


Outcome = Literal["sent", "unreachable", "retry", "failed"]


@dataclass(frozen=True, slots=True)
class _Result:
    item: OutboxItem
    outcome: Outcome
    error: str = ""


class OutboxSender:
    """Drains the outbox through a :class:`ChatNotifier` (see the module docstring)."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        notifier: ChatNotifier,
        settings: SenderSettings | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._notifier = notifier
        self.settings = settings or SenderSettings()

    async def drain(self) -> DrainReport:
        """Claim one batch of due messages, send them and record what happened."""
        settings = self.settings
        if not self._notifier.platforms:
            return DrainReport()  # leave everything to a process that runs a chat frontend
        now = self._clock.now()
        lease_until = now + timedelta(seconds=settings.lease)
        async with self._uow() as uow:
            items = await uow.outbox.claim(now, settings.batch, lease_until)
            people = sorted({item.person_id for item in items})
            chats = await uow.identities.of_people(people) if people else {}
            await uow.commit()
        if not items:
            return DrainReport()
        # The last moment a send may start and still end (timeout included) well within the
        # lease, with a tenth of it left to record the outcome.
        latest_start = time.monotonic() + settings.lease * 0.9 - settings.timeout
        recorder = _Recorder(self._record, settings.attempts)
        waiting = iter(items)

        async def sender() -> None:
            # ``concurrency`` of these share the batch: each takes the next message in turn.
            for item in waiting:
                mine = chats.get(item.person_id, [])
                await self._send(item, mine, latest_start, recorder)

        # Outcomes are recorded while slow sends still wait (a broadcast's progress moves on).
        flusher = asyncio.create_task(recorder.keep_flushing())
        try:
            async with asyncio.TaskGroup() as sends:
                for _ in range(min(settings.concurrency, len(items))):
                    sends.create_task(sender())
        finally:
            flusher.cancel()
            await asyncio.wait([flusher])
            # Also when cancelled: what was sent is recorded, so it is not sent again.
            await asyncio.shield(recorder.flush(final=True))
        counts = recorder.counts
        return DrainReport(
            claimed=len(items),
            sent=counts["sent"],
            unreachable=counts["unreachable"],
            retried=counts["retry"],
            failed=counts["failed"],
            left=len(items) - sum(counts.values()),
            more=len(items) >= settings.batch,
        )

    async def _send(
        self,
        item: OutboxItem,
        chats: Sequence[tuple[str, Identity]],
        latest_start: float,
        recorder: _Recorder,
    ) -> None:
        if time.monotonic() > latest_start:
            return  # no time left in the lease: due again when it expires
        try:
            async with asyncio.timeout(self.settings.timeout):
                delivered = await self._notifier.deliver(
                    item.person_id, lambda platform: self._reply(item, platform), chats
                )
        except NoChatFrontend as e:
            log.debug("outbox %d left for another process: %s", item.id, e)
            return
        except MalformedMessage as e:
            log.error("outbox %d (%s) cannot be sent: %s", item.id, item.dedupe_key, e)
            result = _Result(item, "failed", f"malformed: {e}")
        except Exception as e:
            log.warning(
                "outbox %d (%s): attempt %d failed: %r",
                item.id,
                item.dedupe_key,
                item.attempts + 1,
                e,
            )
            result = _Result(item, "retry", repr(e) if str(e) else type(e).__name__)
        else:
            result = _Result(item, "sent" if delivered else "unreachable")
        await recorder.add(result)

    def _reply(self, item: OutboxItem, platform: str) -> Reply:
        return render(item.message, platform, self._notifier.link)

    async def _record(self, results: list[_Result]) -> None:
        settings = self.settings
        now = self._clock.now()
        async with self._uow() as uow:
            sent = [result.item.id for result in results if result.outcome == "sent"]
            await uow.outbox.mark_sent_many(sent, now)
            for result in results:
                item = result.item
                if result.outcome == "sent":
                    continue
                if result.outcome == "unreachable":
                    await uow.outbox.mark_unreachable(item.id, now)
                else:
                    attempts = item.attempts + 1
                    give_up = result.outcome == "failed" or attempts >= settings.attempts
                    wait = min(settings.backoff * 2 ** (attempts - 1), settings.backoff_max)
                    await uow.outbox.retry_later(
                        item.id,
                        result.error,  # the repository keeps what its column holds
                        now + timedelta(seconds=wait),
                        give_up=give_up,
                    )
            await uow.commit()


@dataclass
class _Recorder:
    """Gathers outcomes and records them in small transactions: every FLUSH_SIZE outcomes,
    every FLUSH_EVERY seconds while sends go on, and once more at the end."""

    record: Callable[[list[_Result]], Awaitable[None]]
    attempts: int
    waiting: list[_Result] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: {"sent": 0, "unreachable": 0, "retry": 0, "failed": 0}
    )
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def add(self, result: _Result) -> None:
        outcome = result.outcome
        if outcome == "retry" and result.item.attempts + 1 >= self.attempts:
            outcome = "failed"
        self.counts[outcome] += 1
        self.waiting.append(result)
        if len(self.waiting) >= FLUSH_SIZE:
            # Shielded: a cancelled send must not lose the outcomes of others mid-record.
            await asyncio.shield(self.flush())

    async def keep_flushing(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY)
            if self.waiting:
                await asyncio.shield(self.flush())

    async def flush(self, *, final: bool = False) -> None:
        async with self.lock:
            results, self.waiting = self.waiting, []
            if not results:
                return
            try:
                await self.record(results)
            except Exception:
                if not final:
                    log.warning("recording %d outbox outcomes failed; retrying", len(results))
                    self.waiting = results + self.waiting
                    return
                log.exception(
                    "recording %d outbox outcomes failed: the messages sent among them are "
                    "sent again when their lease expires",
                    len(results),
                )
