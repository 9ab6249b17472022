"""Logging set-up, called only from the CLI: one line per event, ``key=value`` fields.

Under systemd (``JOURNAL_STREAM`` set) lines carry sd-daemon priority prefixes (``<3>``...)
and no timestamps, since journald adds its own. A message that spans lines (a traceback)
gets the prefix on every line, so journald never files a continuation at the wrong level.

Write every event as ``log.info("%s", kv(event="poll", feed=url, new=3))``, ``event=`` first,
never printf-style fields: they stay greppable (``journalctl -u sanctions-watch | grep
'event=poll'``) and values with spaces are quoted.
"""

from __future__ import annotations

import logging
import os
import sys

_PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@+,%")


def kv(**fields: object) -> str:
    """``key=value`` pairs in the given order; values quoted when they need it; None skipped."""
    return " ".join(f"{key}={_value(value)}" for key, value in fields.items() if value is not None)


def _value(value: object) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    if text and all(ch in _PLAIN for ch in text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def for_journal(text: str, level: int = logging.ERROR) -> str:
    """``text`` with a priority prefix on every line when stderr goes to journald (for
    messages printed outside logging, such as the CLI's final ``error: ...``)."""
    if not os.environ.get("JOURNAL_STREAM"):
        return text
    prefix = f"<{_PRIORITY.get(level, 6)}>"
    return "\n".join(prefix + line for line in text.split("\n"))


class _JournalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{_PRIORITY.get(record.levelno, 6)}>"
        return "\n".join(prefix + line for line in super().format(record).split("\n"))


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(_JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # APScheduler and httpx log every job run and request at INFO; that chatter is for
    # --log-level debug (our own poll/send events say what happened, once).
    chatter = logging.WARNING if root.level > logging.DEBUG else logging.DEBUG
    for name in ("apscheduler", "httpx", "httpcore"):
        logging.getLogger(name).setLevel(chatter)
