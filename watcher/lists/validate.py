"""What a real official list never is, checked before an update replaces the list in force.

Pure: each check takes what was downloaded or imported and raises `ListRejectedError` naming the
list, the URL or the file, and what to do. The importers refuse files cut short
(`watcher.importers.ofac.check_complete`, XML that does not parse); these checks catch what
parses but is still wrong: an HTML error or login page served with 200, an empty body, and a
new version that suddenly lost most of the list's entries.
"""

from __future__ import annotations

from collections.abc import Mapping

from watcher.errors import WatcherError

DEFAULT_MAX_LOSS = 0.5  # a new version may lose at most this share of the list's entries
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body")


class ListRejectedError(WatcherError):
    """A downloaded or imported list version that must not replace the list in force."""


def check_download(list_name: str, url: str, body: bytes, headers: Mapping[str, str]) -> None:
    """Refuse an empty body or an HTML page (an error, captcha or login page sent with 200)."""
    if not body.strip():
        raise ListRejectedError(f"list {list_name}: {url} returned an empty body")
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    start = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    # a list mislabelled text/html is still a list; markup that is not XML is a page
    labelled = content_type in ("text/html", "application/xhtml+xml")
    markup = start.startswith(b"<") and not start.startswith(b"<?xml")
    if start.startswith(_HTML_STARTS) or (labelled and markup):
        raise ListRejectedError(
            f"list {list_name}: {url} returned an HTML page, not a list file"
            " (an error or login page?); check the URL in the config's lists: section"
        )


def check_loss(list_name: str, old_count: int, new_count: int, max_loss: float) -> None:
    """Refuse a version that lost more than `max_loss` of the entries in force."""
    if old_count and new_count < old_count * (1 - max_loss):
        lost = old_count - new_count
        raise ListRejectedError(
            f"list {list_name}: the new version has {new_count} entries, {lost} fewer than the"
            f" {old_count} in force (more than {max_loss:.0%} lost at once); the list in force"
            " is kept. If the loss is real, raise max_loss for this list or import it by hand"
            " with `watcher import`"
        )
