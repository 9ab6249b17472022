"""Delivery I/O: hand stored message bytes to an SMTP server, or write them as .eml files.

A mailer is an async context manager; inside it `send()` delivers one message and returns
what the server said. Failures raise `DeliveryError`, whose message is meant for a human
(it names the server, the SMTP reply and what to check) and never contains the password.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import re
import ssl
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

import aiosmtplib

from watcher.config.schema import Config, SmtpConfig
from watcher.errors import WatcherError

LOOPBACK_NAMES = {"localhost", "localhost.", "ip6-localhost"}


class DeliveryError(WatcherError):
    """A message could not be delivered now. `session` failures affect every message."""

    def __init__(self, message: str, *, session: bool = False) -> None:
        super().__init__(message)
        self.session = session  # the connection/login failed: stop trying others this round


@dataclass(frozen=True)
class Delivered:
    """The server's final reply to one message, and any recipients it refused."""

    code: int
    text: str
    refused: dict[str, str] = field(default_factory=dict)  # recipient -> "550 5.1.1 ..."

    def __str__(self) -> str:
        return f"{self.code} {self.text}".strip()


class Mailer(Protocol):
    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def send(
        self, sender: str, recipients: tuple[str, ...], data: bytes, message_id: str
    ) -> Delivered: ...


def mailer_for(config: Config) -> Mailer:
    """The mailer `email.delivery` asks for (credentials read now, errors raised now)."""
    if config.email.delivery == "directory":
        return DirectoryMailer(config.email.directory)
    return SmtpMailer(config.smtp, read_password(config.smtp))


def envelope_sender(config: Config) -> str:
    return parseaddr(config.email.from_)[1] or config.email.from_


# --- directory ------------------------------------------------------------------------------


