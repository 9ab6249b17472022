"""What the matcher knows about people in the news: who is prominent, what a cue before a
surname looks like, which words are given names, and which word of a name is the surname.

News names the famous by their surname alone (``Putin says``, ``Khamenei``, ``Maduro``), and
namesakes by theirs too. A listed person's bare surname counts only when it tells one person
apart (`surname`), and when the list calls the person prominent (`prominence`: a President,
Minister, Supreme Leader, General...) or the text does (`cue`: ``President Putin``, ``Mr
Lavrov``, ``глава МИД Лавров``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from rapidfuzz.distance import OSA

from watcher.config.watchlist import Entry, EntryType, NameOrder
from watcher.matching.normalize import TOKEN_RE, word

# Prominence from a listed title: HEAD heads a state, government or movement (``President of
# the Russian Federation``, ``Supreme Leader of Iran``; not ``Vice President``, nor the
# ``President of Venezuela's Strategic Center ...``); OFFICE holds an office or rank.
_HEAD = re.compile(
    r"^(?:the )?(?:president|prime minister|premier|chancellor|supreme leader|head of state|"
    r"king|emir|sultan|leader|secretary[- ]general)\b(?: of (?P<of>.*))?$",
    re.IGNORECASE,
)
# a party or state body that runs the state: Kim Jong Un, "Chairman of the Workers' Party"
_RULING = re.compile(
    r"^(?:chairman|general secretary) of the (?:workers|state affairs|communist)", re.I
)
_STATE = re.compile(r"\b(?:republic|federation|kingdom|state|emirates|jamahiriya)\b", re.I)
_OFFICE_TITLE = re.compile(
    r"\b(?:president|minister|spokes(?:man|woman|person)|leader|general|commander|chairman|"
    r"chairwoman|chief|governor|head|secretary|ambassador|director|mayor|senator|emir|king|"
    r"prince|ayatollah|sheikh|admiral|marshal|colonel|premier|chancellor|deputy|speaker|"
    r"prosecutor|judge|attorney general|mullah|maulavi|commissioner)\b",
    re.IGNORECASE,
)

# Words that make the next capitalised word a person named by surname, in the languages of
# the feeds: whole words (lower case) and stems of inflected ones (Präsidenten, президента).
_CUES = """mr mrs ms miss dr sir gen col lt maj capt adm sen rep gov herr frau m mme mm pan pani
sr sra don dona signor sig г-н г-жа пан пані rey roi re мэр мер"""
_CUE_WORDS = frozenset(_CUES.split())
_CUE_PREFIXES = """
    president presidente presidenta président präsident prezydent президент prime premier
    vicepresident vice-president vicepresidente vicepresidenta viceprésident wiceprezydent
    minister ministr ministro ministra ministre министр міністр chancellor kanzler canciller
    chanceler cancelliere kanclerz канцлер leader líder lider dirigeant przywódc лидер лідер
    spokes portavoz porta-voz porte-parole portavoce sprecher rzeczni речник пресс-секретар
    general generał генерал admiral almirante amiral admirał адмирал адмірал colonel coronel
    oberst pułkownik полковник commander comandante kommandeur dowódc командующ командувач
    chairman chairwoman vorsitzend przewodnicząc председател голов chief jefe chefe capo szef
    führer anführer глава очільник ayatollah ajatollah аятолл sheikh scheich szejk шейх emir
    эмир king könig król король prince príncipe prinz książę принц dictator
    dictador dictateur diktator dyktator диктатор strongman machthaber governor gobernador
    gouverneur gubernator губернатор mayor alcalde bürgermeister burmistrz senator
    senador sénateur сенатор ambassador embajador botschafter ambasador посол oligarch
    oligarca oligarque олигарх олігарх tycoon magnate magnat warlord kremlchef staatschef
    regierungschef secretary secretario secrétaire sekretarz секретар speaker спикер
    прем'єр премьер"""
