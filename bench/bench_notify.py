"""Notifier benchmark: rendering, queueing and delivering big digests and alert bursts.

    .venv/bin/python bench/bench_notify.py [--matches 2000] [--alerts 200] [--max-bytes 100000]

Records ``--matches`` pending matches (mixed severities, Cyrillic and Latin titles) in a
fresh SQLite state, then times:
1. `queue_alerts` for the high-severity ones (one alert per entry; each article is
   another entry's here, and the alert limits are raised out of the way);
2. `queue_digest` (read, render and split into parts under ``--max-bytes``, then mark and
   store the bytes, check-and-set), all on the calling thread;
3. `queue_digest_async` on the same backlog (a second state), as the daemon runs it: the
   render in a worker thread while a ticker task on the event loop measures the longest
   gap between its turns (the worst loop stall; the sync call stalls a loop for all of 2.);
4. draining the outbox to a real aiosmtpd server on 127.0.0.1 with STARTTLS + AUTH (the test
   server from tests/smtpserver.py), and to a directory.

Prints each step's wall time and the message counts and sizes. Target: a 2000-match digest
queued in under 5 s; the loop never stalled for more than 50 ms by a digest; SMTP delivery
of 200 alerts in under 10 s on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from watcher.config.schema import Config
    from watcher.state.sqlite import Store

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the shared notifier samples and SMTP test server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matches", type=int, default=2000)
    parser.add_argument("--alerts", type=int, default=200, help="high-severity articles")
    parser.add_argument("--max-bytes", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(Path(tmp), args.matches, args.alerts, args.max_bytes))


async def run(tmp: Path, matches: int, alerts: int, max_bytes: int) -> None:
    from notifier_samples import make_config, record_match
    from smtpserver import SmtpTestServer

    from watcher.config.schema import DigestConfig, EmailConfig
    from watcher.notify import notifier
    from watcher.state.sqlite import Store

    store, twin = Store(tmp / "state"), Store(tmp / "twin")
    started = time.perf_counter()
    for n in range(matches):
        severity = "high" if n < alerts else ("medium" if n % 2 else "low")
        title = f"«Роснефть» news {n}" if n % 3 == 0 else f"Rosneft update number {n}"
        for each in (store, twin):
            record_match(
                each,
                article=f"a{n:05d}",
                entry=f"entity-{n % 400:03d}",
                severity=severity,
                title=title,
            )
    print(f"recorded {matches} matches (twice): {time.perf_counter() - started:.2f}s")

    with SmtpTestServer(tmp) as server:
        email = EmailConfig(**{"from": "watch@example.org"}, to=("a@example.org",), delivery="smtp")
        config = make_config(
            tmp,
            email=email,
            smtp=server.smtp_config(),
            digest=DigestConfig(max_bytes=max_bytes, timezone="UTC", **_uncapped(alerts)),
        )
        now = time.time()

        started = time.perf_counter()
        queued = notifier.queue_alerts(store, config, now)
        print(f"queue_alerts: {queued} alerts in {time.perf_counter() - started:.2f}s")

        started = time.perf_counter()
        digest_id = notifier.queue_digest(store, config, now)
        elapsed = time.perf_counter() - started
        with store.transaction() as tx:
            parts = tx.outbox_messages("digest")
        sizes = [len(p.data) for p in parts]
        with store.transaction() as tx:
            left = len(tx.pending_matches())
        print(
            f"queue_digest: {digest_id} in {elapsed:.2f}s: {len(parts)} part(s), "
            f"largest {max(sizes)} bytes, {left} matches left for the next digest"
        )

        notifier.queue_alerts(twin, config, now)
        elapsed, stall = await _async_digest(twin, config, now)
        print(
            f"queue_digest_async: {elapsed:.2f}s, worst event-loop stall meanwhile "
            f"{stall * 1000:.0f} ms (render in a worker thread)"
        )

        started = time.perf_counter()
        result = await notifier.drain_outbox(store, config, now)
        elapsed = time.perf_counter() - started
        print(
            f"SMTP drain (STARTTLS+AUTH, loopback): sent {result.sent}, "
            f"failed {result.failed} in {elapsed:.2f}s "
            f"({result.sent / elapsed:.0f} messages/s)"
        )

    directory_config = make_config(
        tmp / "dir", digest=DigestConfig(max_bytes=max_bytes, **_uncapped(alerts))
    )
    dir_store = Store(tmp / "dir" / "state")
    for n in range(alerts):
        record_match(dir_store, article=f"d{n:05d}", entry=f"entity-{n:03d}")
    notifier.queue_alerts(dir_store, directory_config, time.time())
    started = time.perf_counter()
    result = await notifier.drain_outbox(dir_store, directory_config, time.time())
    elapsed = time.perf_counter() - started
    print(f"directory drain: {result.sent} .eml files in {elapsed:.2f}s")
    store.close()
    twin.close()
    dir_store.close()


def _uncapped(alerts: int) -> dict[str, Any]:
    """Alert limits out of the way: every high-severity article here is another entry's,
    in a sample dated 2025, and this measures rendering and delivering `alerts` of them
    (the limits themselves: bench/bench_flood.py)."""
    return {
        "alert_max_per_run": alerts,
        "alert_max_per_hour": 3 * alerts,
        "alert_max_age": 3650 * 86400.0,
        "alert_window": 0.0,
    }


async def _async_digest(store: Store, config: Config, now: float) -> tuple[float, float]:
    """Seconds `queue_digest_async` took, and the longest gap between a ticker's turns."""
    from watcher.notify import notifier

    done = False
    worst = 0.0

    async def ticker() -> None:
        nonlocal worst
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0.001)
            now_ = time.perf_counter()
            worst = max(worst, now_ - last - 0.001)
            last = now_

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    started = time.perf_counter()
    with ThreadPoolExecutor(1) as pool:
        await notifier.queue_digest_async(store, config, now, executor=pool)
    elapsed = time.perf_counter() - started
    done = True
    await ticking
    return elapsed, worst


if __name__ == "__main__":
    main()
