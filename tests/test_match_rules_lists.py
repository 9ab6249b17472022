"""Matcher rules that read the whole list (issue 9): prominence from a listed family, the
spellings of a surname among an entry's names, a company by its one distinctive word, acronyms
that are the initials of another name (in Latin and Cyrillic), and the Latin names Russian,
Ukrainian and Polish news write in their own way. Each rule as found / not-found pairs, in
several languages, with the rule `--json` reports.
"""

from __future__ import annotations

import pytest
from test_match_rules import assert_found, assert_not_found, found, org, person

from watcher.config.watchlist import DerivedName, Entry, EntryType, Watchlist
from watcher.matching import CompiledWatchlists, compile_watchlists

# Namesakes that make Dmitriy and Sergey given names, as on a big list.
_FILLERS = tuple(
    person(f"filler-{i}", f"{first} Zqx{i}", given=(first,), family=(f"Zqx{i}",))
    for i, first in enumerate(["Dmitriy", "Sergey"] * 3)
)


def _family(entry_id: str, given: str, middle: str, family: str, born: str) -> Entry:
    entry = person(
        entry_id,
        f"{given} {middle} {family}",
        given=(given,),
        middle=(middle,),
        family=(family,),
        countries=("Russia",),
    )
    return Entry(
        entry.list_name,
        entry.id,
        entry.name,
        entry.type,
        aliases=entry.aliases,
        name_parts=entry.name_parts,
        countries=entry.countries,
        birth_dates=(born,),
    )


