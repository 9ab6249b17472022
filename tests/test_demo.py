"""`watcher demo`: offline, one command, a real digest; also from a non-editable build."""

from __future__ import annotations

import email
import email.policy
import os
import re
import subprocess
import sys
import zipfile
from email.message import EmailMessage
from pathlib import Path

from smtpserver import plain_text

ROOT = Path(__file__).resolve().parents[1]
# the wheel `pip install .` builds, made by the project's build backend (PEP 517 hook)
BUILD_WHEEL = "import sys, hatchling.build as b; print(b.build_wheel(sys.argv[1]))"


def _demo(directory: Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "watcher", "demo", "--dir", str(directory)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _digest(stdout: str, cwd: Path) -> tuple[Path, EmailMessage, int, int]:
    found = re.search(r"^digest: (\S+\.eml) \((\d+) matches, (\d+) high\)$", stdout, re.M)
    assert found, stdout
    path = cwd / found.group(1)
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return path, message, int(found.group(2)), int(found.group(3))


def test_demo_writes_a_real_digest_offline(tmp_path: Path) -> None:
    stdout = _demo(Path("demo-run"), cwd=tmp_path)
    path, digest, matches, high = _digest(stdout, tmp_path)
    assert path.parent == tmp_path / "demo-run" / "outbox"
    assert digest["X-Sanctions-Watch-Kind"] == "digest"
    assert matches >= 15 and 0 < high < matches
    text = plain_text(digest)
    for name in ("Rosneft", "Lukoil", "Dmitry Peskov", "Sergei Lavrov", "Alexander Novak"):
        assert name in text
    # the sample feeds' deliberate near-misses stay out
    for noise in ("Djokovic", "Rasputin", "sourdough"):
        assert noise not in text
    html = path.with_suffix(".html")
    assert f"open {html.relative_to(tmp_path)} in a browser" in stdout
    assert "<html" in html.read_text(encoding="utf-8").lower()
    alerts = re.search(r"^alerts: (\d+) immediate", stdout, re.M)
    assert alerts and int(alerts.group(1)) >= 1
    # the sample feeds are frozen in time: their age is no news (not in the digest, nor later)
    assert "STALE" not in text.upper()
    status = subprocess.run(
        [sys.executable, "-m", "watcher", "status", "--config", "demo-run/config.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=50,
        check=True,
    )
    assert status.stdout.startswith("feeds: 3 (3 ok)")


def test_demo_runs_again_from_scratch_and_keeps_edited_watchlists(tmp_path: Path) -> None:
    _demo(tmp_path / "run", cwd=tmp_path)
    energy = tmp_path / "run" / "watchlists" / "russia-energy.yaml"
    energy.write_text(energy.read_text().replace("severity: high", "severity: low"))
    stdout = _demo(tmp_path / "run", cwd=tmp_path)
    _, digest, matches, _ = _digest(stdout, tmp_path)
    assert matches >= 15  # state and outbox were reset: the same matches again
    assert "severity: low" in energy.read_text()
    assert "LOW SEVERITY" in plain_text(digest).upper()


def test_demo_refuses_a_directory_that_is_not_its_own(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    result = subprocess.run(
        [sys.executable, "-m", "watcher", "demo", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert result.returncode == 1
    assert "not a demo directory" in result.stderr
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_demo_works_from_a_non_editable_build(tmp_path: Path) -> None:
    lib, dist = tmp_path / "lib", tmp_path / "dist"
    before = sorted(os.listdir(ROOT))
    built = subprocess.run(
        [sys.executable, "-c", BUILD_WHEEL, str(dist)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=50,
    )
    # the build leaves nothing in the checkout (setuptools left build/ and *.egg-info)
    assert sorted(os.listdir(ROOT)) == before
    with zipfile.ZipFile(dist / built.stdout.strip()) as wheel:
        wheel.extractall(lib)
    env = {**os.environ, "PYTHONPATH": str(lib)}
    where = subprocess.run(
        [sys.executable, "-c", "import watcher.demo; print(watcher.demo.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip() == str(lib / "watcher" / "demo" / "__init__.py")
    stdout = _demo(Path("demo-run"), cwd=tmp_path, env=env)
    _, _, matches, _ = _digest(stdout, tmp_path)
    assert matches >= 15
