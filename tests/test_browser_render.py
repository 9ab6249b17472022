"""The HTML digest as a real browser draws it: headless Chromium, DOM text and a screenshot.

Skipped (with the reason) when Chromium is not installed; CI's `.ci/run` installs it.
Set SANCTIONS_WATCH_SCREENSHOT=/some/path.png to keep the desktop screenshot for a look.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from notifier_samples import digest_message, sample_matches, sample_problems, settings

from watcher.notify.render import render_alert

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and Path("/usr/bin/chromium").exists():
    CHROMIUM = "/usr/bin/chromium"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None, reason="chromium not installed (apt-get install chromium; CI has it)"
    ),
]


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *args,
    ]
    result = subprocess.run(command, capture_output=True, timeout=50, check=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    return result


def _html_file(tmp_path: Path, name: str, html: str) -> Path:
    path = tmp_path / name
    path.write_text(html.replace("\r\n", "\n"), encoding="utf-8")
    return path


def _digest_html() -> str:
    message = digest_message(sample_matches(), sample_problems(), settings(), "browser-check")
    body = message.get_body(("html",))
    assert body is not None
    return body.get_content()


def _decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and raw RGB(A) rows of an 8-bit truecolor PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, idat, width, height, channels = 8, b"", 0, 0, 0
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        chunk = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and color in (2, 6), f"unexpected PNG format {depth}/{color}"
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            corner = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                estimate = left + up - corner
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
                pick = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[x] = (line[x] + pick) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, [_rgb(row, channels) for row in rows]


def _rgb(row: bytes, channels: int) -> bytes:
    if channels == 3:
        return row
    return b"".join(row[i : i + 3] for i in range(0, len(row), 4))


def _colour_stats(rows: list[bytes]) -> tuple[int, float]:
    """Distinct colours (sampled) and the share of pixels that differ from the most common."""
    counts: dict[bytes, int] = {}
    for row in rows[::4]:
        for x in range(0, len(row), 12):
            pixel = row[x : x + 3]
            counts[pixel] = counts.get(pixel, 0) + 1
    total = sum(counts.values())
    return len(counts), 1 - max(counts.values()) / total


def test_digest_dom_shows_the_content_as_text(tmp_path: Path) -> None:
    page = _html_file(tmp_path, "digest.html", _digest_html())
    dom = _chromium(tmp_path / "profile", "--dump-dom", page.as_uri()).stdout.decode()
    assert "5 new matches in 4 articles" in dom
    assert "<mark" in dom and ">Lavrov's</mark>" in dom
    assert "«Роснефть» увеличила добычу" in dom
    assert "Feed health (2)" in dom and "Broken Feed" in dom
    assert "<script" not in dom.lower()


def test_digest_screenshot_is_a_real_rendering(tmp_path: Path) -> None:
    page = _html_file(tmp_path, "digest.html", _digest_html())
    shot = tmp_path / "digest.png"
    _chromium(tmp_path / "profile", f"--screenshot={shot}", "--window-size=800,1400", page.as_uri())
    width, height, rows = _decode_png(shot.read_bytes())
    assert (width, height) == (800, 1400)
    colours, ink = _colour_stats(rows)
    assert colours > 50, f"only {colours} colours: blank or broken rendering"
    assert ink > 0.05, f"only {ink:.1%} of the page differs from the background"
    keep = os.environ.get("SANCTIONS_WATCH_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)


def test_digest_fits_a_phone_screen(tmp_path: Path) -> None:
    page = _html_file(tmp_path, "digest.html", _digest_html())
    shot = tmp_path / "phone.png"
    _chromium(tmp_path / "profile", f"--screenshot={shot}", "--window-size=390,1200", page.as_uri())
    width, _, rows = _decode_png(shot.read_bytes())
    assert width == 390
    colours, ink = _colour_stats(rows)
    assert colours > 50 and ink > 0.05


def test_alert_renders(tmp_path: Path) -> None:
    body = render_alert(sample_matches()[:2], settings(), "browser-alert").get_body(("html",))
    assert body is not None
    page = _html_file(tmp_path, "alert.html", body.get_content())
    dom = _chromium(tmp_path / "profile", "--dump-dom", page.as_uri()).stdout.decode()
    assert "Rosneft and Lukoil face new US sanctions" in dom
    assert dom.count("<mark") == 2


LONG_NAME = "Obshchestvo-s-Ogranichennoi-Otvetstvennostyu-Neftegazovaya-Kompaniya-Severnyi-Potok"
# A test-only probe (never in a mail): lays the page out `width` pixels wide (headless
# Chromium's window is at least 500 px, so the body is narrowed to the phone's width), then
# measures how far any block reaches past its own box and the page past that width, and
# writes the figures into the DOM for --dump-dom to show.
OVERFLOW_PROBE = """<script>
document.body.style.width = "WIDTHpx";
const worst = [...document.querySelectorAll("div, h1, h2, table")]
  .map(e => e.scrollWidth - e.clientWidth).reduce((a, b) => Math.max(a, b), 0);
const page = document.body.scrollWidth - document.body.clientWidth;
document.body.insertAdjacentHTML("beforeend",
  `<p id="probe">overflow block=${worst} page=${page} width=${document.body.clientWidth}</p>`);
</script>"""


def _long_words_digest_html() -> str:
    """A digest whose entry name, title, snippet and feed are long unbroken words."""
    first = sample_matches()[0]
    long_one = dataclasses.replace(
        first,
        id=90,
        article_id="long",
        entry_id="long",
        name=LONG_NAME,
        title="https://news.example.org/" + "unbroken-path-segment" * 4,
        snippet=f"… {LONG_NAME}Subsidiary said Rosneft had raised output …",
        feeds=("Feed" + "X" * 60,),
    )
    message = digest_message([*sample_matches(), long_one], sample_problems(), settings(), "w")
    body = message.get_body(("html",))
    assert body is not None
    return body.get_content()


@pytest.mark.parametrize("width", [390, 1000])
def test_long_names_do_not_overflow_their_cards(tmp_path: Path, width: int) -> None:
    probe_script = OVERFLOW_PROBE.replace("WIDTH", str(width))
    html = _long_words_digest_html().replace("</body>", probe_script + "</body>")
    page = _html_file(tmp_path, "digest.html", html)
    dom = _chromium(
        tmp_path / "profile", f"--window-size={width},1200", "--dump-dom", page.as_uri()
    ).stdout.decode()
    probe = re.search(r"overflow block=(-?\d+) page=(-?\d+) width=(\d+)", dom)
    assert probe is not None, "the probe did not run"
    block, overflow, seen = (int(v) for v in probe.groups())
    assert seen == width
    assert LONG_NAME in dom
    assert block <= 0, f"a block is {block}px wider than its box at {width}px"
    assert overflow <= 0, f"the page is {overflow}px wider than a {width}px screen"