ENTRIES = (
    # a head of state the list gives no title, listed with his sons and wife
    Entry(
        "sdn",
        "lukashenka",
        "Alyaksandr Ryhorovich Lukashenka",
        EntryType.PERSON,
        aliases=("Alexander Grigoryevich Lukashenko",),
        derived=(DerivedName("Alyaksandr Lukashenka", "given-family"),),
        name_parts=_family("x", "Alyaksandr", "Ryhorovich", "Lukashenka", "1954").name_parts,
        birth_dates=("1954-08-30",),
    ),
    _family("dzmitry", "Dzmitry", "Aliaksandravich", "Lukashenka", "1980"),
    _family("viktar", "Viktar", "Aliaksandravich", "Lukashenka", "1976"),
    _family("halina", "Halina", "Radzivonawna", "Lukashenka", "1955"),
    # a father and son: the son's patronymic names the father, not the other way round
    _family("sechin", "Igor", "Ivanovich", "Sechin", "1960"),
    _family("sechin-son", "Ivan", "Igorevich", "Sechin", "1989"),
    # a father listed without a patronymic, his son with one; three namesakes shortened alike
    person("chemezov", "Sergei Chemezov", given=("Sergei",), family=("Chemezov",)),
    person(
        "chemezov-son",
        "Sergey Sergeevich Chemezov",
        given=("Sergey",),
        middle=("Sergeevich",),
        family=("Chemezov",),
    ),
    person(
        "zqivanov-1",
        "Pavel Borisovich Zqivanov",
        given=("Pavel",),
        middle=("Borisovich",),
        family=("Zqivanov",),
    ),
    person(
        "zqivanov-2",
        "Pavel Sergeevich Zqivanov",
        given=("Pavel",),
        middle=("Sergeevich",),
        family=("Zqivanov",),
    ),
    # a patronymic alike, born seven years later: a namesake, no son (no family, no head)
    _family("melnychuk", "Oleksandr", "Ivanovich", "Melnychuk", "1965"),
    _family("melnychuk-2", "Serhiy", "Oleksandrovich", "Melnychuk", "1972"),
    # a family head with a wife, daughters and his mother (all Kadyrova)
    _family("kadyrov", "Ramzan", "Akhmatovich", "Kadyrov", "1976"),
    _family("kadyrova", "Medni", "Musaevna", "Kadyrova", "1978"),
    _family("kadyrova-2", "Ayshat", "Ramzanovna", "Kadyrova", "1998"),
    # two brothers and their sons: no one head
    _family("arkady", "Arkady", "Romanovich", "Rotenberg", "1951"),
    _family("boris", "Boris", "Romanovich", "Rotenberg", "1957"),
    _family("igor-r", "Igor", "Arkadyevich", "Rotenberg", "1973"),
    # unrelated namesakes: no family
    _family("medvedev", "Dmitry", "Anatolievich", "Medvedev", "1965"),
    _family("medvedev-son", "Ilya", "Dmitrievich", "Medvedev", "1995"),
    _family("medvedev-other", "Valery", "Kirillovich", "Medvedev", "1946"),
    # no relative listed, no title: the surname alone needs a cue
    _family("medvedchuk", "Viktor", "Vladimirovich", "Medvedchuk", "1954"),
    person(
        "zakharova",
        "Mariya Vladimirovna Zakharova",
        given=("Mariya",),
        middle=("Vladimirovna",),
        family=("Zakharova",),
        derived=(("Mariya Zakharova", "given-family"),),
    ),
    person(
        "peskov",
        "Dmitriy Sergeevich Peskov",
        given=("Dmitriy",),
        middle=("Sergeevich",),
        family=("Peskov",),
        derived=(("Dmitriy Peskov", "given-family"),),
    ),
    person(
        "prigozhin",
        "Yevgeniy Viktorovich Prigozhin",
        given=("Yevgeniy",),
        middle=("Viktorovich",),
        family=("Prigozhin",),
        titles=("Head of the Wagner Group",),
    ),
    # a son listed without a patronymic, which only his aliases give (Nikolay Peskov)
    person(
        "peskov-son",
        "Nikolay Peskov",
        aliases=("Nikolay Dmitriyevich Choulz",),
        given=("Nikolay",),
        family=("Peskov",),
    ),
    person(
        "peskova",
        "Elizaveta Dmitriyevna Peskova",
        given=("Elizaveta",),
        middle=("Dmitriyevna",),
        family=("Peskova",),
    ),
    # a namesake whose aliases give another father: no family head
    _family("lebedko", "Oleg", "Ivanovich", "Lebedko", "1950"),
    person(
        "lebedko-2",
        "Pavel Lebedko",
        aliases=("Pavel Sergeyevich Lebedko",),
        given=("Pavel",),
        family=("Lebedko",),
    ),
    *_FILLERS,
    # companies: one distinctive word left of the name
    org(
        "sberbank",
        "PUBLIC JOINT STOCK COMPANY SBERBANK OF RUSSIA",
        "PJSC SBERBANK",
        countries=("Russia",),
    ),
    org("sber-investments", "SBERBANK INVESTMENTS LLC", countries=("Russia",)),
    org("gazprombank", "GAZPROMBANK JOINT STOCK COMPANY", countries=("Russia",)),
    org("inspur", "INSPUR GROUP CO., LTD."),
    org("belaruskali", "BELARUSKALI OAO"),
    org("abros", "THE LIMITED LIABILITY COMPANY INVESTMENT COMPANY ABROS", countries=("Russia",)),
    org("ayaks", "LIMITED LIABILITY COMPANY AYAKS", countries=("Russia",)),
    org("zvezda", "PUBLIC JOINT STOCK COMPANY ZVEZDA", countries=("Russia",)),
    org("sovcomflot", "JOINT STOCK COMPANY SOVCOMFLOT", countries=("Russia",)),
    org("feniks", "FENIKS", countries=("Russia",)),
    org("huawei", "HUAWEI TECHNOLOGIES CO., LTD."),
    # one-word Latin names Russian renders by English sounds (ai: a long i)
    org("chikas", "SIN-MEX IMPORTADORA, S.A. DE C.V.", "CHIKA'S", countries=("Mexico",)),
    org("bidek", "BIDEK TRADING LLC", "BIDEK"),
    # an acronym (weak alias) of an entry the list gives no country
    org(
        "eta",
        "EUZKADI TA ASKATASUNA",
        "BATASUNA",
        "EUSKAL HERRITARROK",
        weak=("ETA", "K.A.S."),
        programs=("SDGT",),
    ),
    # the owner of five listed companies (OFAC's "Linked To" remarks), and of four
    person("zqoligarch", "Oleg Zqderipaska", given=("Oleg",), family=("Zqderipaska",)),
    *(
        Entry("sdn", f"zqcompany-{i}", f"ZQCOMPANY {i}", notes="Linked To: ZQDERIPASKA, Oleg")
        for i in range(5)
    ),
    person("zqsmaller", "Ivan Zqsmallov", given=("Ivan",), family=("Zqsmallov",)),
    *(
        Entry("sdn", f"zqfirm-{i}", f"ZQFIRM {i}", notes="Linked To: ZQSMALLOV, Ivan")
        for i in range(4)
    ),
    # an acronym and the person the list links to it (OFAC's "Linked To" remark)
    org(
        "fsb",
        "FEDERAL SECURITY SERVICE",
        "FEDERALNAYA SLUZHBA BEZOPASNOSTI",
        weak=("FSB",),
        countries=("Russia",),
    ),
    Entry(
        "sdn",
        "bortnikov",
        "Alexander Vasilievich Bortnikov",
        EntryType.PERSON,
        aliases=("Alexander Bortnikov",),
        notes="Linked To: FEDERAL SECURITY SERVICE",
    ),
    # a name of everyday words and a country, in the list's capitals
    org("cbr", "CENTRAL BANK OF THE RUSSIAN FEDERATION", "BANK OF RUSSIA"),
    # companies by one coined word, spelled two ways; "state corporation" is a legal form
    org("rosoboron", "ROSOBORONEKSPORT OAO", "ROSOBORONEXPORT JSC", countries=("Russia",)),
    org("rostec", "STATE CORPORATION ROSTEC", countries=("Russia",)),
    # a charity named after a holy site; a group with a one-noun alias and no country listed
    org("aqsa", "AL-AQSA", programs=("SDGT",)),
    org("base-group", "AL-QAIDA ZQ", "The Base"),
    # groups listed for terrorism: a two-letter acronym, and one with its country listed
    org("shining-path", "SENDERO LUMINOSO", weak=("SL",), programs=("SDGT",)),
    org("adf", "ALLIED DEMOCRATIC FORCES", "ADF", countries=("Uganda",), programs=("SDGT",)),
    # the same, listed for no terrorism program
    org("arko", "ALFA RADIO KOMPANIYA OTKRYTAYA", weak=("ARKO",)),
    org("wagner", "WAGNER GROUP", countries=("Russia",)),
    org("bank-moskvy", "BANK MOSKVY PAO", countries=("Russia",)),
    org("gazprom", "PUBLIC JOINT STOCK COMPANY GAZPROM", "GAZPROM", countries=("Russia",)),
    org(
        "gazprom-neft",
        "PUBLIC JOINT STOCK COMPANY GAZPROM NEFT",
        "GAZPROM NEFT PAO",
        countries=("Russia",),
    ),
    # a weak alias that is the initials of another of its names; one that is not
    org(
        "fsb",
        "FEDERAL SECURITY SERVICE",
        "FEDERALNAYA SLUZHBA BEZOPASNOSTI",
        countries=("Russia",),
        weak=("FSB",),
    ),
    org("astro", "ASTROFIZIKA", countries=("Russia",), weak=("ANC",)),
    # an acronym only inside the names, of the parent and of a subsidiary
    org(
        "vtb",
        "VTB BANK PUBLIC JOINT STOCK COMPANY",
        "BANK VTB OAO",
        "BANK VTB PAO",
        "BANK VNESHNEY TORGOVLI",
        countries=("Russia",),
    ),
    org("vtb-capital", "VTB CAPITAL HOLDINGS", "VTB CAPITAL CJSC", countries=("Russia",)),
    # a generic name: beside its country, which a tag line may give anywhere in the item
    org("mod-dprk", "MINISTRY OF DEFENCE", countries=("Democratic People's Republic of Korea",)),
    org("fss", "FEDERAL SECURITY SERVICE", countries=("Russia",)),
    org("hizballah", "HIZBALLAH", countries=("Lebanon",)),
    # short or everyday words in the list's capitals: news capitalises them
    org("quds", "IRGC-QODS FORCE", "QUDS FORCE"),
    org("post-bank", "POST BANK OF IRAN"),
    org("golden-star", "GOLDEN STAR"),
    # a surname whose plural names a movement; a movement's head by "Secretary General"
    person(
        "houthi",
        "Abdul Malik Al Houthi",
        given=("Abdul Malik",),
        family=("Al Houthi",),
        titles=("Leader of the Houthis",),
    ),
    org("houthis", "THE HOUTHIS", "ANSARALLAH", countries=("Yemen",)),
    person(
        "nasrallah",
        "Hasan Nasrallah",
        given=("Hasan",),
        family=("Nasrallah",),
        titles=("Secretary General of Hizballah",),
    ),
    person("nasrallah-son", "Jawad Nasrallah", given=("Jawad",), family=("Nasrallah",)),
    # a father whose name the son's patronymic spells another way (Aleksandrovich: Alexander)
    _family("bortnikov", "Alexander", "Vasilievich", "Bortnikov", "1951"),
    _family("bortnikov-son", "Denis", "Aleksandrovich", "Bortnikov", "1974"),
    # a son named after his father: the name they share is the father's
    _family("zqrot", "Boris", "Romanovich", "Zqrotenberg", "1957"),
    _family("zqrot-son", "Boris", "Borisovich", "Zqrotenberg", "1986"),
)