_CUE_STEMS = tuple(_CUE_PREFIXES.split())
_PARTICLE_WORDS = "al el ad as ash at az ibn bin ben bint abu van von der den de da di du"
_PARTICLES = frozenset(_PARTICLE_WORDS.split())
OFFICE = 1
HEAD = 2


# Common Russian and Ukrainian given names, nominative (the form before a surname in the
# nominative: ``Людмила Путина``, ``Олена Зеленська``). A Cyrillic capital before a surname says
# nothing by itself (``глава МИД России Лавров``), but one of these names there is someone else's
# (a wife, a namesake). Names that are also common nouns (Вера, Надежда, Любовь, Роман, Лев) are
# left out.
_SLAVIC_GIVEN_NAMES = """
    александр алексей анатолий андрей антон аркадий артем артём борис вадим валентин валерий
    василий виктор виталий владимир владислав вячеслав геннадий георгий григорий денис дмитрий
    евгений егор иван игорь илья кирилл константин леонид максим михаил никита николай олег
    павел петр пётр сергей станислав степан тимур федор фёдор юрий ярослав
    олександр олексій андрій анатолій віктор віталій володимир геннадій григорій дмитро євген
    іван ігор кирило микола михайло олег павло петро сергій юрій
    александра алина алла анастасия анна валентина галина дарья евгения екатерина елена
    елизавета жанна зоя ирина кристина ксения лариса лидия людмила маргарита марина мария
    наталья наталия нина оксана ольга полина светлана софья софия татьяна юлия яна
    олена ганна дарія катерина ірина людмила марія наталія оксана ольга світлана тетяна юлія
"""
_SLAVIC_GIVEN_KEYS = frozenset(word(w).key for w in _SLAVIC_GIVEN_NAMES.split())


def is_slavic_given_name(key: str) -> bool:
    """Whether `key` (a word's key) is a common Russian or Ukrainian given name."""
    return key in _SLAVIC_GIVEN_KEYS


def prominence(entry: Entry) -> tuple[int, str]:
    """(rank, the title that gives it): 2 for a head of state, government or movement, 1 for
    an office or rank, 0 (and "") for none."""
    best = (0, "")
    for title in entry.titles:
        rank = OFFICE if _OFFICE_TITLE.search(title) else 0
        if any(_heads(part.strip()) for part in re.split(r"[,;]", title)):
            rank = HEAD
        if rank > best[0]:
            best = (rank, title)
    return best


def _heads(title: str) -> bool:
    """Whether one title heads a state, government or movement."""
    if _RULING.match(title):
        return True
    found = _HEAD.match(title)
    if found is None:
        return False
    of = found.group("of")
    return of is None or bool(_STATE.search(of)) or len(of.split()) <= 2


# Patronymic endings (key spelling): Aliaksandravich, Sergeyevna, Viktorovych, Ramzanovna.
_PATRONYMIC = re.compile(r"(?:ovich|evich|avich|ovna|evna|avna|ichna|inichna|ich)$")
_FEMININE_PATRONYMIC = re.compile(r"(?:ovna|evna|avna|ichna|inichna|kizi)$")


