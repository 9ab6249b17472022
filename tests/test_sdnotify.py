"""sd_notify over a real unix datagram socket bound by the test (path and abstract names)."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from watcher.service.sdnotify import Notifier, monotonic_usec, socket_address, watchdog_interval


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify.sock"
    sock.bind(str(path))
    sock.settimeout(5)
    yield sock, str(path)
    sock.close()


def _fields(datagram: bytes) -> dict[str, str]:
    return dict(line.split("=", 1) for line in datagram.decode().split("\n"))


def test_ready_and_status_arrive_as_one_datagram(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = Notifier({"NOTIFY_SOCKET": path})
    assert notifier.ready(status="feeds: 3 ok")
    assert _fields(sock.recv(4096)) == {"READY": "1", "STATUS": "feeds: 3 ok"}
    notifier.close()


def test_reloading_carries_the_monotonic_clock(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = Notifier({"NOTIFY_SOCKET": path})
    before = monotonic_usec()
    notifier.reloading()
    fields = _fields(sock.recv(4096))
    after = monotonic_usec()
    assert fields["RELOADING"] == "1"
    assert before <= int(fields["MONOTONIC_USEC"]) <= after
    # The same clock systemd reads: CLOCK_MONOTONIC, in microseconds.
    assert abs(int(fields["MONOTONIC_USEC"]) - time.monotonic_ns() // 1000) < 5_000_000
    notifier.close()


def test_stopping_and_watchdog(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = Notifier({"NOTIFY_SOCKET": path})
    notifier.stopping()
    notifier.watchdog()
    assert sock.recv(4096) == b"STOPPING=1"
    assert sock.recv(4096) == b"WATCHDOG=1"
    notifier.close()


def test_abstract_namespace_socket() -> None:
    name = f"sanctions-watch-test-{os.getpid()}-{time.monotonic_ns()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(5)
    try:
        notifier = Notifier({"NOTIFY_SOCKET": "@" + name})
        assert notifier.ready()
        assert sock.recv(4096) == b"READY=1"
        notifier.close()
    finally:
        sock.close()


def test_without_notify_socket_nothing_is_sent() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert notifier.ready() is False


def test_a_vanished_socket_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    assert notifier.ready() is False
    notifier.close()
    assert "event=sd-notify result=failed" in caplog.text


def test_socket_address_forms() -> None:
    assert socket_address({}) is None
    assert socket_address({"NOTIFY_SOCKET": ""}) is None
    assert socket_address({"NOTIFY_SOCKET": "/run/systemd/notify"}) == "/run/systemd/notify"
    assert socket_address({"NOTIFY_SOCKET": "@abc"}) == "\0abc"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "junk"}, None),
        ({"WATCHDOG_USEC": "60000000"}, 30.0),
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "4242"}, 30.0),
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"}, None),
    ],
)
def test_watchdog_interval_is_half_and_only_for_our_pid(
    env: dict[str, str], expected: float | None
) -> None:
    assert watchdog_interval(env, pid=4242) == expected


def test_a_receiver_that_stops_reading_never_blocks_status_or_watchdog(
    listener: tuple[socket.socket, str],
) -> None:
    sock, path = listener
    notifier = Notifier({"NOTIFY_SOCKET": path})
    sent = [notifier.status(f"poll {n}") for n in range(5000)]
    assert sent[0] is True
    assert sent[-1] is False  # the queue filled up: dropped, not blocked
    assert notifier.watchdog() is False
    assert sock.recv(4096) == b"STATUS=poll 0"
    notifier.close()


def test_state_changes_wait_a_bounded_time_for_room(
    listener: tuple[socket.socket, str],
) -> None:
    _, path = listener
    notifier = Notifier({"NOTIFY_SOCKET": path})
    while notifier.status("filler"):
        pass
    started = time.monotonic()
    assert notifier.send({"READY": 1}, wait=0.2) is False
    assert 0.15 <= time.monotonic() - started < 2
    notifier.close()


async def test_heartbeat_extends_the_start_timeout_while_work_blocks(
    listener: tuple[socket.socket, str], caplog: pytest.LogCaptureFixture
) -> None:
    """A huge watchlist compiles for minutes in a worker thread; meanwhile systemd must keep
    hearing EXTEND_TIMEOUT_USEC (and the step in STATUS=) or it kills the service."""
    import asyncio

    from watcher.progress import Heartbeat

    caplog.set_level(logging.INFO, logger="watcher.progress")
    sock, path = listener
    notifier = Notifier({"NOTIFY_SOCKET": path})

    def compile_for_a_while(report: Callable[[str], None]) -> list[dict[str, str]]:
        # the "compilation" blocks this thread until systemd has heard several beats
        report("compiling the watchlists: 437,112 entries into the matcher index")
        beats: list[dict[str, str]] = []
        while sum("compiling" in b.get("STATUS", "") for b in beats) < 3:
            beats.append(_fields(sock.recv(4096)))
        return beats

    async with Heartbeat(notifier, "starting", period=0.05, extend=1.0) as heartbeat:
        beats = await asyncio.to_thread(compile_for_a_while, heartbeat.report)
    notifier.close()

    assert all(b["EXTEND_TIMEOUT_USEC"] == "1000000" for b in beats)
    compiling = [b["STATUS"] for b in beats if "compiling" in b["STATUS"]]
    assert len(compiling) >= 3
    assert compiling[0].startswith("starting: compiling the watchlists: 437,112 entries")
    assert compiling[0].endswith(" s)")
    # a slow start is in the journal too (a quick one logs nothing)
    assert any(
        r.getMessage().startswith('event=starting step="compiling the watchlists: 437,112')
        for r in caplog.records
    )


async def test_heartbeat_asks_for_several_periods_and_stops_on_exit(
    listener: tuple[socket.socket, str],
) -> None:
    import asyncio

    from watcher.progress import Heartbeat

    sock, path = listener
    notifier = Notifier({"NOTIFY_SOCKET": path})
    async with Heartbeat(notifier, "reloading", period=10.0, extend=1.0) as heartbeat:
        heartbeat.report("reading watchlist /x.yaml (1/1)")
        first = _fields(await asyncio.to_thread(sock.recv, 4096))
    # never less than two periods: one late beat must not get the service killed
    assert first["EXTEND_TIMEOUT_USEC"] == "20000000"
    sock.settimeout(0.2)
    rest = []
    with pytest.raises(TimeoutError):
        while True:
            rest.append(_fields(sock.recv(4096)))
    assert len(rest) <= 1  # at most the step reported before the exit; none after it
    notifier.close()
