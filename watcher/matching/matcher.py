"""Finding watched names in one text: pure functions over a `CompiledWatchlists`.

For each word of the text: look up which pattern anchors it may stand for (exact key,
inflected stem, or, for long words that are not themselves real words, a typo found through
the deletion neighbourhood and confirmed with rapidfuzz), then check the pattern's other
words around it. Mentions are then cleaned (a name inside a longer name of another entry
does not count; ``exclude`` phrases; ignore rules) and merged per entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz.distance import OSA

from watcher.ignore import IgnoreRule
from watcher.matching import lexicon
from watcher.matching.index import CompiledWatchlists, Gap, Mode, Pattern, Slot, deletions
from watcher.matching.normalize import Word, mask_markup, tokens, word
from watcher.matching.types import Match

# How sure a word-level hit is.
SCORE_EXACT = 100  # same letters (case and diacritics aside)
SCORE_KEY = 96  # same sound in another romanisation or script
SCORE_STEM = 95  # an inflected form
SCORE_TYPO = {1: 92, 2: 90}

_CACHE_LIMIT = 500_000
_GAPS = {
    Gap.PLAIN: re.compile(r"[^\S\n]*\n?[^\S\n]*(?:[-‐‑][^\S\n]*)?"),
    Gap.COMMA: re.compile(r"[^\S\n]*\n?[^\S\n]*,?[^\S\n]*"),
    Gap.DOT: re.compile(r"[^\S\n]*\.?[^\S\n]*\n?[^\S\n]*"),
}
_SENTENCE_END = '.!?…\n:;"«»“”„—–-('  # a capital after these may only mark a sentence start
SNIPPET_WIDTH = 160


@dataclass(frozen=True)
class ScanResult:
    matches: tuple[Match, ...]
    suppressed: tuple[tuple[Match, IgnoreRule], ...]


@dataclass(frozen=True, slots=True)
class _Mention:
    entry: int
    alias: str
    start: int
    end: int
    score: int


def match(text: str, compiled: CompiledWatchlists) -> list[Match]:
    """Every entry mentioned in `text`, best mention first per entry (ignore rules applied)."""
    return list(scan(text, compiled).matches)


def scan(text: str, compiled: CompiledWatchlists) -> ScanResult:
    """Like `match`, also returning the matches ignore rules removed."""
    masked = mask_markup(text)
    mentions = _find_mentions(masked, compiled)
    if not mentions:
        return ScanResult((), ())
    mentions = _drop_contained(mentions)
    mentions = [m for m in mentions if not _excluded(m, masked, compiled)]
    kept, suppressed = _apply_ignores(mentions, masked, compiled)
    return ScanResult(
        matches=tuple(_merge(kept, text, masked, compiled)),
        suppressed=tuple(
            (merged, rule)
            for rule, group in suppressed.items()
            for merged in _merge(group, text, masked, compiled)
        ),
    )


# --- finding -------------------------------------------------------------------------------


def _find_mentions(masked: str, compiled: CompiledWatchlists) -> list[_Mention]:
    spans = tokens(masked)
    words = [word(surface) for surface, _, _ in spans]
    found: list[_Mention] = []
    for position, current in enumerate(words):
        for anchor_key in _candidates(current, compiled):
            for number in compiled.anchors[anchor_key]:
                pattern = compiled.patterns[number]
                score = _verify(pattern, position, spans, words, masked)
                if score >= compiled.thresholds[pattern.entry]:
                    first = position - pattern.anchor
                    last = first + len(pattern.slots) - 1
                    found.append(
                        _Mention(
                            pattern.entry, pattern.alias, spans[first][1], spans[last][2], score
                        )
                    )
    return found


def _candidates(w: Word, compiled: CompiledWatchlists) -> tuple[str, ...]:
    """Anchor keys this word may stand for (memoised per word)."""
    cache = compiled.candidate_cache
    cached = cache.get(w.norm)
    if cached is None:
        cached = _lookup(w, compiled)
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[w.norm] = cached
    return cached


def _lookup(w: Word, compiled: CompiledWatchlists) -> tuple[str, ...]:
    anchors = compiled.anchors
    found = [k for k in (w.key, *w.stems) if k in anchors]
    if len(w.key) >= 4 and not w.norm.isdigit():
        near = {
            key
            for variant in deletions(w.key)
            for key in compiled.deletes.get(variant, ())
            if key != w.key and key[0] == w.key[0]
        }
        if near and not lexicon.is_known_word(w.norm):
            found.extend(sorted(near))
    return tuple(dict.fromkeys(found))


def _verify(
    pattern: Pattern,
    position: int,
    spans: list[tuple[str, int, int]],
    words: list[Word],
    masked: str,
) -> int:
    """The pattern's score with its anchor at word `position` (-1: not there)."""
    first = position - pattern.anchor
    if first < 0 or first + len(pattern.slots) > len(words):
        return -1
    score = 100
    gap = _GAPS[pattern.gap]
    for offset, slot in enumerate(pattern.slots):
        index = first + offset
        if offset and not gap.fullmatch(masked, spans[index - 1][2], spans[index][1]):
            return -1
        slot_score = accept(slot, words[index])
        if slot_score < 0:
            return -1
        score = min(score, slot_score)
    if len(pattern.slots) == 1 and not _plausible_single(
        pattern.slots[0], words[first], masked, spans[first][1]
    ):
        return -1
    return score - pattern.penalty


