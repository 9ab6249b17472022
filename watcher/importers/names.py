"""What official lists say about a person's name and identity, read into `Entry` fields.

Pure helpers shared by the importers: the parts of a name (given, middle, family, and whether
the family name comes first), and the facts a listing gives in free text (OFAC's Remarks:
``DOB 07 Oct 1952; POB Leningrad, Russia; nationality Russia; Passport 123 (Russia); President
of the Russian Federation``) as ``birth_dates``, ``countries``, ``identifiers`` and ``titles``.

Family name first: Korean, Chinese and Vietnamese names are written family name first in the
news (``Kim Jong Un``). A name is taken as family-first when its family name is one of those
cultures' common family names (`FAMILY_FIRST_SURNAMES`, a small table of our own) and the
person is of one of those countries, or, with no country given, the given name looks like one
(at most three short syllables: ``Jong Un``, ``Yo-jong``). ``KIM, Viktor`` of Russia stays
given-first.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypedDict

from watcher.config.watchlist import NameOrder, NameParts

# Korean (North and South romanisations), Chinese (pinyin, Wade-Giles, Cantonese) and
# Vietnamese family names common enough to decide the order of a listed name.
_FAMILY_FIRST = """
    kim ri yi lee pak park choe choi jong jeong chung kang ko han hwang yun yoon o oh so
    sin shin ryu yu jang chang cho jo hong mun moon song ju chu kwon kwak paek baek nam ra
    rim im lim yang an ahn sim jon jeon chon hyon hyun kye
    wang li zhang liu chen yang zhao huang zhou wu xu sun hu zhu gao lin he guo ma luo liang
    song zheng xie han tang feng yu dong xiao cheng cao yuan deng fu shen zeng peng lu su
    jiang cai jia ding wei xue ye yan pan du dai xia zhong tian ren fan fang shi yao tan
    liao zou xiong jin lu hao kong bai cui kang mao qiu qin gu hou shao meng long wan duan
    qian tang yin chan cheung wong leung lau ng ho tse chow lam kwok yip mak tsang chiu
    nguyen tran le pham hoang huynh phan vu vo dang bui do ngo duong ly trinh dinh mai
"""
FAMILY_FIRST_SURNAMES = frozenset(_FAMILY_FIRST.split())
_FAMILY_FIRST_COUNTRY = re.compile(
    r"korea|china|chinese|hong kong|maca[uo]|taiwan|viet\s?nam|singapore", re.IGNORECASE
)
_FAMILY_FIRST_CODES = frozenset(("kp", "kr", "cn", "hk", "mo", "tw", "vn", "sg"))
# Countries whose people carry two family names, of which the news uses the first.
_IBERIAN_COUNTRY = re.compile(
    r"spain|mexico|guatemala|honduras|salvador|nicaragua|costa rica|panama|cuba|dominican"
    r"|colombia|venezuela|ecuador|peru|bolivia|chile|argentina|uruguay|paraguay|puerto rico"
    r"|portugal|brazil|angola|mozambique",
    re.IGNORECASE,
)
_IBERIAN_CODE_LIST = "es mx gt hn sv ni cr pa cu do co ve ec pe bo cl ar uy py pr pt br ao mz"
_IBERIAN_CODES = frozenset(_IBERIAN_CODE_LIST.split())
# Words that belong to the next word of a family name (``DE LA CRUZ``, ``AL ASAD``).
_PARTICLE_WORDS = "al el de del la las los da das do dos di du van von der den ter ten bin ibn ben"
_PARTICLES = frozenset(f"{_PARTICLE_WORDS} abu bint ould".split())
# A given name that is a compound with the next word (``Abdul Rahman``, ``Abu Bakr``).
_COMPOUND_GIVEN = frozenset(("abd", "abdel", "abdul", "abdal", "abdol", "abu", "abou", "umm"))
_SYLLABLE = re.compile(r"[A-Za-z]{1,6}")
# Honorifics and ranks a list writes before a given name (OFAC ``AL-BADRI, Dr. Ibrahim``,
# ``HAMUDAT, General Maki Mustafa``): no part of the name, so news never writes ``Dr. Badri``
# for it; the next word is the given name. Haji, Mullah, Sayed, Sheikh, Mufti and Qari are
# not here: lists and news write them as part of many Afghan and Pakistani names.
_HONORIFIC_WORDS = """dr doctor prof professor general gen col colonel brigadier brig maj major
    capt captain lt lieutenant adm admiral mr mrs ms eng engr engineer"""
HONORIFICS = frozenset(_HONORIFIC_WORDS.split())


def split_words(text: str) -> list[str]:
    return [w for w in text.replace(",", " ").split() if w]


def surnames(family: str) -> tuple[str, ...]:
    """``MADURO MOROS`` -> (Maduro, Moros); ``DE LA CRUZ PEREZ`` -> (De La Cruz, Perez);
    ``AL ASAD`` -> (Al Asad,): particles go with the word after them."""
    groups: list[str] = []
    pending: list[str] = []
    for w in split_words(family):
        pending.append(w)
        if w.casefold() not in _PARTICLES:
            groups.append(" ".join(pending))
            pending = []
    if pending:
        groups.append(" ".join(pending))
    return tuple(groups)


def given_names(given: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(given, middle) of the given-name part: the first name (``Abdul Rahman`` kept whole)
    and the rest (patronymics and middle names); an honorific or rank before it
    (``Dr.``, ``General``; `HONORIFICS`) is neither."""
    words = split_words(given)
    while len(words) > 1 and words[0].casefold().rstrip(".") in HONORIFICS:
        words = words[1:]
    if not words or words[0].casefold().rstrip(".") in HONORIFICS:
        return (), ()
    take = 2 if len(words) > 1 and words[0].casefold().strip("-") in _COMPOUND_GIVEN else 1
    return (" ".join(words[:take]),), tuple(words[take:])


