"""Contact extraction reads only the stretches around active parts: the same contacts as a
scan of the whole text, and the lookahead-led patterns match where their plain forms do."""

from __future__ import annotations

import random
import re

import pytest

from safelight.detect import contacts as c
from safelight.detect.corpus import CorpusSettings, generate_corpus
from safelight.detect.testdata import contact_cases

# the patterns as written before their scans were led by a lookahead (the reference)
PLAIN = {
    "_PHONE_RE": re.compile(r"(?<![\w+])(\+?\(?\d(?:[\s().\-/_*~|•·]{0,3}\d){6,60})(?![\w])"),
    "_SWAP_RUN_RE": re.compile(
        rf"(?<![\w])\(?[{c._SWAP_CHARS}]+\)?(?:[\s\-./]{{1,3}}\(?[{c._SWAP_CHARS}]+\)?)*"
        r"(?![\w])"),
    "_KEYED_HANDLE_RE": re.compile(
        r"(?i)(?<![\w])(telegram|tg|телеграм|телега|телеграмм|insta(?:gram)?|ig|inst|инстаграм|"
        r"инста|інстаграм|signal|сигнал)\s*(?::|-|–|—)\s*@?([A-Za-z][A-Za-z0-9_.]{2,31})"),
    "_CHANNEL_RE": re.compile(
        r"(?i)(?<![\w])(" + "|".join(sorted(map(re.escape, c._CHANNELS), key=len, reverse=True))
        + r")(?![\w])"),
    "_AT_GATE_RE": re.compile(
        r"(?i)[\s\[\(\{<](?:at|arroba|собака|собачка|равлик|coada)[\s\]\)\}>]"),
}

# pieces that exercise every rule of the scope: inert words (with "." and other endings),
# number words, look-alike words, spelled at/dot, keyed keywords, channel names, dots and
# TLDs, digits, separators, double spaces and other white space, case variants that
# re.IGNORECASE folds (ſ, K, ı, İ, Cyrillic variant letters), NFKC-changed characters
PIECES = ["anna", "gmail", "mail.", "com", "ru", "Hola,", "amigo!", "noche?", "dia;", "site.",
          "one", "two", "nine", "Nueve", "cinco.", "дев'ять", "пʼять", "sase", "трi", "oh",
          "So", "lol", "Is", "OIl", "B", "o", "s", "at", "AT", "[at]", "(dot)", "dot", "Dot",
          "arroba", "собака", "ᲃобака", "точка", "крапка", "punto", "tg", "TG:", "telegram",
          "insta", "ıg", "ſignal", "whatsapp", "WhatsApp", "wa", "kiwa", "viber", "тг",
          "www.", "www.x.com", "t.me/anna", "@anna", "@", ".", ". ", ":", "-", "—", "/", "(",
          ")", "+", "0", "1", "5", "7", "9", "12", "555", "917", "0123", "+1", "(201)",
          "555-0123", "9️⃣", "➐", "５", "\u200b", "ﬁne", "\u00a0", "\n", "\t", "  ", " ", " ",
          " ", " ", " ", "K", "İ", "ﷺ", "word", "palabra", "cuvânt", "слово", "слово.", "és"]


def random_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 60))) for _ in range(n)]


def corpus_texts() -> list[tuple[str, str]]:
    out = []
    for regime in ({"edit_rate": 0.13, "max_boilerplate": 3, "copy_share": 0.15},
                   {"edit_rate": 0.01, "max_boilerplate": 1, "copy_share": 0.05}):
        corpus = generate_corpus(CorpusSettings(n_ads=1_500, seed=11, **regime))
        out += list(zip(corpus.text, corpus.region, strict=True))
    out += [(k.text, k.region) for k in contact_cases(1_500, seed=5)]
    return out


def full(text: str, region: str) -> list[tuple[str, str, str, str | None]]:
    return [(p.kind, p.value, p.raw, p.channel) for p in c._extract(text, region, scoped=False)]


def scoped(text: str, region: str) -> list[tuple[str, str, str, str | None]]:
    return [(p.kind, p.value, p.raw, p.channel) for p in c.extract_contacts(text, region)]


def test_scope_gives_the_contacts_of_the_whole_text_on_corpora() -> None:
    texts = corpus_texts()
    cut = 0
    for text, region in texts:
        assert scoped(text, region) == full(text, region), text
        cut += len(c._scope(text)[0]) < len(text)
    assert cut > len(texts) // 2  # the scope does cut most generated ads


@pytest.mark.parametrize("seed", [1, 2])
def test_scope_gives_the_contacts_of_the_whole_text_on_random_texts(seed: int) -> None:
    found = 0
    for text in random_texts(6_000, seed):
        for region in ("US", "UA"):
            want = full(text, region)
            assert scoped(text, region) == want, text
            found += bool(want)
    assert found > 1_000


def test_scope_cases() -> None:
    # an e-mail whose dots stand before spaces, far from its "at", is kept whole
    assert scoped("write to anna at gmail. mail. com today please", "US") == \
        full("write to anna at gmail. mail. com today please", "US") != []
    # the channel window before a phone reads into the prose before it
    text = "text me on whatsapp my love baby 917 555 0123 now"
    assert scoped(text, "US")[0][3] == "whatsapp" == full(text, "US")[0][3]
    # prose alone has nothing to read
    assert c._scope("hello my dear friend, see you tonight.")[0] == ""
    # the number-word pass runs only where three number words may stand, the look-alike
    # pass where a look-alike token stands, the spelled-at scan where an "at" may stand
    assert c._scope("call nine one seven 555 0123")[1] == (True, False, False)
    assert c._scope("call one time at 555 0123")[1] == (False, False, True)
    assert c._scope("llama 6l2 34 S6 78")[1] == (False, True, False)
    assert c._scope("anna[AT]mail.ru")[1] == (False, False, True)


def test_lookahead_led_patterns_match_as_their_plain_forms() -> None:
    texts = random_texts(8_000, 3) + [t for t, _ in corpus_texts()[:2_000]]
    texts += [c.deobfuscate(t) for t in texts[:3_000]]
    for t in texts:  # a gate: only whether it finds something counts
        assert bool(c._AT_GATE_RE.search(t)) == bool(PLAIN["_AT_GATE_RE"].search(t)), t
    for name, plain in PLAIN.items():
        if name == "_AT_GATE_RE":
            continue
        ours = getattr(c, name)
        for t in texts:
            assert [m.group(0) for m in ours.finditer(t)] == \
                [m.group(0) for m in plain.finditer(t)], (name, t)
            assert ([m.span() for m in ours.finditer(t)]
                    == [m.span() for m in plain.finditer(t)]), (name, t)
    swap = PLAIN["_SWAP_RUN_RE"]
    for t in texts:
        assert c._SWAP_RUN_RE.sub(c._swap_letters, t) == swap.sub(c._swap_letters, t)
