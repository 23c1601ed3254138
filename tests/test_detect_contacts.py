"""Contact-point extraction: unit cases per obfuscation and the labelled evaluation set."""

from __future__ import annotations

import re

import pytest

from safelight.detect.contacts import deobfuscate, extract_contacts
from safelight.detect.testdata import PHONE_STYLES, contact_cases, evaluate


def keys(text: str, region: str = "US") -> list[str]:
    return [c.key for c in extract_contacts(text, region)]


@pytest.mark.parametrize(("text", "region", "expected"), [
    ("call nine one seven five five five zero one two three", "US", ["phone:+19175550123"]),
    ("Звоніть нуль п’ять нуль один два три чотири п'ять шість сім", "UA", ["phone:+380501234567"]),
    ("Звони восемь девять один два три четыре пять шесть семь восемь девять", "RU",
     ["phone:+79123456789"]),
    ("llama seis uno dos tres cuatro cinco seis siete ocho", "ES", ["phone:+34612345678"]),
    ("sună zero șapte unu doi zero trei patru cinci șase șapte", "RO", ["phone:+40712034567"]),
    ("llama 6l2 34 S6 78", "ES", ["phone:+34612345678"]),
    ("９１７ ５５５ ０１２３", "US", ["phone:+19175550123"]),
    ("9️⃣1️⃣7️⃣5️⃣5️⃣5️⃣0️⃣1️⃣2️⃣3️⃣", "US", ["phone:+19175550123"]),
    ("(201) 555-0123", "US", ["phone:+12015550123"]),
    ("2.0.1.5.5.5.0.1.2.3", "US", ["phone:+12015550123"]),
    ("8 (912) 345-67-89", "RU", ["phone:+79123456789"]),
    ("00380501234567", "US", ["phone:+380501234567"]),
    ("viber: 050-123-45-67 / 067 123 4567", "UA", ["phone:+380501234567", "phone:+380671234567"]),
    ("anna.k at gmail dot com", "US", ["email:anna.k@gmail.com"]),
    ("anna[at]mail(dot)ru", "RU", ["email:anna@mail.ru"]),
    ("masha собака yandex точка ru", "RU", ["email:masha@yandex.ru"]),
    ("tg: @sweet_anna t.me/Anna_VIP", "UA", ["telegram:sweet_anna", "telegram:anna_vip"]),
    ("insta: anna.k", "US", ["instagram:anna.k"]),
    ("www.Site.com/profile/ and https://x.example.org/a?b=1.", "US",
     ["url:site.com/profile", "url:x.example.org/a"]),
    ("write @lena_x", "US", ["handle:lena_x"]),
])
def test_extracts(text: str, region: str, expected: list[str]) -> None:
    assert keys(text, region) == expected


def test_channel_of_phone() -> None:
    cps = extract_contacts("WhatsApp +40 712 034 567, Viber 050 123 4567", "UA")
    assert [(c.value, c.channel) for c in cps] == [("+40712034567", "whatsapp"),
                                                   ("+380501234567", "viber")]
    assert extract_contacts("wa.me/380501234567")[0].channel == "whatsapp"


@pytest.mark.parametrize("text", [
    "Price 200$ per hour, 24/7. Age 23, height 170 cm, 90-60-90.",
    "Open from 10:00 to 22:00, posted 12.05.2024 in room 305.",
    "One girl, two friends, three hours. Salary 1500-2000 EUR.",
    "Одна дівчина, два дні, три години. Зарплата 1200-1500 євро.",
    "Meet at hotel dot. SOS", "", "@", "+", "\x00\ufeff\u20e3",
])
def test_no_false_contacts(text: str) -> None:
    assert keys(text) == []


def test_words_need_a_run() -> None:
    assert deobfuscate("one girl, two friends") == "one girl, two friends"
    assert deobfuscate("917 555 0123 one girl") == "917 555 0123 one girl"


def test_never_raises_on_junk() -> None:
    import random

    rng = random.Random(1)
    alphabet = "0123456789 +()-.@[]atdo:/OIlS\u20e3\ufe0fоднаtwo"
    for _ in range(300):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        extract_contacts(s, rng.choice(["US", "UA", "XX", ""]))


