"""HTML to the plain text the matcher reads."""

from __future__ import annotations

import pytest

from watcher.text import html_to_text


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("Igor <b>Sechin</b> said", "Igor Sechin said"),
        ("Lukoil&#8217;s board", "Lukoil’s board"),
        ("Vagit&nbsp;Alekperov", "Vagit Alekperov"),
        ('<a href="https://example.org/r">Rosneft</a>', "Rosneft"),
        ("<p>one</p><p>two</p>", "one\ntwo"),
        ("line<br>break", "line\nbreak"),
        ("<script>var x = 'Putin';</script>kept", "kept"),
        ("<style>p { color: red }</style>kept", "kept"),
        ("  plain text  ", "plain text"),
    ],
)
def test_html_to_text(markup: str, text: str) -> None:
    assert html_to_text(markup) == text
