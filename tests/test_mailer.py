"""Delivery against a real aiosmtpd server on 127.0.0.1 (STARTTLS/TLS + AUTH, trustme CA)."""

from __future__ import annotations

import asyncio
import logging
from email.policy import SMTP
from pathlib import Path

import pytest
from notifier_samples import digest_message, sample_matches, sample_problems, settings
from smtpserver import PASSWORD, SmtpTestServer, free_port

from watcher.config.schema import SmtpConfig
from watcher.errors import WatcherError
from watcher.notify.mailer import (
    DeliveryError,
    DirectoryMailer,
    SmtpMailer,
    is_loopback,
    read_password,
)

SENDER = "watch@example.org"


def _digest_bytes() -> tuple[str, bytes]:
    message = digest_message(sample_matches(), sample_problems(), settings(), "d-mailer")
    return str(message["Message-ID"]), message.as_bytes(policy=SMTP)


async def _send(config: SmtpConfig, recipients: tuple[str, ...] = ("analyst@example.org",)):  # type: ignore[no-untyped-def]
    message_id, data = _digest_bytes()
    async with SmtpMailer(config, read_password(config)) as mailer:
        return await mailer.send(SENDER, recipients, data, message_id)


@pytest.fixture(name="server")
def server_fixture(tmp_path: Path):  # type: ignore[no-untyped-def]
    with SmtpTestServer(tmp_path, refuse=frozenset({"nobody@example.org"})) as server:
        yield server


async def test_starttls_auth_delivers_text_and_html(server: SmtpTestServer) -> None:
    reply = await _send(server.smtp_config(), ("analyst@example.org", "desk@example.org"))
    assert reply.code == 250 and reply.text.startswith("2.0.0 Ok: queued as TEST")
    [received] = server.wait_for_messages(1)
    assert received.mail_from == SENDER
    assert received.rcpt_tos == ("analyst@example.org", "desk@example.org")
    assert server.logins == ["watcher"]
    message = received.message
    assert message.get_content_type() == "multipart/alternative"
    assert "[[Lavrov's]]" in message.get_body(("plain",)).get_content()
    assert "<mark" in message.get_body(("html",)).get_content()
    assert message["Message-ID"] == "<digest.d-mailer.1@example.org>"


async def test_implicit_tls_delivers(tmp_path: Path) -> None:
    with SmtpTestServer(tmp_path, tls="tls") as server:
        reply = await _send(server.smtp_config())
        assert reply.code == 250
        assert len(server.wait_for_messages(1)) == 1
        assert server.logins == ["watcher"]


async def test_auth_failure_is_a_clear_error_without_the_password(
    server: SmtpTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.accept_password = "something else"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(DeliveryError) as caught:
        await _send(server.smtp_config())
    text = str(caught.value)
    assert "login as 'watcher' failed: 535" in text
    assert caught.value.session
    assert PASSWORD not in text and PASSWORD not in caplog.text
    assert server.messages == []


async def test_some_recipients_refused_is_reported_and_the_rest_delivered(
    server: SmtpTestServer,
) -> None:
    reply = await _send(server.smtp_config(), ("analyst@example.org", "nobody@example.org"))
    assert reply.code == 250
    assert reply.refused == {
        "nobody@example.org": "550 5.1.1 <nobody@example.org>: Recipient address rejected: "
        "User unknown"
    }
    [received] = server.wait_for_messages(1)
    assert received.rcpt_tos == ("analyst@example.org",)


async def test_every_recipient_refused_is_an_error_naming_the_reply(
    server: SmtpTestServer,
) -> None:
    with pytest.raises(DeliveryError, match=r"refused every recipient.*nobody@example.org: 550"):
        await _send(server.smtp_config(), ("nobody@example.org",))
    assert server.messages == []


async def test_untrusted_certificate_is_a_clear_error(server: SmtpTestServer) -> None:
    with pytest.raises(DeliveryError, match=r"TLS certificate problem.*smtp\.ca_file"):
        await _send(server.smtp_config(ca_file=None))
    assert server.logins == []


async def test_certificate_for_another_name_is_refused(tmp_path: Path) -> None:
    with SmtpTestServer(tmp_path, cert_names=("mail.example.org",)) as server:
        with pytest.raises(DeliveryError, match=r"TLS certificate problem.*(mismatch|match)"):
            await _send(server.smtp_config())  # trusted CA, but not 127.0.0.1's certificate
        assert server.logins == []


async def test_starttls_refuses_to_continue_without_tls(tmp_path: Path) -> None:
    with SmtpTestServer(tmp_path, tls="none") as plain:
        config = plain.smtp_config(
            security="starttls", username="watcher", password_env="SW_TEST_PASSWORD"
        )
        with pytest.raises(DeliveryError, match=r"(?i)starttls"):
            async with SmtpMailer(config, "secret"):
                pass
        assert plain.messages == [] and plain.logins == []


async def test_security_none_is_allowed_to_a_local_relay(tmp_path: Path) -> None:
    with SmtpTestServer(tmp_path, tls="none") as relay:
        reply = await _send(relay.smtp_config())
        assert reply.code == 250
        assert len(relay.wait_for_messages(1)) == 1


def test_security_none_is_refused_for_a_remote_host() -> None:
    config = SmtpConfig(host="smtp.example.org", security="none")
    with pytest.raises(WatcherError, match="only allowed to a relay on this machine"):
        SmtpMailer(config, None)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("10.0.0.1", False),
        ("smtp.example.org", False),
        ("localhost.evil.org", False),
    ],
)
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