@pytest.fixture(scope="module")
def compiled() -> CompiledWatchlists:
    return compile_watchlists([Watchlist("sdn", "", "", ENTRIES)])


# (rule, text, entry, mention, Match.rule)
FOUND = [
    # the head of a listed family by the surname alone, in each spelling of his names
    ("family", "Протесты против Лукашенко продолжаются.", "lukashenka", "Лукашенко", "surname"),
    ("family", "Talks with Lukashenko ended.", "lukashenka", "Lukashenko", "surname"),
    # his own given name in Ukrainian (Олександр for Aleksandr) is no other man's
    ("family", "Зустріч Олександра Лукашенка в Мінську.", "lukashenka", "Лукашенка", "surname"),
    ("family", "Прэзідэнт Лукашэнка сказаў", "lukashenka", "Лукашэнка", "surname"),
    ("family", "Bortnikov said the plot was foiled.", "bortnikov", "Bortnikov", "surname"),
    ("family", "«Лукашенко уйдёт», — сказал он.", "lukashenka", "Лукашенко", "surname"),
    ("head", "Nasrallah said in a speech", "nasrallah", "Nasrallah", "surname"),
    ("arabic", "Лидер «Хезболлы» Насралла заявил", "nasrallah", "Насралла", "surname"),
    ("arabic", "Хезболла заявила о ракетах.", "hizballah", "Хезболла", "name"),
    ("arabic", "Склады «Хезболлы» уничтожены.", "hizballah", "Хезболлы", "name"),
    ("guessed", "Акции Байдека упали.", "bidek", "Байдека", "alias"),  # no Russian word
    # beside a distinctive word of another of its names, in any case form
    ("vouched", "Presos de ETA y la izquierda de Euskal Herria.", "eta", "ETA", "acronym"),
    ("vouched", "ETA's prisoners, Euskal groups said, were moved.", "eta", "ETA", "acronym"),
    ("vouched", "Атаки ETA и запрет партии Батасуна.", "eta", "ETA", "acronym"),
    ("shortened", "Sergei Chemezov, head of Rostec, said", "chemezov", "Sergei Chemezov", "name"),
    ("namesake son", "Boris Zqrotenberg lost his appeal.", "zqrot", "Boris Zqrotenberg", "name"),
    ("place", "The charity Al-Aqsa was designated in 2003.", "aqsa", "Al-Aqsa", "name"),
    ("shop", "ООО «Феникс» поставляло детали для дронов.", "feniks", "Феникс", "name"),
    # a company's one word respelled as no word (German w for v), not as a word (Ajax)
    (
        "core",
        "Die russische Reederei Sowcomflot verkaufte Tanker.",
        "sovcomflot",
        "Sowcomflot",
        "short-form",
    ),
    ("one noun", "Al-Qaida Zq, known as The Base, grew.", "base-group", "Al-Qaida Zq", "name"),
    ("network", "Zqderipaska said nothing.", "zqoligarch", "Zqderipaska", "surname"),
    ("capitals", "The Bank of Russia raised rates.", "cbr", "Bank of Russia", "alias"),
    ("linked", "FSB director Alexander Bortnikov blamed Kyiv.", "fsb", "FSB", "acronym"),
    # a long coined word: the country anywhere in the item vouches; each listed spelling
    (
        "coined",
        "Rosoboronexport signed deals. " + "Words. " * 15 + "Russia's arms sales grew.",
        "rosoboron",
        "Rosoboronexport",
        "short-form",
    ),
    (
        "coined",
        "Rostec said output had tripled. Russia needs arms.",
        "rostec",
        "Rostec",
        "short-form",
    ),
    # the son by his full name is still the son
    (
        "shortened",
        "Sergey Sergeevich Chemezov, his son, said",
        "chemezov-son",
        "Sergey Sergeevich Chemezov",
        "name",
    ),
    # a group listed for terrorism, its acronym beside talk of terrorism (no country listed)
    ("terrorism", "La banda terrorista ETA asesinó a 850 personas.", "eta", "ETA", "acronym"),
    (
        "terrorism",
        "Volvieron al terrorismo. Los populares usaron su comodín favorito: ETA.",
        "eta",
        "ETA",
        "acronym",
    ),
    ("terrorism", "Террористы из ETA взяли на себя ответственность.", "eta", "ETA", "acronym"),
    ("guessed", "Chika's sold goods.", "chikas", "Chika", "alias"),
    ("family", "Wczoraj Łukaszenka powiedział", "lukashenka", "Łukaszenka", "surname"),
    # Polish case forms of a surname in -a, and Polish ż for ж
    ("family", "Łukaszenki nie było na szczycie.", "lukashenka", "Łukaszenki", "surname"),
    ("family", "Łukaszence zarzuca się fałszerstwa.", "lukashenka", "Łukaszence", "surname"),
    ("family", "Opozycja krytykuje Łukaszenkę.", "lukashenka", "Łukaszenkę", "surname"),
    ("family", "Rozmowa z Łukaszenką trwała.", "lukashenka", "Łukaszenką", "surname"),
    ("family", "Sankcje wobec Sieczina i Żukowa.", "sechin", "Sieczina", "surname"),
    ("given", "Igor Seczin i Prigożyn rozmawiali.", "prigozhin", "Prigożyn", "surname"),
    # French and German spellings of Russian sounds (ch, j: ш, ж; sch: ж)
    ("family", "Le président Loukachenko a dit", "lukashenka", "Loukachenko", "surname"),
    ("family", "Sanktionen gegen Setschin", "sechin", "Setschin", "surname"),
    ("given", "Dmitri Peskov, le porte-parole", "peskov", "Dmitri Peskov", "derived:given-family"),
    ("family", "Обмін думками з Лукашенком.", "lukashenka", "Лукашенком", "surname"),
    ("family", "Sanctions hit Sechin again.", "sechin", "Sechin", "surname"),
    ("family", "Кадыров заявил о победе.", "kadyrov", "Кадыров", "surname"),
    # a head known by his son's aliases (Nikolay Dmitriyevich): his surname with a cue
    ("family", "Kremlin spokesman Peskov said.", "peskov", "Peskov", "surname"),
    ("family", "Речник Кремля Пєсков заперечив це.", "peskov", "Пєсков", "surname"),
    ("family", "Według rzecznika Pieskowa to plotki.", "peskov", "Pieskowa", "surname"),
    (
        "family",
        "Aleksandr Łukaszenka powiedział",
        "lukashenka",
        "Aleksandr Łukaszenka",
        "derived:given-family",
    ),
    # a short -a given name in its case forms, beside the surname
    ("given", "Заявление Марии Захаровой", "zakharova", "Марии Захаровой", "derived:given-family"),
    ("given", "Марию Захарову спросили", "zakharova", "Марию Захарову", "derived:given-family"),
    # a common given name in another language's form (Ukrainian Дмитро for Dmitriy)
    (
        "given",
        "Речник Кремля Дмитро Пєсков заявив.",
        "peskov",
        "Дмитро Пєсков",
        "derived:given-family",
    ),
    # a company by its one distinctive word, in Latin and Cyrillic, inflected
    ("core", "Sberbank said profits rose.", "sberbank", "Sberbank", "short-form"),
    ("core", "Акции Сбербанка упали.", "sberbank", "Сбербанка", "short-form"),
    ("core", "Газпромбанк сообщил о прибыли.", "gazprombank", "Газпромбанк", "short-form"),
    ("core", "Inspur servers sold well.", "inspur", "Inspur", "short-form"),
    ("core", "Санкции против «Беларуськалия».", "belaruskali", "Беларуськалия", "short-form"),
    ("core", "Сделка с «Беларуськалием».", "belaruskali", "Беларуськалием", "short-form"),
    ("core", "the Russian firm Abros said", "abros", "Abros", "short-form"),
    # a word of a longer name in lower case («Газпром нефти»): the longer name, not Gazprom
    ("lower", "Акции «Газпром нефти» выросли.", "gazprom-neft", "Газпром нефти", "short-form"),
    # acronyms that are the initials of another name, beside the country, in either script
    ("acronym", "ФСБ задержала двух россиян.", "fsb", "ФСБ", "acronym"),
    ("acronym", "The FSB said Russia was attacked.", "fsb", "FSB", "acronym"),
    ("acronym", "VTB said profits fell in Russia.", "vtb", "VTB", "acronym"),
    ("title", "A Quds Force commander was killed.", "quds", "Quds Force", "alias"),
    ("title", "the QUDS FORCE said", "quds", "QUDS FORCE", "alias"),
    ("title", "accounts at Post Bank of Iran", "post-bank", "Post Bank of Iran", "name"),
    ("title", "GOLDEN STAR was named", "golden-star", "GOLDEN STAR", "name"),
    ("acronym", "Российский банк ВТБ сообщил о прибыли.", "vtb", "ВТБ", "acronym"),
    (
        "tag",
        "Putin Thanks Trump for Helping Russia\n\n"
        + "Words of the body. " * 10
        + "\n\nTags: Terrorism · United States · Federal Security Service",
        "fss",
        "Federal Security Service",
        "name",
    ),
    (
        "country",
        "North Korea's Ministry of Defence said",
        "mod-dprk",
        "Ministry of Defence",
        "name",
    ),
]