def person_parts(family: str, given: str, countries: Iterable[str] = ()) -> NameParts | None:
    """The parts of a name listed as family name + given names (OFAC ``LAST, First``)."""
    family_names = surnames(family)
    if not family_names:
        return None
    if is_family_first(family_names, given, countries):
        words = split_words(given)
        return NameParts(
            (" ".join(words),) if words else (), (), family_names, NameOrder.FAMILY_FIRST
        )
    first, middle = given_names(given)
    return NameParts(first, middle, family_names, NameOrder.GIVEN_FIRST)


def is_family_first(family: tuple[str, ...], given: str, countries: Iterable[str]) -> bool:
    if len(family) != 1 or fold(family[0]) not in FAMILY_FIRST_SURNAMES:
        return False
    listed = [c for c in countries if c]
    if listed:
        return _of_countries(listed, _FAMILY_FIRST_COUNTRY, _FAMILY_FIRST_CODES)
    syllables = re.split(r"[\s-]+", given.strip())
    return 0 < len(syllables) <= 3 and all(_SYLLABLE.fullmatch(s) for s in syllables)


def is_iberian(countries: Iterable[str]) -> bool:
    return _of_countries(countries, _IBERIAN_COUNTRY, _IBERIAN_CODES)


def _of_countries(countries: Iterable[str], names: re.Pattern[str], codes: frozenset[str]) -> bool:
    """Whether any of `countries` (names, or ISO codes as OpenSanctions writes them) is one."""
    return any(c.lower() in codes or names.search(c) for c in countries)


def fold(text: str) -> str:
    """Lower case without diacritics: how names are compared here."""
    folded = text.casefold()
    if folded.isascii():  # most listed names: no decomposition needed
        return folded
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# --- facts in free text ------------------------------------------------------------------

_MONTH_NAMES = "jan feb mar apr may jun jul aug sep oct nov dec"
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES.split(), start=1)}
_DATE = re.compile(
    r"^(?:circa |approximately )?(?:(\d{1,2}) )?(?:([A-Za-z]{3})[a-z]* )?(\d{4})$", re.IGNORECASE
)
_ISO_DATE = re.compile(r"^\d{4}(?:-\d{2}(?:-\d{2})?)?$")


