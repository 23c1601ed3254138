"""Job fields read back from a flattened EMSCAD text, and the sample's text normalisation."""

from __future__ import annotations

import pytest

from safelight.detect.fraud_fields import (
    TailFields,
    describe_field_token,
    field_tokens,
    normalise_value,
    parse_tail,
)
from safelight.detect.fraud_text import emscad_record_text, normalise_ad_text

_RECORD = {
    "company_profile": "We're a <b>fast-growing</b> logistics firm in Houston.",
    "description": "Data Entry Clerk needed. Visit #URL_abc123# or e-mail #EMAIL_def456#!",
    "requirements": "High school diploma; typing 40 wpm.",
    "benefits": None,
    "title": "Data Entry Clerk",
    "location": "US, TX, Houston",
    "employment_type": "Part-time",
    "required_experience": "Entry level",
    "required_education": "High School or equivalent",
    "industry": "Oil & Energy",
    "function": "Administrative",
}


def test_record_text_follows_the_publishers_steps() -> None:
    text = emscad_record_text(_RECORD)
    words = text.split()
    assert text == text.lower() and "<b>" not in text
    assert "fast" in words and "growing" in words          # '-' became a space, tag removed
    assert not {"a", "in", "or", "we"} & set(words)           # NLTK stop words dropped
    assert not any("url_" in w or "email_" in w for w in words)
    # the title already occurs in the description (case-sensitively), so it is skipped
    assert text.count("data entry clerk") == 1
    assert text.endswith("us tx houston part time entry level high school equivalent "
                         "oil energy administrative")


def test_normalisation_is_idempotent_and_keeps_clean_text() -> None:
    raw = "Earn $500/week — NO experience needed!!! Apply at http://x.example"
    once = normalise_ad_text(raw)
    assert normalise_ad_text(once) == once
    assert "earn" in once.split() and "500" in once.split() and "!" not in once
    clean = "data entry clerk us tx houston full time"
    assert normalise_ad_text(clean) == clean
    assert normalise_ad_text("") == "" and normalise_ad_text(None) == ""  # type: ignore[arg-type]


def test_parse_tail_reads_every_field_of_a_record() -> None:
    # (a title already in the description is skipped by the publisher: then the words before
    # the location are the requirements', so this record gets a title of its own)
    f = parse_tail(emscad_record_text(dict(_RECORD, title="Office Assistant")))
    assert f.function == "administrative" and f.industry == "oil energy"
    assert f.education == "high school equivalent" and f.experience == "entry level"
    assert f.employment == "part time"
    assert (f.country, f.state, f.city) == ("us", "us tx", "houston")
    assert f.title.endswith("office assistant")
    assert f.tail_words == 13      # 1 + 2 + 3 + 2 + 2 words of fields, 3 of location


def test_absent_fields_stay_absent_and_ambiguity_keeps_the_longer_reading() -> None:
    # no education/experience/function; "management consulting" is an industry, not the
    # function "consulting" followed by a stray word
    f = parse_tail("great job visit us boston full time management consulting")
    assert f.industry == "management consulting" and f.function == ""
    assert f.employment == "full time" and f.education == "" and f.experience == ""
    assert f.country == "us" and f.city == "boston"
    # a state code that is also a country code ("ca") does not displace "us"
    g = parse_tail("senior engineer us ca manhattan beach full time computer software")
    assert (g.country, g.state, g.city) == ("us", "us ca", "manhattan beach")
    assert parse_tail("") == TailFields()
    assert parse_tail("nothing structured here really") == TailFields()


def test_field_tokens_and_their_descriptions() -> None:
    toks = field_tokens("clerk needed us tx houston part time oil energy")
    assert "industry=oil energy" in toks and "function=none" in toks
    assert "state=us tx" in toks and "title:clerk" in toks and "fields_missing=3" in toks
    assert describe_field_token("industry=oil energy") == "industry ‘oil energy’"
    assert describe_field_token("education=none") == "no required education stated"
    assert describe_field_token("title:clerk") == "job-title word ‘clerk’"
    assert "3 of 5" in describe_field_token("fields_missing=3")


@pytest.mark.parametrize(("value", "words"), [
    ("Oil & Energy", ("oil", "energy")), ("Bachelor's Degree", ("bachelor", "degree")),
    ("Not Applicable", ("applicable",)), ("Writing/Editing", ("writing", "editing")),
    ("Health, Wellness and Fitness", ("health", "wellness", "fitness")),
])
def test_vocabulary_values_normalise_like_the_text(value: str, words: tuple[str, ...]) -> None:
    assert normalise_value(value) == words
    assert tuple(normalise_ad_text(value).split()) == words


@pytest.mark.realdata
def test_emscad_tails_parse(shared_data) -> None:  # noqa: ANN001 - conftest fixture
    from safelight.detect.fraud import load_emscad

    folder = shared_data / "ads" / "emscad_variants"
    if not folder.exists():
        pytest.skip(f"{folder} is absent")
    texts, y = load_emscad(folder)
    fields = [parse_tail(t) for t in texts]
    # measured 2026-11-30: a country code in 96% of ads, a state in 72%, an industry in 66%
    assert sum(bool(f.country) for f in fields) / len(fields) > 0.9
    assert sum(bool(f.industry) for f in fields) / len(fields) > 0.55
    oil = [f.industry == "oil energy" for f in fields]
    # 'oil energy' is a fraud cue of EMSCAD (109 fraudulent, 14 legitimate ads in the sample)
    assert sum(o and lab for o, lab in zip(oil, y, strict=True)) > 5 * sum(
        o and not lab for o, lab in zip(oil, y, strict=True))
