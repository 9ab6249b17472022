"""deploy/: the example config documents every key and validates; the unit passes its checks."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from watcher.config.schema import Config
from watcher.config.settings import load_config

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
EXAMPLE = DEPLOY / "config.example.yaml"


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        keys.append(prefix + key)
        annotation = field.annotation
        if typing.get_origin(annotation) is tuple:  # feeds:, lists: (a list of sections)
            annotation = typing.get_args(annotation)[0]
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys += _keys(annotation, f"{prefix}{key}.")
    return keys


CREDENTIAL = "/run/credentials/sanctions-watch.service/smtp-password"


def test_example_config_is_valid_as_installed(tmp_path: Path) -> None:
    """Through the product's own loader, laid out as deploy/INSTALL.md installs it: beside
    the watchlists, with the SMTP password systemd provides (here a file of our own)."""
    text = EXAMPLE.read_text(encoding="utf-8")
    assert CREDENTIAL in text
    password = tmp_path / "smtp-password"
    password.write_text("secret\n", encoding="utf-8")
    shutil.copytree(DEPLOY.parent / "watchlists", tmp_path / "watchlists")
    installed = tmp_path / "config.yaml"
    installed.write_text(text.replace(CREDENTIAL, str(password)), encoding="utf-8")
    config = load_config(installed)
    assert config.watchlists == (tmp_path / "watchlists",)
    assert config.smtp.password_file == password
    assert [feed.url for feed in config.feeds] == [
        "https://www.example.com/world/rss.xml",
        "https://news.example.org/feeds/business.atom",
    ]


DB_CREDENTIAL = "/run/credentials/sanctions-watch.service/db-password"


def test_example_config_database_section_is_valid_uncommented(tmp_path: Path) -> None:
    """The commented-out ``database:`` block, uncommented as a user would, loads as written."""
    text = EXAMPLE.read_text(encoding="utf-8")
    block = re.search(r"^# database:\n(?:#   .*\n)+", text, re.M)
    assert block is not None
    uncommented = re.sub(r"^# ?", "", block.group(0), flags=re.M)
    shutil.copytree(DEPLOY.parent / "watchlists", tmp_path / "watchlists")
    installed = tmp_path / "config.yaml"
    installed.write_text(
        text.replace(block.group(0), uncommented).replace(CREDENTIAL, str(tmp_path / "smtp")),
        encoding="utf-8",
    )
    (tmp_path / "smtp").write_text("secret\n", encoding="utf-8")
    database = load_config(installed).database
    assert database is not None
    assert database.url == "postgresql://watcher@db.example.org:5432/sanctions"
    # not read when loading: systemd creates the credential when the service starts
    assert (database.password_file, database.lease) == (Path(DB_CREDENTIAL), 30.0)


def test_example_config_mentions_every_key() -> None:
    text = EXAMPLE.read_text()
    # a key counts when it appears as "key:" (set or commented out) in the file
    missing = [
        key
        for key in _keys(Config)
        if not re.search(rf"^\s*#?\s*(- )?{re.escape(key.split('.')[-1])}:", text, re.M)
    ]
    assert missing == []


def test_unit_passes_verify_and_security_checks() -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed (apt-get install systemd)")
    result = subprocess.run(
        ["bash", str(DEPLOY / "check-unit.sh")],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok: nothing printed" in result.stdout
    assert re.search(r"ok: exposure \d\.\d <= 2\.0", result.stdout)


def _check_unit(copy: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """deploy/check-unit.sh of the checkout copied to `copy`, run from there."""
    return subprocess.run(
        ["bash", str(copy / "deploy" / "check-unit.sh")],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
        cwd=copy,
        env=env,
    )


def test_unit_check_runs_from_any_checkout_with_any_venv(tmp_path: Path) -> None:
    """Not only from this checkout with its .venv: a copy elsewhere finds the venv that is
    active or on PATH (here: the one running these tests)."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed (apt-get install systemd)")
    shutil.copytree(DEPLOY, tmp_path / "deploy")
    venv_bin = Path(sys.executable).parent
    assert (venv_bin / "watcher").exists()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "WATCHER_VENV")}
    env["PATH"] = f"{venv_bin}:/usr/bin:/bin"
    result = _check_unit(tmp_path, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok: nothing printed" in result.stdout

    env["PATH"] = "/usr/bin:/bin"  # nowhere to be found: says so, and how to point at it
    result = _check_unit(tmp_path, env)
    assert result.returncode != 0
    assert "set WATCHER_VENV" in result.stderr


def test_unit_does_not_restart_on_what_a_restart_cannot_fix() -> None:
    from watcher.errors import EX_CANTCREAT, EX_DATAERR

    unit = (DEPLOY / "sanctions-watch.service").read_text()
    (line,) = re.findall(r"^RestartPreventExitStatus=(.*)$", unit, re.M)
    assert {str(EX_DATAERR), str(EX_CANTCREAT)} <= set(line.split())
    assert re.search(r"^Restart=on-failure$", unit, re.M)