# (rule, text, entry)
NOT_FOUND = [
    # family members and namesakes by the surname alone
    ("family", "Viktor Lukashenko said", "lukashenka"),  # another given name: the son
    ("family", "Мечеть имени Ахмата Кадырова открыли.", "kadyrov"),  # his father, not listed
    ("family", "Людмила Кадырова выступила.", "kadyrov"),
    ("family", "Sanctions hit Sechin again.", "sechin-son"),  # the son is no head
    ("family", "Sanctions hit Melnychuk again.", "melnychuk"),  # seven years: no son
    # a shortened name another listed person bears as written, or several share
    ("shortened", "Sergei Chemezov, head of Rostec, said", "chemezov-son"),
    ("namesake son", "Boris Zqrotenberg lost his appeal.", "zqrot-son"),
    ("network", "Zqsmallov said nothing.", "zqsmaller"),  # four linked: no network head
    ("coined", "Rostec said output had tripled.", "rostec"),  # no country in the item
    ("linked", "The FSB said it detained a man in Bryansk.", "fsb"),  # nothing vouches
    ("capitals", "He wanted to open a bank of russia's own.", "cbr"),  # words, not the name
    # the holy site, not the charity named after it
    ("place", "Worshippers gathered at the Al-Aqsa mosque for prayers.", "aqsa"),
    ("place", "Fieles rezaron en la mezquita de Al Aqsa.", "aqsa"),
    ("place", "Верующие собрались у мечети Аль-Акса.", "aqsa"),
    # a shop, restaurant or hotel of that name, not the listed company
    ("shop", "Жители пожаловались, что в магазине «Феникс» подняли цены.", "feniks"),
    ("shop", "Цены в кафе «Феникс» выросли.", "feniks"),
    ("shop", "Ceny w sklepie Feniks wzrosły.", "feniks"),
    # an article and one noun, no country listed: only beside another of its names
    ("one noun", "The Base, a new co-working space in Manchester, opens.", "base-group"),
    ("shortened", "Pavel Zqivanov, a pensioner, said", "zqivanov-1"),
    ("shortened", "Pavel Zqivanov, a pensioner, said", "zqivanov-2"),
    ("family", "Rotenberg said nothing.", "arkady"),  # two fathers: no head
    ("family", "Rotenberg said nothing.", "boris"),
    ("family", "Medvedev said nothing.", "medvedev"),  # an unrelated namesake: no family
    ("family", "Bortnikov said the plot was foiled.", "bortnikov-son"),
    ("family", "Peskov said nothing.", "peskov-son"),  # the son is no head
    ("family", "Spotkanie z Łukaszenkami.", "lukashenka"),  # the Lukashenkas: his family
    ("family", "łukaszenki i inne żarty", "lukashenka"),  # lower case
    ("family", "Prigozin i Prigoźyn", "prigozhin"),  # z and ź are not ж
    ("family", "Песков и глины хватит на год.", "peskov"),  # no cue: also the word 'sands'
    ("family", "Kremlin spokesman Peskov said.", "peskov-son"),
    ("family", "Według rzecznika Pieskowa to plotki.", "peskova"),  # his genitive, not her
    ("family", "Пресс-секретарь Пескова не ответила.", "peskova"),
    ("family", "Lebedko said nothing.", "lebedko"),  # his aliases name another father
    ("family", "Лебедко ничего не сказал.", "lebedko"),
    ("quoted", "Спектакль «Лукашенко» поставили снова.", "lukashenka"),  # a title, not him
    ("quoted", 'The film "Sechin" opens today.', "sechin"),
    ("head", "Nasrallah said in a speech", "nasrallah-son"),
    ("arabic", "Хезбол и Хезболо", "hizballah"),  # no -llah
    ("movement", "Houthi rebels attacked a ship.", "houthi"),  # the movement's members
    ("movement", "Leader Houthi rebels attacked a ship.", "houthi"),
    ("family", "Обмін Медведчука на полонених.", "medvedchuk"),  # not prominent, no cue
    ("given", "Заявление Светланы Захаровой", "zakharova"),  # another given name
    # the one word: a word, a frequent name, a place, a namesake without the country
    ("core", "Ajax beat Tottenham.", "ayaks"),
    ("core", "Звезда упала на землю.", "zvezda"),
    ("guessed", "Чайка летела над морем.", "chikas"),  # seagull, not CHIKA'S
    ("vouched", "El PP volvió a hablar de ETA.", "eta"),  # no country, no other name
    ("vouched", "Flight BA12, ETA 10:30, gate B.", "eta"),
    ("terrorism", "The terrorist attack in Paris; ARKO radio said nothing.", "arko"),  # no program
    ("terrorism", "Los terroristas de SL atacaron.", "shining-path"),  # two letters: any
    ("terrorism", "After the terrorist attack, the ADF said", "adf"),  # its country says
    ("terrorism", "ETA of the flight: 10:30. " + "Words. " * 25 + "Terrorism.", "eta"),  # far
    ("vouched", "Presos de eta y Euskal Herria.", "eta"),  # not in capitals
    ("guessed", "Завод «Чайка» закрыли.", "chikas"),
    ("core", "Zvezda TV said", "zvezda"),  # a plain word of Russian: only beside the country
    ("core", "Huawei Mate X folds out.", "huawei"),  # frequent in the news languages
    ("core", "Wagner's operas were played.", "wagner"),
    ("core", "Москвы и области", "bank-moskvy"),
    ("core", "AniCura Abros Hospital Veterinario", "abros"),
    ("core", "Sberbank said profits rose.", "sber-investments"),  # the parent keeps the word
    ("lower", "Акции «Газпром нефти» выросли.", "gazprom"),
    # acronyms without the country, or a weak alias that is no initials
    ("acronym", "ФСБ задержала двух.", "fsb"),
    ("acronym", "the ANC won in Russia's ally South Africa", "astro"),
    ("acronym", "VTB said profits fell.", "vtb"),  # no country
    ("title", "the quds force of habit", "quds"),  # in lower case: words
    ("title", "Golden Star restaurant opens", "golden-star"),  # everyday words: as listed only
    ("title", "a post bank of iran", "post-bank"),
    ("acronym", "VTB said profits fell in Russia.", "vtb-capital"),  # the parent's acronym
    # a tag about the whole item: its country must be in the item; a form of state is no country
    (
        "tag",
        "Falklands veteran sues MoD\n\nGay people were banned.\n\nTags: Ministry of Defence · UK",
        "mod-dprk",
    ),
    ("tag", "Spy chiefs met\n\nTags: Federal Security Service · Ukraine", "fss"),
]


