"""Whether a text names a country, in any of the feeds' languages, for corroboration: an
acronym (``IRGC``) or a generic name (``Ministerio del Interior``, ``Revolutionary Guard``)
counts only beside its entry's country (``Iran's``, ``cubano``, ``Кубы``).

A country is recognised by the stems of its name and adjectives, compared as matcher keys
(`watcher.matching.normalize.fold`), so one stem covers the spellings and case forms of
many languages: ``iran`` covers Iranian, iraní, iranien, irański, Иран, Ирана.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from watcher.matching.normalize import word

# Stems beyond the name's own, where languages name the country differently (keys are
# computed from these spellings).
_EXTRA = {
    "russia": "rusia ruso rusa russe russland rosja россия росія moscow moscú moskau kremlin",
    "russian federation": "rusia ruso rusa russe russland rosja россия росія moscow kremlin",
    "china": "chin chine китай kitaj pekin beijing пекин",
    "korea, north": "korea corea corée pyongyang пхеньян кндр",
    "north korea": "korea corea corée pyongyang пхеньян кндр",
    "democratic people's republic of korea": "korea corea corée pyongyang пхеньян кндр",
    "belarus": "belarus bielorrus biélorus weißruss białoru беларус белорус білорус minsk минск",
    "syria": "syri siri syrie syrien syryj сири damascus damasco дамаск",
    "iran": "iran иран іран tehran teheran teherán тегеран",
    "islamic republic of iran": "iran иран іран tehran teheran teherán тегеран",
    "cuba": "cuba kuba куба кубин havana habana la habana гавана",
    "venezuela": "venezuel venezol wenezuel венесуэл caracas каракас",
    "lebanon": "leban líban liban liban ливан beirut beyrouth бейрут",
    "iraq": "iraq irak ирак baghdad bagdad багдад",
    "afghanistan": "afghan afgan afgh афган kabul кабул",
    "yemen": "yemen jemen yémen ємен йемен houthi huthi",
    "ukraine": "ukrain ucrani украин україн kyiv kiev киев київ",
    "united arab emirates": "emirat emirad emirados dubai",
    "turkey": "turk türk turq turc турц турец ankara",
    "myanmar": "myanmar burm birma мьянм",
    "burma": "myanmar burm birma мьянм",
    "nicaragua": "nicaragu никарагу managua",
    "libya": "liby libi libij ливи tripoli",
    "somalia": "somal сомал mogadishu",
    "sudan": "sudan soudan судан khartoum",
    "pakistan": "pakistan пакистан islamabad",
    "israel": "israel isra израил ізраїл",
}
_MIN_STEM = 4
_FORMS_OF_STATE = """democratic people's peoples people republic federal federation united
kingdom state states islamic arab socialist union plurinational bolivarian"""
_FORM_OF_STATE = frozenset(_FORMS_OF_STATE.split())


def stems(countries: Iterable[str]) -> tuple[str, ...]:
    """The keys a mention of any of `countries` starts with."""
    return tuple(dict.fromkeys(stem for country in countries for stem in _stems_of(country)))


@cache  # a list names a few hundred countries, each for thousands of entries
def _stems_of(country: str) -> tuple[str, ...]:
    plain = country.strip().casefold()
    spellings = [*plain.replace(",", " ").split(), *_EXTRA.get(plain, "").split()]
    if plain not in _EXTRA and len(spellings) > 1:
        spellings = [s for s in spellings if len(s) > 3]  # "Korea, South": the name
    # "Lao People's Democratic Republic": the name, not the form of state
    spellings = [s for s in spellings if s not in _FORM_OF_STATE]
    found: list[str] = []
    for spelling in spellings:
        key = word(spelling).key
        # the name's own stem: Iran -> iran, Syria -> siri, Venezuela -> venezue
        stem = key if len(key) <= _MIN_STEM else key[: max(_MIN_STEM, len(key) - 2)]
        if len(stem) >= _MIN_STEM and stem not in found:
            found.append(stem)
    return tuple(found)


def known(country: str) -> bool:
    """Whether a phrase is a country this module knows by all its names."""
    return country.strip().casefold() in _EXTRA


def named(keys: Iterable[str], country_stems: tuple[str, ...]) -> bool:
    """Whether any of the text's word keys names the country."""
    return any(key.startswith(country_stems) for key in keys)


@cache
def all_stems() -> tuple[str, ...]:
    """The keys a mention of any country this module knows starts with."""
    return stems(_EXTRA)