def test_evaluation_set_precision_recall() -> None:
    cases = contact_cases(600, seed=8)
    assert len(cases) >= 500
    assert {c.lang for c in cases} == {"en", "uk", "ru", "es", "ro"}
    styles = {s for c in cases for s in c.styles}
    assert {f"phone_{s}" for s in PHONE_STYLES} <= styles
    assert "negative" in styles
    assert contact_cases(50, seed=3) == contact_cases(50, seed=3)  # deterministic
    result = evaluate(cases, extract_contacts)
    assert result["tp"] + result["fn"] >= 600
    assert result["precision"] >= 0.97, result["errors"]
    assert result["recall"] >= 0.97, result["errors"]


def test_an_analysis_leaves_no_number_or_word_in_the_process_caches():
    """A long-lived process (a library user, a server) must not keep one analysis's contact
    numbers or ad words: a later caller could test whether a number was seen."""
    from safelight.detect import contacts, indicators
    from safelight.detect.indicators import load_lexicon
    from safelight.detect.pipeline import AdTable, analyse

    texts = ["Work in Berlin, call +49 30 12345678, no experience needed, visa paid",
             "Hostess job, whatsapp +49 30 12345678, accommodation provided"] * 3
    n = len(texts)
    ads = AdTable([f"a{i}" for i in range(n)], texts, ["s"] * n, ["Berlin"] * n, [""] * n,
                  ["DE"] * n)
    lex = load_lexicon()
    analyse(ads, workers=1, lexicon=lex)
    assert contacts._parse_digits.cache_info().currsize == 0
    assert not contacts._KINDS  # the words the contact scope classified
    assert not indicators._FOLDED and not indicators._ODD
    assert not lex._starts and not lex._gates and not lex._seconds
    # a lexicon the caller built (not the cached one the in-process indicator step loads by
    # path): the cached one must not keep the ads' words either
    own = indicators.Lexicon(**{f: getattr(lex, f) for f in
                                ("indicators", "sources", "prior_log_odds", "flag_score",
                                 "flag_min_indicators", "gap", "path")})
    cached = load_lexicon(lex.path)
    assert own is not cached
    analyse(ads, workers=1, lexicon=own)
    assert not cached._starts and not cached._gates and not cached._seconds
    assert not own._starts and not own._gates and not indicators._FOLDED
    assert not own._seconds


def _random_texts(n: int, seed: int) -> list[str]:
    """Strings built from the characters the gates look at: look-alike letters, digits,
    separators, number words, channel keywords, dots before letters, keycaps, Cyrillic."""
    import random

    rng = random.Random(seed)
    pieces = ["O", "o", "l", "I", "S", "s", "B", "|", "0", "1", "5", "7", "9", "12", "555",
              " ", " ", " ", "-", ".", ". ", "/", "(", ")", ":", "—", "–", "`", "’", "@",
              "one", "two", "nine", "дев'ять", "п’ять", "șapte", "SO", "lol", "so", "at",
              "tg", "telegram", "insta", "wa", "whatsapp", "www", "com", "ru", "http://",
              "girl", "hello", "день", "ıl", "ſ", "K", "9️⃣", "➐", "\u200b", "ｏｎｅ", "_"]
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 40))) for _ in range(n)]


def test_gates_skip_only_what_cannot_match() -> None:
    """Each cheap test before a pattern says no only where the pattern finds nothing (and the
    ASCII path of deobfuscate is the general one)."""
    import unicodedata

    from safelight.detect import contacts as c

    texts = _random_texts(20_000, 5)
    for t in texts:
        if not c._SWAP_GATE_RE.search(t):
            assert c._SWAP_RUN_RE.sub(c._swap_letters, t) == t
        if not c._may_hold_url(t):
            assert not c._URL_RE.search(t)  # (the old gate also passed "www. ", no URL)
        if not c._has_keyed_separator(t):
            assert not c._KEYED_HANDLE_RE.search(t)
        if "@" not in t:
            assert bool(c._AT_GATE_RE.search(t)) == bool(re.search(
                r"(?i)@|[\s\[\(\{<](?:at|arroba|собака|собачка|равлик|coada)[\s\]\)\}>]", t))
        low = t.lower()
        assert c._count_number_parts(low) == sum(
            map(c._NUMBER_PARTS.__contains__, c._LETTER_RUN_RE.findall(low)))
        if t.isascii():
            n = unicodedata.normalize("NFKC", t).translate(c._STRIP).translate(c._APOSTROPHES)
            assert c.deobfuscate(t) == c._words_to_digits(c._SWAP_RUN_RE.sub(c._swap_letters, n))
    # the gates do pass texts that hold something
    assert c._may_hold_url("see www.example.com now") and c._may_hold_url("x.ru")
    assert c._SWAP_GATE_RE.search("9l7 SS5 O123") and c._has_keyed_separator("tg: @anna")
