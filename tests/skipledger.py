"""A pytest plugin: skipped tests are never quiet.

The run ends with one line counting what was skipped and why. Under CI (``CI=true``, which
`.ci/run` sets) any skip fails the run: CI has the shared corpora, chromium, systemd-analyze
and every service, so a skip there is a test that silently did not run. Registered by
``tests/conftest.py``; under xdist the workers' reports reach the controller's ledger too.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Generator

import pytest


def _under_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


class SkipLedger:
    """Every skipped test and its reason (under xdist, reports reach the controller too)."""

    def __init__(self) -> None:
        self.reasons: Counter[str] = Counter()

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped and not hasattr(report, "wasxfail"):
            longrepr = report.longrepr
            reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
            self.reasons[reason.removeprefix("Skipped: ")] += 1

    def summary(self) -> str:
        parts = [f"{reason} ({count})" for reason, count in self.reasons.most_common()]
        return f"skipped {self.reasons.total()} test(s): " + "; ".join(parts)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.reasons and _under_ci() and not hasattr(session.config, "workerinput"):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)  # outermost: after the short summary
    def pytest_terminal_summary(
        self, terminalreporter: pytest.TerminalReporter
    ) -> Generator[None, None, None]:
        yield
        if not self.reasons:
            return
        terminalreporter.write_line(self.summary(), yellow=not _under_ci(), red=_under_ci())
        if _under_ci():
            terminalreporter.write_line(
                "FAILED: tests skipped under CI=true (CI has the shared corpora and every "
                "tool; a skip there hides a test that did not run)",
                red=True,
            )


def pytest_configure(config: pytest.Config) -> None:
    """Registers the ledger when loaded with ``-p skipledger``."""
    if not config.pluginmanager.has_plugin("skip-ledger"):
        config.pluginmanager.register(SkipLedger(), "skip-ledger")