def accept(slot: Slot, w: Word) -> int:
    """How well text word `w` fills `slot` (-1: not at all)."""
    if slot.mode == Mode.STRICT:
        return SCORE_EXACT if w.surface == slot.surface else -1
    if slot.mode == Mode.INITIAL:
        single = len(w.norm) == 1 and w.surface.isupper()
        return SCORE_EXACT if single and w.key.startswith(slot.key) else -1
    if w.key == slot.key:
        return SCORE_EXACT if w.norm == slot.norm else SCORE_KEY
    return _accept_variant(slot, w) if slot.mode == Mode.FULL else -1


def _accept_variant(slot: Slot, w: Word) -> int:
    """An inflected form, or a typo in a long word that is not itself a real word."""
    if slot.key in w.stems or (slot.stem and (slot.stem in w.stems or slot.stem == w.key)):
        return SCORE_STEM
    if slot.max_edits and w.key[:1] == slot.key[:1] and not lexicon.is_known_word(w.norm):
        edits = OSA.distance(w.key, slot.key, score_cutoff=slot.max_edits)
        if edits <= slot.max_edits:
            return SCORE_TYPO[edits]
    return -1


def _plausible_single(slot: Slot, w: Word, masked: str, start: int) -> bool:
    """Extra care for one-word names, the ones everyday words collide with.

    A lower-case hit must not be an everyday word of some language (``nafta``, ``мир``);
    a hit in the other script (a Latin-only name found in Cyrillic text) must be
    capitalised and, if it is an everyday word there, not merely sentence-initial."""
    if slot.mode == Mode.STRICT:
        return True
    if not w.capitalized and lexicon.is_everyday_word(w.norm):
        return False
    cross_script = {slot.script, w.script} == {"latin", "cyrillic"}
    if cross_script:
        if not w.capitalized:
            return False
        if lexicon.is_everyday_word(w.norm) and _sentence_initial(masked, start):
            return False
    return True


def _sentence_initial(text: str, start: int) -> bool:
    before = text[:start].rstrip()
    return not before or before[-1] in _SENTENCE_END


# --- cleaning ------------------------------------------------------------------------------