async def test_server_down_is_a_session_error(tmp_path: Path) -> None:
    config = SmtpConfig(host="127.0.0.1", port=free_port(), security="starttls", timeout=5.0)
    with pytest.raises(DeliveryError) as caught:
        await _send(config)
    assert caught.value.session
    assert "Connect call failed" in str(caught.value) or "refused" in str(caught.value)


async def test_whole_send_deadline(tmp_path: Path) -> None:
    """A server that accepts the connection but never speaks: give up at smtp.timeout."""

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up and closes
        writer.close()

    listener = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    config = SmtpConfig(host="127.0.0.1", port=port, security="starttls", timeout=0.5)
    try:
        with pytest.raises(DeliveryError, match=r"no answer within smtp\.timeout \(0\.5s\)"):
            await asyncio.wait_for(_send(config), timeout=10)
    finally:
        listener.close()
        await listener.wait_closed()


def test_password_from_file_strips_the_newline(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text("s3cret\n")
    assert read_password(SmtpConfig(username="u", password_file=path)) == "s3cret"


def test_password_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SW_SMTP_PASSWORD", "from-env")
    assert read_password(SmtpConfig(username="u", password_env="SW_SMTP_PASSWORD")) == "from-env"
    monkeypatch.delenv("SW_SMTP_PASSWORD")
    with pytest.raises(WatcherError, match="SW_SMTP_PASSWORD is not set"):
        read_password(SmtpConfig(username="u", password_env="SW_SMTP_PASSWORD"))


def test_password_source_problems_are_clear(tmp_path: Path) -> None:
    assert read_password(SmtpConfig()) is None  # no username: no login, no password
    with pytest.raises(WatcherError, match="no password source"):
        read_password(SmtpConfig(username="u"))
    with pytest.raises(WatcherError, match=r"smtp\.password_file: cannot read"):
        read_password(SmtpConfig(username="u", password_file=tmp_path / "missing"))


async def test_directory_delivery_writes_one_file_per_message_id(tmp_path: Path) -> None:
    message_id, data = _digest_bytes()
    outdir = tmp_path / "out" / "nested"
    async with DirectoryMailer(outdir) as mailer:
        first = await mailer.send(SENDER, ("a@example.org",), data, message_id)
        again = await mailer.send(SENDER, ("a@example.org",), data, message_id)
    files = sorted(outdir.iterdir())
    assert [f.name for f in files] == ["digest.d-mailer.1@example.org.eml"]
    assert files[0].read_bytes() == data
    assert first.code == 250 and str(files[0]) in first.text and again == first


async def test_directory_delivery_error_is_clear(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(DeliveryError, match=r"email\.directory: cannot create"):
        async with DirectoryMailer(blocker / "sub"):
            pass