class DirectoryMailer:
    """Writes each message to ``<directory>/<message-id>.eml``, atomically.

    The file name comes from the Message-ID, so delivering the same message twice (after a
    crash between writing and recording it) rewrites one file instead of adding a second.
    Writes (and their fsync) run in a thread of the mailer's own, off the event loop and
    not queued behind the daemon's parsing and matching.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._writer: ThreadPoolExecutor | None = None

    async def __aenter__(self) -> Self:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DeliveryError(
                f"email.directory: cannot create {self.directory}: {exc.strerror}", session=True
            ) from exc
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.shutdown(wait=False)  # nothing queued: each send awaited its write

    async def send(
        self, sender: str, recipients: tuple[str, ...], data: bytes, message_id: str
    ) -> Delivered:
        path = self.directory / f"{_file_stem(message_id)}.eml"
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="maildir")
        try:
            await asyncio.get_running_loop().run_in_executor(
                self._writer, _write_atomically, path, data
            )
        except OSError as exc:
            raise DeliveryError(f"cannot write {path}: {exc.strerror}", session=True) from exc
        return Delivered(250, f"written to {path}")


def _file_stem(message_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]", "_", message_id.strip("<>")) or "message"


def _write_atomically(path: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".eml")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


# --- SMTP -------------------------------------------------------------------------------------


def read_password(smtp: SmtpConfig) -> str | None:
    """The SMTP password from `password_file` or `password_env` (never from the config)."""
    if smtp.username is None:
        return None
    if smtp.password_file is not None:
        try:
            return smtp.password_file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise WatcherError(
                f"smtp.password_file: cannot read {smtp.password_file}: {exc.strerror}"
            ) from exc
    if smtp.password_env is not None:
        value = os.environ.get(smtp.password_env)
        if value is None:
            raise WatcherError(
                f"smtp.password_env: environment variable {smtp.password_env} is not set"
            )
        return value
    raise WatcherError(
        "smtp.username is set but no password source: set smtp.password_file "
        "(e.g. a systemd LoadCredential= file) or smtp.password_env"
    )


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def tls_context(smtp: SmtpConfig) -> ssl.SSLContext:
    """System trust store, plus `smtp.ca_file` when set (private relays, tests)."""
    context = ssl.create_default_context()
    if smtp.ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(smtp.ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise WatcherError(f"smtp.ca_file: cannot load {smtp.ca_file}: {exc}") from exc
    return context


class SmtpMailer:
    """One SMTP session: connect (TLS as configured), log in, then send messages."""

    def __init__(self, smtp: SmtpConfig, password: str | None) -> None:
        if smtp.security == "none" and not is_loopback(smtp.host):
            raise WatcherError(
                f"smtp.security: none sends mail (and any password) in clear text; it is only "
                f"allowed to a relay on this machine (localhost), not {smtp.host!r}. "
                "Use starttls or tls."
            )
        self.smtp = smtp
        self._password = password
        self._client: aiosmtplib.SMTP | None = None

    @property
    def server(self) -> str:
        return f"{self.smtp.host}:{self.smtp.port}"

    async def __aenter__(self) -> Self:
        client = aiosmtplib.SMTP(
            hostname=self.smtp.host,
            port=self.smtp.port,
            use_tls=self.smtp.security == "tls",
            # True, not None: refuse to continue (and log in) if the server lacks STARTTLS
            start_tls=self.smtp.security == "starttls",
            tls_context=tls_context(self.smtp) if self.smtp.security != "none" else None,
            timeout=self.smtp.timeout,
        )
        try:
            async with asyncio.timeout(self.smtp.timeout):
                await client.connect()
                if self.smtp.username is not None:
                    await client.login(self.smtp.username, self._password or "")
        except BaseException as exc:
            _close(client)
            if isinstance(exc, Exception):
                raise self._explain(exc, "connecting") from exc
            raise
        self._client = client
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            try:
                async with asyncio.timeout(self.smtp.timeout):
                    await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                _close(client)

    async def send(
        self, sender: str, recipients: tuple[str, ...], data: bytes, message_id: str
    ) -> Delivered:
        if self._client is None:
            raise RuntimeError("SmtpMailer.send() outside `async with`")
        if not recipients:
            raise DeliveryError("no recipients: set email.to in the config")
        try:
            async with asyncio.timeout(self.smtp.timeout):
                return await self._transaction(self._client, sender, recipients, data)
        except DeliveryError:
            raise
        except Exception as exc:
            raise self._explain(exc, f"sending {message_id}") from exc

    async def _transaction(
        self, client: aiosmtplib.SMTP, sender: str, recipients: tuple[str, ...], data: bytes
    ) -> Delivered:
        await client.mail(sender)
        refused: dict[str, str] = {}
        for recipient in recipients:
            try:
                await client.rcpt(recipient)
            except aiosmtplib.SMTPRecipientRefused as exc:
                refused[recipient] = f"{exc.code} {exc.message}"
        if len(refused) == len(recipients):
            await client.rset()
            said = "; ".join(f"{r}: {reply}" for r, reply in refused.items())
            raise DeliveryError(f"{self.server} refused every recipient ({said})")
        reply = await client.data(data)
        return Delivered(reply.code, reply.message, refused)

    def _explain(self, exc: Exception, doing: str) -> DeliveryError:
        where = f"SMTP {self.server} ({self.smtp.security})"
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            return DeliveryError(
                f"{where}: login as {self.smtp.username!r} failed: {exc.code} {exc.message} "
                "(check smtp.username and the password source)",
                session=True,
            )
        if _certificate_problem(exc):
            return DeliveryError(
                f"{where}: TLS certificate problem: {_root_cause(exc)} "
                "(for a private CA set smtp.ca_file)",
                session=True,
            )
        if isinstance(exc, TimeoutError | aiosmtplib.SMTPTimeoutError):
            return DeliveryError(
                f"{where}: no answer within smtp.timeout ({self.smtp.timeout:g}s) while {doing}",
                session=True,
            )
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            return DeliveryError(
                f"{where}: server said {exc.code} {exc.message} while {doing}",
                session=exc.code in {421} or doing == "connecting",
            )
        if isinstance(exc, aiosmtplib.SMTPException | OSError):
            return DeliveryError(f"{where}: {doing} failed: {_root_cause(exc)}", session=True)
        return DeliveryError(f"{where}: {doing} failed: {exc!r}", session=True)


def _certificate_problem(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(
            seen
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _root_cause(exc: BaseException) -> str:
    deepest = exc
    while deepest.__cause__ is not None:
        deepest = deepest.__cause__
    text = str(deepest) or type(deepest).__name__
    return text if deepest is exc else f"{exc} ({text})"


def _close(client: aiosmtplib.SMTP) -> None:
    with contextlib.suppress(OSError, RuntimeError):
        client.close()
