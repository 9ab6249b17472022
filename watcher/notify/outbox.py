"""The outbox: rendered messages stored in the state database until a server accepts them.

Queueing happens inside the caller's transaction (so "render the digest, mark its matches,
store the bytes" is one atomic step). Draining claims due messages with a lease, sends the
stored bytes (same Message-ID on every retry), and marks each one sent in its own
transaction right after the server's reply, so a crash re-sends at most the one message that
was in flight (the unavoidable window between "250 OK" and the commit that records it).
Failures back off exponentially per message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from watcher.errors import WatcherError
from watcher.ingest.schedule_math import backoff_delay
from watcher.logs import kv
from watcher.notify.mailer import Delivered, DeliveryError, Mailer
from watcher.notify.notice import OutboxMessage
from watcher.state.interface import StateStore
from watcher.state.leases import process_owner

log = logging.getLogger(__name__)

BACKOFF_FIRST = 60.0  # seconds before the first retry
BACKOFF_MAX = 3600.0  # never wait longer than this between tries: an outage ends, mail flows
BATCH = 50  # messages claimed per drain pass
LEASE_SLACK = 60.0


UNTRIED = "not tried: the SMTP session failed on an earlier message of the same pass"


@dataclass(frozen=True)
class DrainResult:
    sent: int
    failed: int
    pending: int  # unsent messages left in the outbox after this pass
    errors: tuple[str, ...] = ()


def backoff(attempts: int) -> float:
    """Delay after the `attempts`-th failed try: 1 min, 2, 4, ... capped at 1 h (the same
    exponential backoff as a failing feed's, `watcher.ingest.schedule_math.backoff_delay`)."""
    return backoff_delay(max(1, attempts), BACKOFF_FIRST, BACKOFF_MAX)


async def drain(
    store: StateStore,
    open_mailer: Callable[[], Mailer],
    sender: str,
    now: float,
    per_message_timeout: float,
    *,
    owner: str | None = None,
    lease: float | None = None,
    clock: Callable[[], float] | None = None,
) -> DrainResult:
    """Try every due message once, batch after batch; record what happened to each.

    Messages are claimed for `owner` (default: this process) for `lease` seconds, which the
    owner's heartbeat renews while it sends (`Transaction.heartbeat`); without `lease`, for
    long enough to try a whole batch. Each batch is claimed, sent and recorded at
    `clock()` when given (a long drain's claims and backoffs start when they happen), else
    at `now`. Stops early when the server cannot be reached or refuses the login (the rest
    wait for their backoff like the failed one).
    """
    sent, failed, errors = 0, 0, []
    if lease is None:
        lease = LEASE_SLACK + per_message_timeout * (BATCH + 1)
    given = now
    stamp = clock if clock is not None else lambda: given
    owner = owner or process_owner()
    while True:
        now = stamp()
        with store.transaction() as tx:
            due = tx.claim_due_messages(now, now + lease, BATCH, owner)
        if not due:
            break
        batch = await _send_batch(store, open_mailer, sender, due, stamp, owner=owner)
        sent, failed = sent + batch.sent, failed + batch.failed
        errors.extend(batch.errors)
        if batch.session_failed:
            # the server is unreachable or refuses us: the other due messages wait too
            now = stamp()
            with store.transaction() as tx:
                tx.defer_due_messages(now, now + backoff(max(m.attempts for m in due)))
            break
        if len(due) < BATCH:
            break
    with store.snapshot() as tx:
        pending = tx.unsent_count()
    return DrainResult(sent, failed, pending, tuple(dict.fromkeys(errors)))


@dataclass
class _Batch:
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    session_failed: bool = False


async def _send_batch(
    store: StateStore,
    open_mailer: Callable[[], Mailer],
    sender: str,
    due: Sequence[OutboxMessage],
    stamp: Callable[[], float],
    *,
    owner: str,
) -> _Batch:
    batch = _Batch()
    try:
        async with open_mailer() as mailer:
            for index, message in enumerate(due):
                try:
                    reply = await mailer.send(
                        sender, message.recipients, message.data, message.message_id
                    )
                except DeliveryError as exc:
                    batch.errors.append(str(exc))
                    batch.session_failed = exc.session
                    _record_failure(store, [message], str(exc), stamp(), owner)
                    batch.failed += 1
                    if exc.session:
                        # the others were never tried: their error must not name this one's id
                        untried = due[index + 1 :]
                        _record_failure(store, untried, UNTRIED, stamp(), owner)
                        batch.failed += len(untried)
                        break
                    continue
                _record_sent(store, message, reply, stamp())
                batch.sent += 1
    except (DeliveryError, WatcherError) as exc:  # could not even connect / log in
        untried = due[batch.sent + batch.failed :]
        _record_failure(store, untried, str(exc), stamp(), owner)
        batch.failed += len(untried)
        batch.errors.append(str(exc))
        batch.session_failed = True
    return batch


def _record_sent(store: StateStore, message: OutboxMessage, reply: Delivered, now: float) -> None:
    note = None
    if reply.refused:
        note = "refused: " + "; ".join(f"{r}: {why}" for r, why in reply.refused.items())
    with store.transaction() as tx:
        tx.mark_sent(message.id, now, note)
    log.info(
        "%s",
        kv(
            event="sent",
            kind=message.kind,
            message_id=message.message_id,
            attempt=message.attempts,
            reply=str(reply),
        ),
    )
    if note:
        log.warning(
            "%s", kv(event="recipients-refused", message_id=message.message_id, detail=note)
        )


def _record_failure(
    store: StateStore, messages: Sequence[OutboxMessage], error: str, now: float, owner: str
) -> None:
    with store.transaction() as tx:
        for message in messages:
            tx.mark_failed(message.id, error, now + backoff(message.attempts), owner)
    for message in messages:
        log.warning(
            "%s",
            kv(
                event="send-failed",
                kind=message.kind,
                message_id=message.message_id,
                attempt=message.attempts,
                retry_in=f"{backoff(message.attempts):g}s",
                error=error,
            ),
        )
