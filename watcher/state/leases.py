"""Who is running: the values `Transaction`'s instance and lease methods take and return.

An *instance* is one running ``watcher`` process sharing the state database with others; its
id is the owner name every lease it takes carries (see the lease section of
`watcher.state.transaction`).
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from functools import cache

LEADER = "leader"  # the role whose holder builds digests, prunes and updates official lists


@dataclass(frozen=True)
class InstanceInfo:
    """What an instance says about itself when it registers."""

    id: str  # unique per process run: the owner name of its leases
    host: str
    pid: int
    version: str  # the sanctions-watch release it runs


@dataclass(frozen=True)
class InstanceRow:
    """One registered instance as `watcher status` shows it."""

    id: str
    host: str
    pid: int
    version: str
    started_at: float
    heartbeat_at: float
    lease_until: float
    alive: bool  # its lease has not run out: the others leave its work alone
    roles: tuple[str, ...]  # named roles it holds now ('leader', ...)
    feeds_held: int  # feeds it holds a live lease on (polling them now)


def new_instance(version: str) -> InstanceInfo:
    """This process as an instance, under a fresh id (host, pid and a random part, so a
    restarted process that reuses a pid is not taken for its predecessor)."""
    host = socket.gethostname()
    pid = os.getpid()
    return InstanceInfo(f"{host}:{pid}:{secrets.token_hex(4)}", host, pid, version)


@cache
def _process_owner(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}:{secrets.token_hex(4)}"


def process_owner() -> str:
    """The owner name of claims taken by a caller that names none (single-instance code):
    one per process, a new one after fork."""
    return _process_owner(os.getpid())