def family_heads(entries: Sequence[Entry]) -> tuple[dict[int, str], frozenset[int]]:
    """(entry position -> why the list makes that person prominent, and the heads known only
    by their children's aliases): the head of a family the list names around them. Lists name
    a leader's children and wife because of the leader (Alyaksandr Lukashenka, his sons Dzmitry
    and Viktar Aliaksandravich, his wife Halina; Sergei Shoigu, his daughters Yuliya and Kseniya
    Sergeyevna), so the one person whose given name is the patronymic of other holders of the
    surname, when every other holder is such a child or a woman (a wife, a mother:
    ``Kadyrova``), is the person news names by that surname alone. Unrelated namesakes (Valery
    and Gennadiy Medvedev), or two fathers (the Rotenberg brothers), make no head.

    A child listed without a patronymic counts by the one its aliases give (Nikolay Peskov:
    ``Nikolay Dmitriyevich Choulz``): enough to tell the head apart by the surname with a cue
    before it, not to make the head prominent (``Песков`` is also the genitive plural of
    sand): such heads are the second item."""
    holders: dict[str, list[int]] = {}
    keys: dict[int, str] = {}
    for position, entry in enumerate(entries):
        found = surname(entry)
        if found and entry.name_parts is not None:
            key = word(found).key
            keys[position] = key
            holders.setdefault(key, []).append(position)
    heads: dict[int, str] = {}
    by_aliases: set[int] = set()
    for position, key in keys.items():
        family = [
            other
            for form in (key, f"{key}a", f"{key[:-1]}aia" if key.endswith("ki") else "")
            for other in holders.get(form, ())
            if other != position
        ]
        if not family or _is_woman(entries[position]):
            continue
        head = entries[position]
        given = _given_key(head)
        if not given:
            continue
        for aliases in (False, True):
            children = [o for o in family if _child_of(entries[o], given, head, aliases)]
            if children and all(o in children or _is_woman(entries[o]) for o in family):
                if aliases:
                    by_aliases.add(position)
                else:
                    heads[position] = f"listed with {len(family)} relatives"
                break
    return heads, frozenset(by_aliases)


def namesake_sons(entries: Sequence[Entry]) -> dict[str, str]:
    """Entry key of a son named after his listed father (the same given name and surname:
    Boris Borisovich Rotenberg, son of Boris Romanovich) -> the father's entry key. News
    names the father by the name they share; the son is written ``Jr`` or with his
    patronymic, which tells him apart."""
    by_name: dict[tuple[str, str], list[Entry]] = {}
    for entry in entries:
        found = surname(entry)
        given = _given_key(entry)
        if found and given and entry.type == EntryType.PERSON:
            by_name.setdefault((given, word(found).key), []).append(entry)
    sons: dict[str, str] = {}
    for (given, _), namesakes in by_name.items():
        for son in namesakes:
            fathers = [f for f in namesakes if f is not son and _child_of(son, given, f, False)]
            if len(fathers) == 1 and not _is_woman(son):
                sons[son.key] = fathers[0].key
    return sons


# OFAC's remark naming the entry another is linked to (its owner, its parent)
LINKED_TO = re.compile(r"Linked To: ([^;\"]+)")
_MIN_LINKED = 5  # entries linked to a person that make them the head of a listed network


def network_heads(entries: Sequence[Entry]) -> dict[int, str]:
    """Entry position -> why the list makes that person prominent: five or more other entries
    are "Linked To" them in the list's remarks (OFAC: ``Linked To: DERIPASKA, Oleg
    Vladimirovich`` on his companies), the owner of a listed business empire or network
    (Deripaska, Usmanov, Prigozhin), whom news names by the surname."""
    counts: dict[str, int] = {}
    for entry in entries:
        for target in dict.fromkeys(LINKED_TO.findall(entry.notes or "")):
            key = linked_key(target)
            counts[key] = counts.get(key, 0) + 1
    found: dict[int, str] = {}
    for position, entry in enumerate(entries):
        if entry.type != EntryType.PERSON:
            continue
        linked = max((counts.get(linked_key(name), 0) for name in entry.names), default=0)
        if linked >= _MIN_LINKED:
            found[position] = f"{linked} listed entries linked to them"
    return found


def linked_key(name: str) -> str:
    """A name as a remark writes it (``DERIPASKA, Oleg Vladimirovich``) or as the entry does
    (``Oleg Vladimirovich Deripaska``): the same key."""
    name = name.strip().rstrip(".")
    if "," in name:
        family, _, given = name.partition(",")
        name = f"{given} {family}"
    return " ".join(name.casefold().split())


def _given_key(entry: Entry) -> str:
    parts = entry.name_parts
    return word(parts.given[0].split()[0]).key if parts and parts.given else ""


