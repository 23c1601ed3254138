"""The consent vocabulary that identity maps and release inputs share."""

import pytest

from safelight.standard.codelists import codelist
from safelight.standard.consent import LABELS, consent_key, consent_words


@pytest.mark.parametrize("word,linkage,statistics", [
    ("full", True, True), ("Full", True, True), ("повна", True, True),
    ("statistics_only", False, True), ("StatisticsOnly", False, True),
    ("Statistics-only", False, True), ("лише статистика", False, True),
    ("NoConsent", False, False), ("No consent", False, False), ("brak zgody", False, False),
    ("withdrawn", False, False), ("Відкликана", False, False),
    ("yes", True, True), ("так", True, True), ("ні", False, False),
])
def test_words_allow_what_their_code_allows(word, linkage, statistics) -> None:
    assert consent_words("linkage")[consent_key(word)] is linkage
    assert consent_words("statistics")[consent_key(word)] is statistics


def test_no_word_reads_two_ways_and_every_label_names_a_code() -> None:
    codes = codelist("consent").codes
    assert set(LABELS) <= set(codes)
    seen: dict[str, str] = {}
    for code, labels in LABELS.items():
        for word in (code, codes[code].label, *labels):
            assert seen.setdefault(consent_key(word), code) == code, word


def test_unknown_words_are_not_guessed() -> None:
    words = consent_words("statistics")
    for word in ("agreed", "consent", "maybe", "", "n/a"):
        assert consent_key(word) not in words


@pytest.mark.parametrize("word", ["-1", "-1.0", "_1_", "1-"])
def test_a_sign_or_separator_at_a_words_end_is_kept(word) -> None:
    """Review (2026-12-01): dropping every `-` and `_` read `-1` as `1` (yes): a refusal
    became consent. Only separators between two letters or digits go."""
    assert consent_key(word) != consent_key(word.strip("-_"))
    assert consent_key(word) not in consent_words("linkage")
