"""The systemd notification protocol (sd_notify), without libsystemd.

systemd hands a service the address of a datagram socket in ``$NOTIFY_SOCKET``: a path, or an
abstract-namespace name written with a leading ``@``. Each datagram is newline-separated
``KEY=value`` lines (``READY=1``, ``STATUS=...``, ``WATCHDOG=1``...). Outside systemd the
variable is unset and every call is a cheap no-op. A failing send never stops the daemon:
notification is advisory, so errors are logged, not raised.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

from watcher.logs import kv

log = logging.getLogger(__name__)

STATE_WAIT = 2.0  # seconds a READY/RELOADING/STOPPING may wait for room in the socket queue


def socket_address(env: Mapping[str, str]) -> str | None:
    """The address to send to, with ``@`` turned into the abstract-namespace NUL byte."""
    address = env.get("NOTIFY_SOCKET", "")
    if not address:
        return None
    if address.startswith("@"):
        return "\0" + address[1:]
    return address


def monotonic_usec() -> int:
    """CLOCK_MONOTONIC in microseconds, as ``MONOTONIC_USEC=`` with ``RELOADING=1`` wants."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def watchdog_interval(env: Mapping[str, str], pid: int) -> float | None:
    """Seconds between ``WATCHDOG=1`` pings (half of ``WATCHDOG_USEC``), or None when unwanted.

    systemd sets ``WATCHDOG_PID`` when it means one specific process; a child that inherited
    the variables must not ping on its parent's behalf.
    """
    usec = env.get("WATCHDOG_USEC", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    wanted_pid = env.get("WATCHDOG_PID", "")
    if wanted_pid and wanted_pid != str(pid):
        return None
    return int(usec) / 1_000_000 / 2


class Notifier:
    """Sends sd_notify messages; does nothing when not started by systemd."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.address = socket_address(os.environ if env is None else env)
        self._socket: socket.socket | None = None

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, fields: Mapping[str, str | int], *, wait: float = STATE_WAIT) -> bool:
        """Send one datagram of ``KEY=value`` lines; True when it was sent.

        A receiver that stops reading fills the socket queue (only
        ``net.unix.max_dgram_qlen`` datagrams, often 10); sending then blocks. State changes
        (READY, RELOADING, STOPPING) wait up to `wait` seconds; STATUS and WATCHDOG pings
        (``wait=0``) are dropped instead, so the event loop never hangs on a busy manager.
        """
        if self.address is None:
            return False
        payload = "\n".join(f"{key}={value}" for key, value in fields.items()).encode()
        try:
            if self._socket is None:
                self._socket = socket.socket(
                    socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
                )
            self._socket.settimeout(wait)
            self._socket.sendto(payload, self.address)
        except (BlockingIOError, TimeoutError):
            log.debug(
                "%s",
                kv(event="sd-notify", result="dropped", fields=",".join(fields), why="not reading"),
            )
            return False
        except OSError as exc:
            socket_name = os.environ.get("NOTIFY_SOCKET")
            log.warning(
                "%s", kv(event="sd-notify", result="failed", socket=socket_name, error=repr(exc))
            )
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        fields: dict[str, str | int] = {"READY": 1}
        if status is not None:
            fields["STATUS"] = status
        return self.send(fields)

    def reloading(self) -> bool:
        return self.send({"RELOADING": 1, "MONOTONIC_USEC": monotonic_usec()})

    def stopping(self) -> bool:
        return self.send({"STOPPING": 1})

    def status(self, text: str) -> bool:
        return self.send({"STATUS": text}, wait=0)

    def watchdog(self) -> bool:
        return self.send({"WATCHDOG": 1}, wait=0)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
