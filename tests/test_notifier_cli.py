"""`watcher digest` and `watcher send-test`, run as real subprocesses."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from notifier_samples import record_match
from smtpserver import PASSWORD, SmtpTestServer

from watcher.state.sqlite import Store


def _write_config(tmp_path: Path, **sections: object) -> Path:
    document: dict[str, object] = {
        "state_dir": str(tmp_path / "state"),
        "email": {
            "from": "sanctions-watch <watch@example.org>",
            "to": ["analyst@example.org"],
            "delivery": "directory",
            "directory": str(tmp_path / "mail"),
        },
        "digest": {"timezone": "UTC"},
    }
    document.update(sections)
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(document, indent=2))  # JSON is YAML
    return path


def _watcher(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watcher", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _record_two(tmp_path: Path) -> None:
    store = Store(tmp_path / "state")
    try:
        record_match(store, article="a1", entry="rosneft", title="Rosneft <b>output</b> up")
        record_match(store, article="a2", entry="lukoil", severity="medium")
    finally:
        store.close()


def _pending(tmp_path: Path) -> int:
    store = Store(tmp_path / "state")
    try:
        with store.transaction() as tx:
            return len(tx.pending_matches())
    finally:
        store.close()


def test_preview_prints_the_text_digest_and_marks_nothing(tmp_path: Path) -> None:
    config = _write_config(tmp_path)
    _record_two(tmp_path)
    result = _watcher("digest", "--preview", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "Subject: [sanctions-watch] 2 matches (1 high)" in result.stdout
    assert "Rosneft <b>output</b> up" in result.stdout  # text part: as written
    assert "[[Lukoil]]" in result.stdout
    assert _pending(tmp_path) == 2
    assert not (tmp_path / "mail").exists()


def test_preview_html_writes_the_html_part(tmp_path: Path) -> None:
    config = _write_config(tmp_path)
    _record_two(tmp_path)
    out = tmp_path / "digest.html"
    result = _watcher("digest", "--preview", "--html", str(out), "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # --html alone: no text on stdout
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert "Rosneft &lt;b&gt;output&lt;/b&gt; up" in html
    assert '<mark style="' in html
    assert _pending(tmp_path) == 2


def test_preview_says_when_nothing_would_be_sent(tmp_path: Path) -> None:
    config = _write_config(tmp_path)
    result = _watcher("digest", "--preview", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "nothing pending: no digest would be sent now" in result.stderr


def test_send_delivers_to_the_directory_once(tmp_path: Path) -> None:
    config = _write_config(tmp_path)
    _record_two(tmp_path)
    result = _watcher("digest", "--send", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "outbox: sent 1, failed 0, pending 0" in result.stdout
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 1
    assert _pending(tmp_path) == 0
    again = _watcher("digest", "--send", "--config", str(config))
    assert "nothing pending, none queued" in again.stdout
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 1


def test_digest_needs_preview_or_send(tmp_path: Path) -> None:
    result = _watcher("digest", "--config", str(_write_config(tmp_path)))
    assert result.returncode == 2
    assert "give exactly one of --preview or --send" in result.stderr


@pytest.fixture(name="server")
def server_fixture(tmp_path: Path):  # type: ignore[no-untyped-def]
    with SmtpTestServer(tmp_path) as server:
        yield server


def _smtp_section(server: SmtpTestServer, tmp_path: Path) -> dict[str, object]:
    password = tmp_path / "smtp-password"
    password.write_text(PASSWORD + "\n")
    return {
        "host": "127.0.0.1",
        "port": server.port,
        "security": "starttls",
        "username": "watcher",
        "password_file": str(password),
        "ca_file": str(server.ca_file),
        "timeout": "10s",
    }


def _smtp_config(tmp_path: Path, server: SmtpTestServer) -> Path:
    return _write_config(
        tmp_path,
        email={"from": "watch@example.org", "to": ["analyst@example.org"], "delivery": "smtp"},
        smtp=_smtp_section(server, tmp_path),
    )


def test_send_test_reports_the_server_reply(tmp_path: Path, server: SmtpTestServer) -> None:
    config = _smtp_config(tmp_path, server)
    result = _watcher("send-test", "--to", "ops@example.org", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "server reply: 250 2.0.0 Ok: queued as TEST0001" in result.stdout
    [received] = server.wait_for_messages(1)
    assert received.rcpt_tos == ("ops@example.org",)
    assert received.message["Subject"] == "[sanctions-watch] test message"
    assert received.message["X-Sanctions-Watch-Kind"] == "test"
    # the same 128-bit ids as digests and alerts (32 bits collide at scale)
    message_id = received.message["Message-ID"].strip()
    assert re.fullmatch(r"<test\.\d{8}T\d{6}Z-[0-9a-f]{32}\.1@.+>", message_id)


def test_send_test_auth_failure_is_clear_and_hides_the_password(
    tmp_path: Path, server: SmtpTestServer
) -> None:
    server.accept_password = "rotated"
    result = _watcher("send-test", "--config", str(_smtp_config(tmp_path, server)))
    assert result.returncode == 1
    assert "error: SMTP 127.0.0.1:" in result.stderr
    assert "login as 'watcher' failed: 535" in result.stderr
    assert PASSWORD not in result.stderr + result.stdout


def test_send_test_to_a_directory(tmp_path: Path) -> None:
    result = _watcher("send-test", "--config", str(_write_config(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert "server reply: 250 written to" in result.stdout
    [eml] = list((tmp_path / "mail").glob("*.eml"))
    assert b"test message" in eml.read_bytes()


def test_digest_send_over_smtp_reports_failure_and_keeps_the_message(
    tmp_path: Path, server: SmtpTestServer
) -> None:
    config = _smtp_config(tmp_path, server)
    _record_two(tmp_path)
    server.stop()
    down = _watcher("digest", "--send", "--config", str(config))
    assert down.returncode == 1
    assert "outbox: sent 0, failed 1, pending 1" in down.stdout
    assert "stay queued" in down.stderr
    assert _pending(tmp_path) == 0  # digested: the message itself waits in the outbox