def birth_date(text: str) -> str:
    """``07 Oct 1952`` -> ``1952-10-07``; ``Jan 1965`` -> ``1965-01``; ``circa 1960`` ->
    ``1960``; an ISO date as it is; anything else (ranges) -> ""."""
    text = text.strip().rstrip(".")
    if _ISO_DATE.match(text):
        return text
    found = _DATE.match(text)
    if not found:
        return ""
    day, month, year = found.groups()
    if month is None:
        return year if day is None else ""
    number = _MONTHS.get(month[:3].lower())
    if number is None:
        return ""
    return f"{year}-{number:02d}" + (f"-{int(day):02d}" if day else "")


# Kinds of identifier OFAC's remarks give, with the kind written into `identifiers`.
_ID_KINDS: tuple[tuple[str, str], ...] = (
    (r"Passport(?: No\.?)?", "passport"),
    (r"National ID No\.", "national-id"),
    (r"Cedula No\.", "national-id"),
    (r"Identification Number IMO", "imo"),
    (r"Vessel Registration Identification IMO", "imo"),
    (r"IMO", "imo"),
    (r"MMSI", "mmsi"),
    (r"Tax ID No\.", "tax-id"),
    (r"NIT #", "tax-id"),
    (r"RUC #", "tax-id"),
    (r"RFC", "tax-id"),
    (r"Registration (?:Number|ID)", "registration"),
    (r"Business Registration Number", "registration"),
    (r"Commercial Registry Number", "registration"),
    (r"Company Number", "registration"),
    (r"Legal Entity Number", "lei"),
    (r"SWIFT/BIC", "swift"),
)
_ID_REMARK = re.compile(
    r"^(?:alt\. )?(?P<kind>" + "|".join(f"(?:{k})" for k, _ in _ID_KINDS) + r")"
    r" (?P<number>[A-Za-z0-9][A-Za-z0-9./-]*)",
)
_ID_KIND_OF = [(re.compile(f"^(?:alt\\. )?{k} ", re.IGNORECASE), slug) for k, slug in _ID_KINDS]
_MIN_ID_LENGTH = 5  # shorter numbers are not telling enough to merge listings on


def identifier(kind: str, number: str) -> str:
    """``kind:NUMBER``, the number upper-cased without separators (``V-16586012`` and
    ``16586012`` stay different: the letter is part of it); "" when it is too short."""
    cleaned = re.sub(r"[^A-Za-z0-9]", "", number).upper()
    return f"{kind}:{cleaned}" if len(cleaned) >= _MIN_ID_LENGTH else ""


_TITLE_REMARK = re.compile(
    r"^(?:(?:First |Vice |Deputy |Acting |Former |Prime |Supreme |Chief |Executive )*"
    r"(?:President|Minister|Chairman|Chairwoman|Chairperson|Chair|Head|Director|Governor"
    r"|Commander|Leader|General|Spokesperson|Spokesman|Secretary|Ambassador|Mayor|Senator"
    r"|Speaker|Prosecutor|Judge|Member of the|King|Emir|Sheikh|Premier|Chancellor"
    r"|Commissioner|Chief Executive)\b)",
)


@dataclass
class Facts:
    """What free text said about one entity (collected, then turned into `Entry` fields)."""

    birth_dates: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)  # nationality, citizenship, address
    birth_places: list[str] = field(default_factory=list)  # country of birth: name order only
    identifiers: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)

    def fields(self) -> FactFields:
        """The `Entry` fields for these facts (each once, in the order found)."""
        return FactFields(
            birth_dates=_distinct(self.birth_dates),
            countries=_distinct(self.countries),
            identifiers=_distinct(self.identifiers),
            titles=_distinct(self.titles),
        )


class FactFields(TypedDict):
    birth_dates: tuple[str, ...]
    countries: tuple[str, ...]
    identifiers: tuple[str, ...]
    titles: tuple[str, ...]


