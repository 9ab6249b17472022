"""The test HTTP server itself: client resets are not reported as errors, other errors are."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

import pytest
from feedserver import QuietHTTPServer


def _report(error: Exception, capfd: pytest.CaptureFixture[str]) -> str:
    quiet = QuietHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    try:
        try:
            raise error
        except Exception:  # handle_error reads the exception being handled, as socketserver does
            quiet.handle_error(quiet.socket, ("127.0.0.1", 1))
    finally:
        quiet.server_close()
    return capfd.readouterr().err


def test_a_client_resetting_its_connection_prints_no_traceback(
    capfd: pytest.CaptureFixture[str],
) -> None:
    assert _report(ConnectionResetError(104, "Connection reset by peer"), capfd) == ""


def test_any_other_request_error_still_prints_its_traceback(
    capfd: pytest.CaptureFixture[str],
) -> None:
    assert "ValueError: broken handler" in _report(ValueError("broken handler"), capfd)
