"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 with STARTTLS (or implicit TLS) and AUTH.

The certificate comes from a throwaway trustme CA; point `smtp.ca_file` at `server.ca_file`.
The server can be stopped and started again on the same port (an outage), refuse chosen
recipients, and reject logins. Received messages are kept in `server.messages`.

    with SmtpTestServer(tmp_path) as server:
        config = make_config(..., smtp=server.smtp_config())
        ...
        server.wait_for_messages(1)
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword, Session

from watcher.config.schema import SmtpConfig

USERNAME = "watcher"
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    at: float = 0.0  # time.time() when the server took it (before its 250 reply)

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


def plain_text(message: EmailMessage) -> str:
    """The text/plain body of a digest or alert, as a reader sees it."""
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def of_kind(messages: list[Received], kind: str) -> list[EmailMessage]:
    """The messages whose X-Sanctions-Watch-Kind is `kind` (digest, alert, test)."""
    return [m.message for m in messages if m.message["X-Sanctions-Watch-Kind"] == kind]


class _Handler:
    def __init__(self, server: SmtpTestServer) -> None:
        self.server = server

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, smtp: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.server.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_MAIL(  # noqa: N802 (aiosmtpd's hook name)
        self, smtp: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        drop_after = self.server.drop_after
        if drop_after is not None and len(self.server.messages) >= drop_after:
            smtp.transport.abort()  # the connection drops at once: no reply, no TLS goodbye
            return "421 4.3.0 closing"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.server.lock:
            self.server.messages.append(
                Received(
                    envelope.mail_from,
                    tuple(envelope.rcpt_tos),
                    bytes(envelope.content),
                    time.time(),
                )
            )
            number = len(self.server.messages)
        return f"250 2.0.0 Ok: queued as TEST{number:04d}"


class _QuietSession(Session):  # type: ignore[misc]
    """aiosmtpd 1.4 sets the deprecated `login_data` on every login, which warns; our
    warnings-are-errors test run would turn that into a server-side crash."""

    @property
    def login_data(self) -> Any:
        return self._login_data

    @login_data.setter
    def login_data(self, value: Any) -> None:
        self._login_data = value


class _Smtp(SMTP):  # type: ignore[misc]
    def _create_session(self) -> Session:
        return _QuietSession(self.loop)


class _Controller(Controller):  # type: ignore[misc]
    def factory(self) -> SMTP:
        return _Smtp(self.handler, **self.SMTP_kwargs)


class SmtpTestServer:
    """aiosmtpd in a thread. `tls`: "starttls" (required before AUTH), "tls" (implicit) or
    "none" (plain, no STARTTLS, no AUTH: a local relay)."""

    def __init__(
        self,
        cert_dir: Path,
        *,
        tls: str = "starttls",
        auth: bool = True,
        refuse: frozenset[str] = frozenset(),
        drop_after: int | None = None,
        port: int | None = None,
        cert_names: tuple[str, ...] = ("localhost", "127.0.0.1"),
    ) -> None:
        self.tls = tls
        self.auth = auth
        self.refuse = set(refuse)
        self.drop_after = drop_after  # accept this many messages, then drop the connection
        self.port = port or free_port()
        self.accept_password = PASSWORD
        self.messages: list[Received] = []
        self.logins: list[str] = []
        self.lock = threading.Lock()
        self._ca = trustme.CA()
        cert = self._ca.issue_cert(*cert_names)
        self._server_context = _server_context(cert)
        self.ca_file = cert_dir / "smtp-test-ca.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_file))
        self._controller: _Controller | None = None

    # lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        kwargs: dict[str, Any] = {
            "hostname": "127.0.0.1",
            "port": self.port,
            "server_hostname": "smtp.test",
            "ready_timeout": 10.0,
        }
        if self.tls == "none":  # a plain relay: no STARTTLS offered (AUTH impossible)
            pass
        elif self.tls == "tls":
            kwargs["ssl_context"] = self._server_context
            # the whole connection is TLS, but aiosmtpd only counts STARTTLS as "TLS"; and it
            # warns about auth_required without auth_require_tls, so AUTH is offered, not forced
            kwargs["auth_require_tls"] = False
        else:
            kwargs["tls_context"] = self._server_context
            kwargs["require_starttls"] = True
        if self.auth and self.tls != "none":
            kwargs["authenticator"] = self._authenticate
            kwargs["auth_required"] = self.tls != "tls"
        self._controller = _Controller(_Handler(self), **kwargs)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def __enter__(self) -> SmtpTestServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # helpers ----------------------------------------------------------------------------

    def smtp_config(self, **overrides: Any) -> SmtpConfig:
        """A config section that reaches this server (password via a file under cert_dir)."""
        password_file = self.ca_file.with_name("smtp-password")
        password_file.write_text(PASSWORD + "\n", encoding="utf-8")
        values: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "security": self.tls,
            "username": USERNAME if self.auth and self.tls != "none" else None,
            "password_file": password_file if self.auth and self.tls != "none" else None,
            "timeout": 10.0,
            "ca_file": self.ca_file,
        }
        values.update(overrides)
        return SmtpConfig(**values)

    def wait_for_messages(self, count: int, deadline: float = 10.0) -> list[Received]:
        """Poll (no fixed sleep) until at least `count` messages arrived."""
        give_up = time.monotonic() + deadline
        while time.monotonic() < give_up:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.01)
        raise AssertionError(f"expected {count} messages, got {len(self.messages)}")

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode()
        ok = user == USERNAME and auth_data.password.decode() == self.accept_password
        if ok:
            self.logins.append(user)
        # handled=False: aiosmtpd then sends the 535 reply itself
        return AuthResult(success=ok, handled=ok)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server_context(cert: trustme.LeafCert) -> Any:
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context
