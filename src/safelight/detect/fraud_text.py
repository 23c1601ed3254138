"""The EMSCAD sample's text normalisation, applied to raw job ads so the fraud model sees one form.

Contract
--------
The balanced EMSCAD files the fraud model learns from were built (``SOURCE.md``; the
publisher's ``Code/00_Data_processing.py``) by concatenating company profile, description,
requirements, benefits, title, location, employment type, required experience, required
education, industry and function — a field whose value already occurs in the text so far is
skipped — then lower-casing, expanding a few contractions, deleting HTML tags, turning a fixed
set of punctuation characters into spaces, tokenising, and dropping NLTK's English stop words,
punctuation tokens and tokens containing ``url_`` or ``email_``.

:func:`normalise_ad_text` re-implements those steps (the tokeniser approximated by a regular
expression: word runs and single punctuation marks; NLTK is not needed). It is idempotent, so
texts of the sample pass through unchanged, and raw ads scored by a model trained on the sample
are put in the same form first. :func:`emscad_record_text` builds the concatenated text of one
raw record with the publisher's field order and skip rule. Pure functions; they never raise on
odd input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["EMSCAD_FIELDS", "STOP_WORDS", "emscad_record_text", "normalise_ad_text"]

#: Field order of the concatenated text.
EMSCAD_FIELDS = ("company_profile", "description", "requirements", "benefits", "title",
                 "location", "employment_type", "required_experience", "required_education",
                 "industry", "function")

#: NLTK's English stop-word list (the one the EMSCAD publisher removed).
STOP_WORDS = frozenset("""
i me my myself we our ours ourselves you you're you've you'll you'd your yours yourself
yourselves he him his himself she she's her hers herself it it's its itself they them their
theirs themselves what which who whom this that that'll these those am is are was were be been
being have has had having do does did doing a an the and but if or because as until while of at
by for with about against between into through during before after above below to from up down
in out on off over under again further then once here there when where why how all any both
each few more most other some such no nor not only own same so than too very s t can will just
don don't should should've now d ll m o re ve y ain aren aren't couldn couldn't didn didn't
doesn doesn't hadn hadn't hasn hasn't haven haven't isn isn't ma mightn mightn't mustn mustn't
needn needn't shan shan't shouldn shouldn't wasn wasn't weren weren't won won't wouldn wouldn't
""".split())

_CONTRACTIONS = (("n't", " not"), ("'ve", " have"), ("cause", "because"), ("'d", " would"),
                 ("'ll", " will"), ("'s", " is"), ("i'm", "i am"), ("i've", "i have"),
                 ("isn't", "is not"), ("'re", " are"))
_TAG = re.compile(r"<.*?>")
_SPACED = str.maketrans({c: " " for c in "\xa0.•‘’-–\r\n|/…+`\"',“”"})
_TOKEN = re.compile(r"\w+|[^\w\s]")


def normalise_ad_text(text: str) -> str:
    """``text`` in the EMSCAD sample's form (see the module docstring)."""
    s = (text or "").lower()
    for short, full in _CONTRACTIONS:
        s = s.replace(short, full)
    s = _TAG.sub("", s).replace("https", " ").replace("http", " ").translate(_SPACED)
    return " ".join(t for t in _TOKEN.findall(s)
                    if (t[0].isalnum() or t[0] == "_") and t not in STOP_WORDS
                    and "url_" not in t and "email_" not in t)


def emscad_record_text(record: Mapping[str, object]) -> str:
    """The normalised text of one raw EMSCAD-style record (missing fields skipped)."""
    text = ""
    for name in EMSCAD_FIELDS:
        value = record.get(name)
        value = "" if value is None or value != value else str(value)   # None / NaN
        if value.strip() and value not in text:
            text += value + " "
    return normalise_ad_text(text)