def _drop_contained(mentions: list[_Mention]) -> list[_Mention]:
    """A name inside a longer mention of another entry is part of that name, not a mention
    (``Gazprom`` inside ``Gazprom Neft``)."""
    if len({m.entry for m in mentions}) < 2:
        return mentions
    by_length = sorted(mentions, key=lambda m: m.start - m.end)
    kept: list[_Mention] = []
    for m in by_length:
        inside_other = any(
            k.entry != m.entry
            and k.start <= m.start
            and m.end <= k.end
            and k.end - k.start > m.end - m.start
            for k in kept
        )
        if not inside_other:
            kept.append(m)
    return kept


def _overlaps(m: _Mention, spans: list[tuple[int, int]]) -> bool:
    return any(start < m.end and m.start < end for start, end in spans)


def _phrase_spans(regex: re.Pattern[str], masked: str) -> list[tuple[int, int]]:
    return [found.span() for found in regex.finditer(masked.replace("\u200b", " "))]


def _excluded(m: _Mention, masked: str, compiled: CompiledWatchlists) -> bool:
    regex = compiled.excludes.get(m.entry)
    return regex is not None and _overlaps(m, _phrase_spans(regex, masked))


def _apply_ignores(
    mentions: list[_Mention], masked: str, compiled: CompiledWatchlists
) -> tuple[list[_Mention], dict[IgnoreRule, list[_Mention]]]:
    if not compiled.ignores:
        return mentions, {}
    kept: list[_Mention] = []
    suppressed: dict[IgnoreRule, list[_Mention]] = {}
    phrase_spans: dict[int, list[tuple[int, int]]] = {}
    for m in mentions:
        entry = compiled.entries[m.entry]
        for number, ignore in enumerate(compiled.ignores):
            rule = ignore.rule
            if rule.entry and rule.entry not in (entry.key, entry.id):
                continue
            if ignore.phrase is not None:
                if number not in phrase_spans:
                    phrase_spans[number] = _phrase_spans(ignore.phrase, masked)
                if not _overlaps(m, phrase_spans[number]):
                    continue
            suppressed.setdefault(rule, []).append(m)
            break
        else:
            kept.append(m)
    return kept, suppressed


# --- merging -------------------------------------------------------------------------------


def _merge(
    mentions: list[_Mention], text: str, masked: str, compiled: CompiledWatchlists
) -> list[Match]:
    """One `Match` per entry: its best mention, with the count of distinct mentions."""
    by_entry: dict[int, list[_Mention]] = {}
    for m in mentions:
        by_entry.setdefault(m.entry, []).append(m)
    merged = []
    for number, group in by_entry.items():
        best = max(group, key=lambda m: (m.score, m.end - m.start, -m.start))
        entry = compiled.entries[number]
        merged.append(
            Match(
                list_name=entry.list_name,
                entry_id=entry.id,
                name=entry.name,
                type=entry.type,
                severity=entry.severity,
                programs=entry.programs,
                alias=best.alias,
                text=text[best.start : best.end],
                start=best.start,
                end=best.end,
                score=best.score,
                snippet=snippet(masked, best.start, best.end),
                mentions=_count_distinct(group),
            )
        )
    merged.sort(key=lambda m: (-m.severity.rank, -m.score, m.start))
    return merged


def _count_distinct(group: list[_Mention]) -> int:
    """Overlapping hits (``Sergey Lavrov`` and ``Lavrov`` in it) are one mention."""
    count, reach = 0, -1
    for m in sorted(group, key=lambda m: m.start):
        if m.start >= reach:
            count += 1
        reach = max(reach, m.end)
    return count


def snippet(text: str, start: int, end: int, width: int = SNIPPET_WIDTH) -> str:
    """About `width` characters around text[start:end], whitespace collapsed, cut at words."""
    room = max(0, (width - (end - start)) // 2)
    left, right = max(0, start - room), min(len(text), end + room)
    if left > 0:
        space = text.find(" ", left, start)
        left = space + 1 if space != -1 else left
    if right < len(text):
        space = text.rfind(" ", end, right)
        right = space if space != -1 else right
    body = " ".join(text[left:right].replace("\u200b", "").split())
    return ("…" if left > 0 else "") + body + ("…" if right < len(text) else "")