def _patronymic_key(entry: Entry) -> str:
    parts = entry.name_parts
    if parts is None or not parts.middle:
        return ""
    key = word(parts.middle[0].split()[0]).key
    return key if _PATRONYMIC.search(key) else ""


def _alias_patronymics(entry: Entry) -> list[str]:
    """Patronymics the entry's other names give (keys) when its name parts give none: Nikolay
    Peskov, listed without one, has the aliases ``Nikolay Dmitriyevich Choulz``."""
    found = [
        key
        for name in entry.aliases
        for token in TOKEN_RE.findall(name)
        for key in [word(token).key]
        if _PATRONYMIC.search(key)
    ]
    return list(dict.fromkeys(found))


def _child_of(entry: Entry, given: str, parent: Entry, alias_patronymics: bool) -> bool:
    """Whether the entry's patronymic (from its name parts, else from its other names) is made
    from `given` (Sergeyevna from Sergei), and the entry is a generation younger than `parent`
    where the list gives both birth years (Ivan Igorevich Sechin is Igor Ivanovich's son, not
    his father; Serhiy Oleksandrovich Melnychuk, born 7 years after Oleksandr, is no son)."""
    own = _patronymic_key(entry)
    patronymics = [own] if own else _alias_patronymics(entry) if alias_patronymics else []
    return any(_patronymic_of(key, given, entry, parent) for key in patronymics)


def _patronymic_of(patronymic: str, given: str, entry: Entry, parent: Entry) -> bool:
    base = _PATRONYMIC.sub("", patronymic)
    if len(base) < 3:
        return False
    # Sergeyevna: serg- for Sergei; Aleksandrovich: aleksandr- for Alexander (aleksander)
    shorter, longer = sorted((base, given), key=len)
    prefix = longer.startswith(shorter) and len(longer) - len(shorter) <= 2
    if not prefix and OSA.distance(base, given, score_cutoff=1) > 1:
        return False
    born, parent_born = _birth_year(entry), _birth_year(parent)
    return not (born and parent_born) or born >= parent_born + _GENERATION


_GENERATION = 15  # years at least between a parent's birth and a child's (not a brother)


def _birth_year(entry: Entry) -> int:
    years = [int(d[:4]) for d in entry.birth_dates if d[:4].isdigit()]
    return min(years) if years else 0


def _is_woman(entry: Entry) -> bool:
    return bool(_FEMININE_PATRONYMIC.search(_patronymic_key(entry) or "-"))


def is_cue(lower: str) -> bool:
    """Whether a word (lower case) before a capitalised surname says it names a person."""
    bare = lower.rstrip(".")
    return bare in _CUE_WORDS or (len(bare) >= 4 and bare.startswith(_CUE_STEMS))


# Honorifics that say a person is named, not that the person holds an office or rank.
_HONORIFIC_WORDS = "mr mrs ms miss dr sir herr frau m mme mm pan pani sr sra don dona"
_HONORIFIC_CUES = frozenset(_HONORIFIC_WORDS.split())


def is_office_cue(lower: str) -> bool:
    """A title or rank (``President``, ``vicepresidenta``, ``Gen.``), not an honorific that
    any person is given (``Mr``, ``Don``)."""
    bare = lower.rstrip(".")
    return is_cue(lower) and bare not in _HONORIFIC_CUES and not bare.startswith(("г-", "пан"))


_CUE_KEYS = tuple(dict.fromkeys(word(stem).key for stem in _CUE_STEMS if len(stem) >= 5))


