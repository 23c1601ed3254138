"""Indicator lexicon: multilingual matching, explained hits, and no single-indicator flags."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from safelight.detect.indicators import (
    DEFAULT_LEXICON,
    IndicatorLexiconError,
    find_indicators,
    fold,
    load_lexicon,
    score_hits,
    score_text,
)

LANGS = ("en", "uk", "ru", "es", "ro")


def test_lexicon_is_documented_and_multilingual() -> None:
    lex = load_lexicon()
    assert len(lex.indicators) >= 12
    for ind in lex.indicators.values():
        assert set(LANGS) <= set(ind.terms), f"{ind.id} lacks a language"
        assert all(ind.terms[lang] for lang in LANGS), ind.id
        assert ind.sources and all(s in lex.sources for s in ind.sources)
        assert ind.ilo and ind.name
    assert "ILO2012" in lex.sources and "Ibanez2014" in lex.sources


@pytest.mark.parametrize("text, indicator, language", [
    ("NO EXPERIENCE needed, apply now", "no_experience", "en"),
    ("Робота без досвіду роботи", "no_experience", "uk"),
    ("Работа без опыта, зарплата сразу", "no_experience", "ru"),
    ("Trabajo sin experiencia previa", "no_experience", "es"),
    ("Angajăm FĂRĂ EXPERIENȚĂ", "no_experience", "ro"),       # diacritics and case folded
    ("Angajam fara experienta", "no_experience", "ro"),       # written without diacritics
    ("Надаємо житло безкоштовно", "accommodation_provided", "uk"),   # inflection via житл*
    ("Бесплатное жильё для работников", "accommodation_provided", "ru"),
    ("Your visa and the flights are paid by us", "travel_paid", "en"),  # words apart (gap)
    ("New in town!! only here for the weekend", "new_in_town", "en"),
    ("Nueva en la ciudad", "new_in_town", "es"),
    ("She is waiting for you", "third_person", "en"),
    ("Barely legal and sweet", "age_hinting", "en"),
    ("Школьница, совсем молоденькая", "age_hinting", "ru"),
])
def test_matching_is_robust_and_explained(text: str, indicator: str, language: str) -> None:
    hits = [h for h in find_indicators(text) if h.indicator == indicator]
    assert hits, f"{indicator} not found in {text!r}"
    h = hits[0]
    assert h.language == language
    assert text[h.start:h.end] == h.matched          # span points into the original text
    assert h.term in h.explain() and h.name in h.explain() and h.sources[0] in h.explain()


def test_no_false_hit_inside_words_and_ordinary_ads() -> None:
    assert not find_indicators("We are a software company seeking an engineer with five "
                               "years of experience in Python and a university degree.")
    # 'urgent*' must not match inside another word, 'live in' not across sentences of prose
    assert not [h for h in find_indicators("insurgent resurgence") if h.indicator == "urgency"]


def test_high_pay_rule() -> None:
    hits = find_indicators("Cleaning job, earn €3.000 per week")
    assert any(h.indicator == "easy_money" and h.language == "numeric" for h in hits)
    assert not [h for h in find_indicators("Cleaning job, €400 per week")
                if h.indicator == "easy_money"]


def test_a_single_indicator_never_flags_an_ad() -> None:
    lex = load_lexicon()
    for ind in lex.indicators.values():
        # every term of one indicator, in every language, repeated: still one indicator
        text = ". ".join(t.replace("*", "") for ts in ind.terms.values() for t in ts) * 3
        s = score_text(text, lex)
        found = set(s.indicators)
        single = score_hits([h for h in s.hits if h.indicator == ind.id], lex)
        assert not single.flagged, ind.id
        assert single.score < lex.flag_score
        if found == {ind.id}:
            assert not s.flagged


def test_combined_indicators_flag_and_score_grows() -> None:
    lex = load_lexicon()
    one = score_text("Work abroad", lex)
    few = score_text("Work abroad, no experience, free accommodation", lex)
    many = score_text("URGENT! Work abroad, no experience, free accommodation, visa paid, "
                      "registration fee 200 eur", lex)
    assert one.score < few.score < many.score
    assert not one.flagged and many.flagged
    assert len(many.reasons()) == len(many.hits) >= 5


def test_loader_refuses_a_lexicon_where_one_indicator_flags(tmp_path: Path) -> None:
    data = yaml.safe_load(DEFAULT_LEXICON.read_text("utf-8"))
    data["indicators"][0]["weight"] = 10.0
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with pytest.raises(IndicatorLexiconError, match="alone scores"):
        load_lexicon(bad)
    data = yaml.safe_load(DEFAULT_LEXICON.read_text("utf-8"))
    data["flag_min_indicators"] = 1
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with pytest.raises(IndicatorLexiconError, match="at least 2"):
        load_lexicon(bad)
    data = yaml.safe_load(DEFAULT_LEXICON.read_text("utf-8"))
    data["indicators"][0]["sources"] = ["Nobody2020"]
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with pytest.raises(IndicatorLexiconError, match="Nobody2020"):
        load_lexicon(bad)


def test_fold() -> None:
    assert fold("ȘȚĂÎÂ") == fold("ştăîâ") == "staia"
    assert fold("обов’язково") == fold("обов'язково")


def test_packing_without_objects_gives_the_same_arrays() -> None:
    """``IndicatorTable.pack_texts`` equals packing ``score_text``'s objects, with the word
    caches cold and warm (a folded word holding spaces included: ﷺ folds to four words)."""
    import numpy as np

    from safelight.detect import indicators as ind
    from safelight.detect.corpus import CorpusSettings, generate_corpus

    texts = generate_corpus(CorpusSettings(n_ads=1_500, seed=3, edit_rate=0.13)).text
    texts = list(texts) + ["no experience needed ﷺ visa paid", "FĂRĂ EXPERIENȚĂ, cazare", ""]
    lex = load_lexicon()
    lex.forget_words()
    packed = ind.IndicatorTable.pack_texts(texts, lex)
    warm = ind.IndicatorTable.pack_texts(texts, lex)
    objects = ind.IndicatorTable.pack([score_text(t, lex) for t in texts], lex)
    assert packed[3].size > 1_000  # hits
    for a, b, c in zip(packed, warm, objects, strict=True):
        assert a.dtype == c.dtype and np.array_equal(a, c) and np.array_equal(b, c)
    lex.forget_words()