def _distinct(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def read_remarks(items: Iterable[str], facts: Facts) -> None:
    """OFAC remark items (the Remarks column split at ``;``) into `facts`."""
    for raw in items:
        item = raw.strip().rstrip(".").strip()
        lowered = item.lower()
        if lowered.startswith(("dob ", "alt. dob ")):
            facts.birth_dates.append(birth_date(item.split("DOB", 1)[-1]))
        elif lowered.startswith(("nationality ", "alt. nationality ", "citizen ", "alt. citizen ")):
            facts.countries.append(item.split(" ", 2 if lowered.startswith("alt.") else 1)[-1])
        elif lowered.startswith(("pob ", "alt. pob ")):
            facts.birth_places.append(item.rsplit(",", 1)[-1].strip())
        elif found := _ID_REMARK.match(item):
            kind = next(slug for regex, slug in _ID_KIND_OF if regex.match(item))
            facts.identifiers.append(identifier(kind, found.group("number")))
        elif _TITLE_REMARK.match(item) and len(item) <= 150:
            facts.titles.append(item)


# --- remarks inside names (the UN list) ----------------------------------------------------

_ACRONYM = re.compile(r"[A-Z][A-Z0-9/&-]{1,9}")
_ORIGINAL_SCRIPT = re.compile(r"^original script:\s*|\s*\(original script\)$", re.IGNORECASE)
_SUB_REMARK = re.compile(r"\s+-\s+[a-z][\w -]*$")  # "Ansar al-Mujahideen Network - sub-unit name"
_BORN = re.compile(r",\s*born\b.*$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class NameWithRemarks:
    """A listed name split from what the list wrote around it."""

    name: str
    other_names: tuple[str, ...] = ()  # the same name in another script or spelling
    acronyms: tuple[str, ...] = ()  # ``(AQAP)`` after an organisation's name
    titles: tuple[str, ...] = ()  # ``(Sheikh) Musa Hilal``
    remarks: tuple[str, ...] = ()  # ``(false identity related to ...)``: notes, never names


def split_remarks(text: str) -> NameWithRemarks:
    """``Abdel Ilah Sabri (false identity ...)`` -> the name, and the remark for the notes;
    ``حسن غول (Hassan Ghul; Hassan Gul)`` -> the name and its other spellings; ``Al-Qaida in
    Yemen (AQY)`` -> the name and its acronym; ``(Sheikh) Musa Hilal`` -> name and title."""
    name = text.strip().rstrip(",").strip()
    others: list[str] = []
    acronyms: list[str] = []
    titles: list[str] = []
    remarks: list[str] = []
    if born := _BORN.search(name):
        remarks.append(born.group().lstrip(", "))
        name = name[: born.start()].strip()
    while name.endswith(")") and (start := _group_start(name)) > 0:
        content, name = name[start + 1 : -1].strip(), name[:start].strip().rstrip(",").strip()
        _classify_group(content, name, others, acronyms, remarks)
    if name.startswith("(") and ")" in name:
        title, _, rest = name[1:].partition(")")
        if rest.strip():
            titles.append(title.strip())
            name = rest.strip()
    return NameWithRemarks(name, tuple(others), tuple(acronyms), tuple(titles), tuple(remarks))


def _group_start(text: str) -> int:
    """Where the balanced parenthesised group that ends `text` opens (-1: unbalanced)."""
    depth = 0
    for index in range(len(text) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(text[index], 0)
        if depth == 0:
            return index
    return -1


def _classify_group(
    content: str, name: str, others: list[str], acronyms: list[str], remarks: list[str]
) -> None:
    if _ORIGINAL_SCRIPT.search(content):
        others.append(_ORIGINAL_SCRIPT.sub("", content).strip())
    elif _ACRONYM.fullmatch(content):
        acronyms.append(content)
    elif _latin(content) != _latin(name):  # the name in the other script: more spellings
        for part in content.split(";"):
            spelled = _ORIGINAL_SCRIPT.sub("", _SUB_REMARK.sub("", part.strip())).strip()
            if spelled.endswith(")") and (start := _group_start(spelled)) > 0:
                spelled = spelled[:start].strip()  # "Ansar al Charia in Libya (ASL)"
            if spelled:
                others.append(spelled)
    else:
        remarks.append(content)


def _latin(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and all(c < "\u0250" for c in letters)