# Callings of the namesakes the news writes about (the arts, sport), in the news languages
# (lower-case starts): the surname right after one is that namesake's (``le chanteur Assad``,
# ``striker Kadyrov``), never a listed official's. No word that also names an office or a
# boss (``Chef``, ``defensa``, ``director``).
_CALLINGS = """singer rapper actor actress footballer striker midfielder goalkeeper winger
    boxer tennis golfer cyclist swimmer sprinter athlete comedian musician guitarist drummer
    pianist painter sculptor novelist poet dancer chanteu rappeu acteur actrice footballeur
    attaquant boxeur joueu humoriste musicien pianiste peintre romancier poète
    cycliste nageu cantante rapero actriz futbolista delantero centrocampista portero
    boxeador tenista jugador músico pintor novelista poeta ciclista nadador cantor ator
    atriz atacante goleiro pugilista jogador sänger schauspieler fußballer stürmer torwart
    tennisspieler komiker musiker maler dichter attore attrice calciatore attaccante
    portiere pugile giocat comico musicista pittore romanziere piosenkar raper aktor
    piłkarz napastnik bramkarz bokser tenisist zawodni komik muzyk malarz pisarz певец
    певица рэпер актер актёр актриса футболист нападающ вратар боксер боксёр теннисист
    игрок комик музыкант пианист художник писател поэт співак співачк репер акторк
    футболіст нападник воротар тенісист гравець музикант піаніст письменник поет"""
_CALLING_STEMS = tuple(_CALLINGS.split())


def is_namesake_calling(lower: str) -> bool:
    """Whether a word (lower case) right before a surname names a singer's, a player's or an
    artist's calling: the surname is a namesake's."""
    return len(lower) >= 4 and lower.startswith(_CALLING_STEMS)


def is_cue_key(key: str) -> bool:
    """A cue in another spelling of the same sounds (Belarusian ``Прэзідэнт``: prezident)."""
    return len(key) >= 5 and key.startswith(_CUE_KEYS)


def is_particle(lower: str) -> bool:
    return lower in _PARTICLES


def surname(entry: Entry) -> str | None:
    """The word news names a person by: the first family name (``Maduro`` of ``Maduro
    Moros``) without its particle (``Assad`` of ``al-Assad``), or the last word of the name;
    None for family-first names (``Kim`` of Kim Jong Un never stands alone)."""
    if entry.type != EntryType.PERSON:
        return None
    parts = entry.name_parts
    if parts is not None and parts.order == NameOrder.FAMILY_FIRST:
        return None
    if parts is not None and parts.family:
        words = TOKEN_RE.findall(parts.family[0])
        kept = [w for w in words if not is_particle(w.casefold())]
        return kept[0] if kept else None
    if "," in entry.name:  # list order: "AL-ASSAD, Bashar"
        words = TOKEN_RE.findall(entry.name.partition(",")[0])
        kept = [w for w in words if not is_particle(w.casefold())]
        return kept[0] if kept else None
    words = TOKEN_RE.findall(entry.name)
    return words[-1] if len(words) > 1 else None  # a one-word name is no surname


def given_name_keys(entries: Iterable[Entry], minimum: int = 3) -> frozenset[str]:
    """Keys of the words the lists use as given names more often than as family names, at
    least `minimum` times (``Mohammed``, ``Abdul``, ``Hassan``; not ``Kim``): from the name
    parts where the list gives them, else from every word of a person's name but the last."""
    given: Counter[str] = Counter()
    family: Counter[str] = Counter()
    for entry in entries:
        if entry.type != EntryType.PERSON:
            continue
        first, last = _given_and_family(entry)
        given.update({word(w).key for w in first})
        family.update({word(w).key for w in last})
    return frozenset(k for k, n in given.items() if n >= minimum and n > family[k])


def _given_and_family(entry: Entry) -> tuple[list[str], list[str]]:
    parts = entry.name_parts
    if parts is not None and parts.family:
        first = [w for n in (*parts.given, *parts.middle) for w in TOKEN_RE.findall(n)]
        return first, [w for n in parts.family for w in TOKEN_RE.findall(n)]
    words = TOKEN_RE.findall(entry.name.replace(",", " "))
    if "," in entry.name:
        return words[1:], words[:1]
    return words[:-1], words[-1:]
