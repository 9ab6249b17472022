"""HTML to the plain text the matcher reads."""

from __future__ import annotations

import pytest

from watcher.ingest.text import content_to_text, html_to_text, repair_mojibake


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
        # block-level elements and table cells never glue words together
        ("<table><tr><td>Igor</td><td>Sechin</td></tr></table>", "Igor Sechin"),
        ("<p>Alexander<p>Novak", "Alexander\nNovak"),
        ("<ul><li>Rosneft<li>Lukoil</ul>", "Rosneft\nLukoil"),
        ("<h2>Lavrov</h2>Rubio", "Lavrov\nRubio"),
        ("<div>\n  Igor\n  <b>Sechin</b>\n</div>", "Igor Sechin"),
        # a "<" that starts no tag is text, in HTML too
        ("Oil price < $60 as Lavrov > meets Rubio", "Oil price < $60 as Lavrov > meets Rubio"),
    ],
)
def test_html_to_text(markup: str, text: str) -> None:
    assert html_to_text(markup) == text


def test_plain_text_keeps_every_word() -> None:
    title = "Oil price < $60 as Lavrov <b>meets</b> Rubio"
    assert content_to_text(title, "text/plain") == title


def test_html_content_type_is_parsed() -> None:
    assert content_to_text("<td>Igor</td><td>Sechin</td>", "text/html") == "Igor Sechin"
    assert content_to_text("<p>a</p>", "application/xhtml+xml; charset=utf-8") == "a"


@pytest.mark.parametrize(
    ("text", "repaired"),
    [
        ("corrupciÃ³n en EspaÃ±a", "corrupción en España"),
        ("La batallaÂ que", "La batalla que"),
        ("Mãe de utente, Café société", "Mãe de utente, Café société"),  # real Latin kept
        ("Путин’s “quotes”", "Путин’s “quotes”"),
    ],
)
def test_mojibake_repaired(text: str, repaired: str) -> None:
    assert content_to_text(text, "text/plain") == repaired
    assert content_to_text(f"<p>{text}</p>", "text/html") == repaired


def test_mojibake_gate_lets_ordinary_text_through_untouched() -> None:
    ordinary = "Путин’s “quotes” — España, São Paulo, Øresund, 1½ €"
    assert repair_mojibake(ordinary) == ordinary
    assert repair_mojibake("IRMÃ coisa") == "IRMÃ coisa"
    assert repair_mojibake("Ã  la carte") == "à la carte"
