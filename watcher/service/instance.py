"""This process as one of the instances sharing the state (issue 10).

Every ``watcher run`` registers itself in the state at start (`Instance.register`), renews
its leases with a heartbeat every third of the lease (`Instance.beat`, from the event loop,
so a stalled loop stops renewing) and retires at a clean stop (`Instance.retire`: its feeds,
leadership and claimed mail go to the others at once, not after the lease). The same code
runs with one instance on SQLite and with several on PostgreSQL: with one, it is always the
leader and holds every feed it polls.

The *leader* (the holder of the LEADER role, `watcher.state.leases`) builds the digest (its
cron, the catch-up of a missed one, SIGUSR1), prunes and updates the official lists; the
role is claimed with every heartbeat, so when the leader dies another takes it within the
lease. Everything else (polling, alerts, the drain) is shared through claims.

A heartbeat that comes too late (a paused VM, a long stall: the lease ran out, so the others
may have taken the instance's work) is refused by the state. The instance then gives back
whatever it still holds, registers afresh under a new id and goes on; its polls and sends in
flight finish under the old id (a poll whose feed another instance took meanwhile says so in
the log and is harmless: matches are stored once per article and entry).

`Registration` is the same life for the one-shot commands (``poll --once``, ``digest
--send``, ``run --once``): registered, heartbeating in the background, retired at the end,
so a run beside daemons on other hosts claims what it works on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable

from watcher import __version__
from watcher.config.schema import Config
from watcher.logs import kv
from watcher.state.interface import StateStore
from watcher.state.leases import LEADER, InstanceInfo, new_instance

log = logging.getLogger(__name__)

DEFAULT_LEASE = 30.0  # seconds; `database.lease` when the config has one
DEAD_RETENTION = 7 * 86400.0  # a dead instance's row stays this long (`watcher status`)


def sole_writer(config: Config) -> bool:
    """Whether the state directory's lock (`watcher.state.lock.StateLock`, held by every
    process that writes the state) makes its holder the only instance: SQLite, the file
    in that directory. A shared database (``database:``) has instances on other hosts."""
    return config.database is None


def lease_seconds(config: Config) -> float:
    """How long a claim outlives a silent instance: ``database.lease``, else 30 s."""
    return config.database.lease if config.database is not None else DEFAULT_LEASE


class Instance:
    """One registered instance: its id (changes when it re-registers), its lease and
    whether it leads. Each method is one short write transaction on ``store``.

    ``on_leader`` is called whenever this instance takes the leadership (at registration,
    by a heartbeat, or by a leader-only job claiming it first), so the new leader catches up
    a digest the previous one missed."""

    def __init__(
        self,
        store: StateStore,
        lease: float,
        *,
        version: str = __version__,
        on_leader: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self.lease = lease
        self._version = version
        self.info: InstanceInfo = new_instance(version)
        self.leader = False
        self.on_leader = on_leader

    @property
    def id(self) -> str:
        return self.info.id

    def register(self, now: float, *, sole: bool = False) -> None:
        """Record this instance as alive and take the leadership when no one holds it.

        ``sole``: the caller holds the state directory's single-writer lock on a SQLite
        state, so every other registered instance is dead (killed: no clean stop gave its
        leases back). Their work is taken over at once rather than after the lease, as
        before there were leases."""
        with self._store.transaction() as tx:
            if sole:
                for other in tx.instances(now):
                    if other.id != self.id:
                        tx.retire_instance(other.id)
            tx.register_instance(self.info, now, now + self.lease)
            leader = tx.claim_role(LEADER, self.id, now, now + self.lease)
        log.info(
            "%s",
            kv(event="instance", result="registered", instance=self.id, leader=leader),
        )
        self._leading(leader)

    def beat(self, now: float) -> bool:
        """Renew every lease this instance holds and claim (or renew) the leadership.
        False: the state presumed this instance dead (its lease ran out); what it still
        held is given back and it is registered afresh under a new id."""
        with self._store.transaction() as tx:
            if tx.heartbeat(self.id, now, now + self.lease):
                leader = tx.claim_role(LEADER, self.id, now, now + self.lease)
                renewed = True
            else:
                tx.retire_instance(self.id)  # whatever the others have not taken yet
                renewed = leader = False
        self._leading(leader)
        if not renewed:
            log.warning(
                "%s",
                kv(
                    event="instance",
                    result="presumed-dead",
                    instance=self.id,
                    action="gave back its work, registering afresh",
                ),
            )
            self.info = new_instance(self._version)
            self.register(now)  # not sole: this process may hold the lock still
        return renewed

    def lead(self, now: float) -> bool:
        """Whether this instance leads now (claimed or renewed in the state: never only
        from memory, so a leader whose lease ran out does not act as one)."""
        with self._store.transaction() as tx:
            leader = tx.claim_role(LEADER, self.id, now, now + self.lease)
        self._leading(leader)
        return leader

    def _leading(self, leader: bool) -> None:
        was, self.leader = self.leader, leader
        if leader == was:
            return
        log.info(
            "%s", kv(event="leader", instance=self.id, result="acquired" if leader else "lost")
        )
        if leader and self.on_leader is not None:
            self.on_leader()

    def lead_for(self, event: str, reason: str, now: float) -> bool:
        """`lead`, saying in the log that a leader-only job is skipped here (and who
        leads) when this instance does not lead."""
        if self.lead(now):
            return True
        log.info(
            "%s",
            kv(
                event=event,
                reason=reason,
                result="skipped-not-leader",
                leader=self.leader_id(now) or "none",
            ),
        )
        return False

    def leader_id(self, now: float) -> str | None:
        """Which instance leads now (None: no one)."""
        with self._store.snapshot() as tx:
            return tx.role_holder(LEADER, now)

    def retire(self) -> None:
        """A clean stop: give back every lease at once and leave the instances table."""
        with self._store.transaction() as tx:
            tx.retire_instance(self.id)
        self.leader = False
        log.info("%s", kv(event="instance", result="retired", instance=self.id))


def heartbeat_interval(lease: float) -> float:
    """Seconds between heartbeats: three chances to renew before a lease runs out."""
    return lease / 3.0


class Registration:
    """A one-shot command as an instance: registered, renewed in the background while it
    works, retired at the end (``async with Registration.of(store, config) as me``)."""

    def __init__(self, instance: Instance, clock: Callable[[], float]) -> None:
        self.instance = instance
        self._clock = clock

    @classmethod
    @contextlib.asynccontextmanager
    async def of(
        cls,
        store: StateStore,
        config: Config,
        clock: Callable[[], float] = time.time,
        *,
        sole: bool = False,
    ) -> AsyncIterator[Instance]:
        instance = Instance(store, lease_seconds(config))
        instance.register(clock(), sole=sole)
        beating = asyncio.get_running_loop().create_task(cls(instance, clock)._beat())
        try:
            yield instance
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
            instance.retire()

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(heartbeat_interval(self.instance.lease))
            try:
                self.instance.beat(self._clock())
            except Exception:  # the state failed: the work itself will say so
                log.exception("%s", kv(event="heartbeat", result="error"))
