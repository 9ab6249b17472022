"""The daemon's handlers: what `watcher run` does, apart from how it lives.

The controller (`watcher.service.controller`) owns the life cycle; these only behave, each
given a `Context` at construction (the state, the running config behind one accessor that
a reload swaps, worker pools, `Controls`, what it may ask of the controller, and the
`Instance`: this process among those sharing the state, whose id owns its claims):

- `polling`: the poll loop on the database's clock (``feeds.next_poll``), polling the due
  feeds it claims (any instance);
- `mail`: the digest (the leader only), alerts after polls (any instance), the outbox drain
  (any instance: each message claimed by one), retry-now;
- `lists`: official list updates and back-screening (the leader only);
- `retention`: pruning old state and long-dead instances (the leader only);
- `reload`: re-reading config and watchlists, and the file watch that triggers it (each
  instance its own files).

A leader-only job on an instance that does not lead is a logged no-op naming the leader;
whether it leads is asked of the state at that moment (`Instance.lead`), never remembered.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from watcher.service.handlers.context import Context, Work
from watcher.service.handlers.lists import Lists
from watcher.service.handlers.mail import Mail
from watcher.service.handlers.polling import PollLoop
from watcher.service.handlers.reload import Reloader
from watcher.service.handlers.retention import Retention
from watcher.service.jobs import JobKind


@dataclass(frozen=True)
class Handlers:
    mail: Mail
    polling: PollLoop
    lists: Lists
    retention: Retention
    reloader: Reloader

    @classmethod
    def build(cls, ctx: Context, config_path: Path | None) -> Handlers:
        mail = Mail(ctx)
        polling = PollLoop(ctx, mail)
        reloader = Reloader(ctx, config_path, polling.wake)
        return cls(mail, polling, Lists(ctx, mail, reloader.reload), Retention(ctx), reloader)

    def jobs(self) -> dict[JobKind, Work]:
        """What each scheduled job (`watcher.service.jobs`) runs."""
        return {
            "digest": self.mail.digest_now,
            "drain": self.mail.drain_now,
            "prune": self.retention.prune,
            "watch": self.reloader.check_files,
            "lists": self.lists.update,
        }
