"""The indicator matcher's shortcuts (the second-word test, offsets in ``joined`` computed only
where a term is tried, the lookahead-led pay scan) give the hits of the plain matcher."""

from __future__ import annotations

import bisect
import itertools
import random
import re

from safelight.detect import indicators as ind
from safelight.detect.corpus import CorpusSettings, generate_corpus
from safelight.detect.indicators import load_lexicon

PAY_PLAIN = re.compile(
    rf"(?:{ind._CUR}\s?{ind._NUM}|{ind._NUM}\s?{ind._CUR})\s*"
    r"(?:/|per|a|an|в|на|за|al|por|pe|la)?\s*" rf"(?:{ind._PERIOD})\b", re.IGNORECASE)


def plain_hits(text: str, lex: ind.Lexicon) -> list[tuple[int, int, str, str, str]]:
    """The matcher without shortcuts: every word where a term may start tries its terms."""
    words = ind._TOKEN_RE.findall(text)
    if not words:
        return []
    folded = [ind.fold(w) for w in words]
    starts = [0, *itertools.accumulate(len(f) + 1 for f in folded[:-1])]
    joined = " ".join(folded)
    found: dict[str, list[tuple[int, int, str, str]]] = {}
    matched = []
    for t0, w in enumerate(folded):
        for ind_id, lang, term, end in ind._match_terms(lex, w, lex._candidates(w), joined,
                                                        starts[t0]):
            matched.append((t0, bisect.bisect_right(starts, end - 1) - 1, ind_id, term, lang))
    if matched:
        pos = ind._token_starts(text, words, max(m[1] for m in matched))
        for t0, t1, ind_id, term, lang in matched:
            found.setdefault(ind_id, []).append((pos[t0], pos[t1] + len(words[t1]), term,
                                                 lang))
    for ind_id, indicator in lex.indicators.items():
        if indicator.rule == "high_pay":
            low = text.casefold()
            if any(c in low for c in ind._CUR_GATE):
                for m in PAY_PLAIN.finditer(text):
                    amount = next(g for g in m.groups()[:2] if g)
                    value = float(re.sub(r"[ .,]", "", amount))
                    period = next(k for k in ind.HIGH_PAY if m.group(k))
                    if value >= ind.HIGH_PAY[period]:
                        found.setdefault(ind_id, []).append(
                            (m.start(), m.end(), ind._pay_term(period), "numeric"))
    hits = []
    for ind_id, cands in found.items():
        end = -1
        for a, b, term, lang in sorted(cands, key=lambda c: (c[0], -c[1])):
            if a >= end:
                hits.append((a, b, ind_id, term, lang))
                end = b
    hits.sort(key=lambda h: (h[0], h[2]))
    return hits


def lexicon_texts(n: int, seed: int) -> list[str]:
    """Random texts of lexicon words (terms' words, their prefixes, gaps of other words),
    amounts with currencies, odd characters and spacing."""
    lex = load_lexicon()
    vocab = sorted({w for i in lex.indicators.values() for ts in i.terms.values() for t in ts
                    for w in t.replace("*", "").split()})
    vocab += ["ОПЫТА", "Experiencia,", "visa.", "житлом", "и", "de", "la", "24/7", "24", "7",
              "€", "$", "EUR", "euros", "1 500", "9000", "per", "month", "/", "hour", "на",
              "месяц", "ſalary", "ﷺ", "ﬁ", "x'y", "п’ять", "", "  ", "\n", "-", ".", ","]
    rng = random.Random(seed)
    return [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 40))) for _ in range(n)]


def test_shortcuts_give_the_plain_hits() -> None:
    lex = load_lexicon()
    lex.forget_words()
    corpus = generate_corpus(CorpusSettings(n_ads=2_000, seed=9, edit_rate=0.13,
                                            max_boilerplate=3, copy_share=0.15))
    texts = list(corpus.text) + lexicon_texts(4_000, 2)
    n_hits = 0
    for _ in range(2):  # caches cold, then warm
        for t in texts:
            want = plain_hits(t, lex)
            assert ind._raw_hits(t, lex) == want, t
            n_hits += len(want)
    assert n_hits > 10_000
    assert lex._seconds
    ind.forget_all_words()
    assert not ind._FOLDED and not ind._ODD and not lex._seconds and not lex._starts


def test_odd_folded_words_turn_the_second_word_test_off() -> None:
    lex = load_lexicon()
    for t in ["no ﷺ experience", "visa ﷺ and travel paid", "fara ﷺ experienta"]:
        assert ind._raw_hits(t, lex) == plain_hits(t, lex)
    assert ind._ODD  # ﷺ folds to four words


def test_pay_scan_matches_as_its_plain_form() -> None:
    texts = lexicon_texts(3_000, 4) + ["€9000 per month", "1.500 EUR/day", "500$ a day",
                                       "ЗП 3000 долларов в день", "100 ſ"]
    for t in texts:
        assert ([m.span() + m.groups() for m in ind._PAY_RE.finditer(t)]
                == [m.span() + m.groups() for m in PAY_PLAIN.finditer(t)]), t