@pytest.mark.parametrize("case", FOUND, ids=[f"{c[0]}: {c[1]}" for c in FOUND])
def test_found(case: tuple[str, str, str, str, str], compiled: CompiledWatchlists) -> None:
    assert_found(case, compiled)


@pytest.mark.parametrize(("rule", "text", "entry"), NOT_FOUND)
def test_not_found(rule: str, text: str, entry: str, compiled: CompiledWatchlists) -> None:
    assert_not_found(rule, text, entry, compiled)


def test_why_names_the_family_and_the_form(compiled: CompiledWatchlists) -> None:
    head = found("Talks with Lukashenko ended.", compiled)["lukashenka"]
    assert head.evidence == "listed with 3 relatives"
    assert head.alias == "Lukashenko"  # the spelling of his aliases, not LUKASHENKA
    assert head.why == "surname of a prominent person, listed with 3 relatives"
    core = found("Акции Сбербанка упали.", compiled)["sberbank"]
    assert core.why == "name without legal form or generic words; inflected form"
    acronym = found("ФСБ задержала двух россиян.", compiled)["fsb"]
    assert acronym.why == "acronym, with: россиян"
    assert acronym.to_json()["rule"] == "acronym"


# Latin names as Russian, Ukrainian and Polish news write them: a one-word name that is an
# English word (Trump), German z as ц (Шольц), English u as а (Трамп), a Polish case form after
# a capitalised word opening the sentence; and what these must not catch.
HAND = (
    Entry("people", "trump", "Donald Trump", EntryType.PERSON, aliases=("Trump",)),
    Entry("people", "scholz", "Olaf Scholz", EntryType.PERSON, aliases=("Scholz",)),
    Entry("people", "biden", "Joseph Biden", EntryType.PERSON, aliases=("Biden",)),
    Entry("people", "macron", "Emmanuel Macron", EntryType.PERSON, aliases=("Macron",)),
    Entry("people", "soros", "George Soros", EntryType.PERSON, aliases=("Soros",)),
    Entry("people", "bolton", "John Bolton", EntryType.PERSON, aliases=("Bolton",)),
)
HAND_FOUND = [
    ("Spotkanie z Trumpem odwołano.", "trump", "Trumpem"),
    ("Trumpowi przekazano list.", "trump", "Trumpowi"),
    ("Сторонники Трампа собрались.", "trump", "Трампа"),
    ("Трампу позвонили из Киева.", "trump", "Трампу"),
    ("Встреча с Дональдом Трампом.", "trump", "Дональдом Трампом"),
    ("Trump said no.", "trump", "Trump"),
    ("Визит Шольца в Пекин.", "scholz", "Шольца"),
    ("Переговоры с Олафом Шольцем.", "scholz", "Олафом Шольцем"),
    ("Doradcy Bidena przygotowali nowy plan.", "biden", "Bidena"),
    ("Krytycy Macrona wyszli na ulice.", "macron", "Macrona"),
    # Дж- is the J (or G) of the entry's own given name
    ("Джо Байден провёл переговоры.", "biden", "Байден"),  # Joe: Joseph's short form
    ("Джордж Сорос выступил в Давосе.", "soros", "Сорос"),
    ("Джон Болтон прибув до Києва.", "bolton", "Болтон"),
]
HAND_NOT_FOUND = [
    ("He played his trump card.", "trump"),
    ("The Trumpeter Swan", "trump"),
    ("Мартин Шульц выступил.", "scholz"),  # Schulz, another name
    ("Lucía Biden dijo que no.", "biden"),  # a given name before the nominative
    ("Брижит Макрон посетила школу.", "macron"),  # a given name no Russian word
    # another J name, even one Russian news writes often enough to be a word (Jill, Jeb)
    ("Джилл Байден посетила школу.", "biden"),
    ("Джилл Байден відвідала школу.", "biden"),
    ("Джеб Сорос выступил в Давосе.", "soros"),
    ("Джеймс Болтон прибув до Києва.", "bolton"),
    ("Wczoraj Hunter Bidena widziano.", "biden"),
]


@pytest.fixture(scope="module")
def hand() -> CompiledWatchlists:
    return compile_watchlists([Watchlist("people", "", "", HAND)])


@pytest.mark.parametrize(("text", "entry", "mention"), HAND_FOUND)
def test_latin_names_as_slavic_news_writes_them(
    text: str, entry: str, mention: str, hand: CompiledWatchlists
) -> None:
    hits = found(text, hand)
    assert entry in hits, f"{entry} not found in {text!r}: got {sorted(hits)}"
    assert hits[entry].text == mention


@pytest.mark.parametrize(("text", "entry"), HAND_NOT_FOUND)
def test_latin_names_not_in_other_words(text: str, entry: str, hand: CompiledWatchlists) -> None:
    assert entry not in found(text, hand)


def _linked(entry_id: str, name: str, notes: str = "") -> Entry:
    return Entry("sdn", entry_id, name, notes=notes)


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("Huawei Mate X folds out.", "huawei"),
        ("Ukraine, Huawei, Soccer: Your Monday Briefing", "huawei"),
        ("Huawei's new phone", "huawei"),
    ],
)
def test_a_group_of_companies_by_its_brand(text: str, entry: str) -> None:
    """A word the news writes every day names a company where the list ties a group to it:
    another entry, Linked To this one, shares the word (OFAC's remarks). The group's head keeps
    it; the linked company, the word in lower case, or a word without such a group do not."""
    group = (
        _linked("huawei", "HUAWEI TECHNOLOGIES CO., LTD."),
        _linked(
            "huawei-holding",
            "HUAWEI INVESTMENT & HOLDING CO., LTD.",
            "OFAC non-SDN consolidated list; Linked To: HUAWEI TECHNOLOGIES CO., LTD",
        ),
        _linked("wagner", "WAGNER GROUP"),
        _linked(
            "wagner-linked",
            "CONCORD MANAGEMENT LLC",
            "Linked To: WAGNER GROUP",  # linked, but shares no word
        ),
    )
    compiled = compile_watchlists([Watchlist("sdn", "", "", group)])
    hits = found(text, compiled)
    assert set(hits) == {entry}
    assert hits[entry].rule == "short-form"
    assert not found("the huawei of the village; Wagner's operas", compiled)
