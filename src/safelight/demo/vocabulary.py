"""The contributors' own terms for safelight's canonical codes, loaded from YAML.

Contract
--------
Each contributor writes codes (forms of exploitation, sectors, means of control, recruiter
relationship, victim status, consent, gender) in its own language or code system. The tables
live in ``demo/data/vocabulary_<lang>.yaml`` (``uk`` ``pl`` ``de`` ``it`` ``htcds`` ``ro``); this
module loads each file once into a read-only :class:`Vocabulary` (``UA``, ``PL``, ``DE``, ``IT``,
``HT``, ``RO``). The export rows (:mod:`safelight.demo.export_rows`) are written with these tables
and the mapping profiles (:mod:`safelight.demo.mapping_profiles`) read them inverted
(:func:`inverse`), so an export and its profile cannot disagree. Table order is significant (the
order of columns and of terms in a cell) and is kept as in the file. Callers must not mutate the
tables: they are shared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from safelight.demo.names import load_yaml

__all__ = [
    "DE",
    "HT",
    "IT",
    "PL",
    "RO",
    "SEX_OF_GENDER",
    "UA",
    "Vocabulary",
    "inverse",
    "terms",
]


@dataclass(frozen=True)
class Vocabulary:
    """One contributor's tables: canonical code -> own term (``flags``: column -> code)."""

    forms: dict[str, str]
    sectors: dict[str, str]
    recruiter: dict[str, str]
    consent: dict[str, str]
    gender: dict[str, str]
    status: dict[str, str] = field(default_factory=dict)
    means: dict[str, str] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)  # yes/no column -> means-of-control code
    sex_types: dict[str, str] = field(default_factory=dict)
    form_synonyms: dict[str, str] = field(default_factory=dict)  # extra term -> code
    notes: tuple[str, ...] = ()


def load_vocabulary(lang: str) -> Vocabulary:
    """Read ``demo/data/vocabulary_<lang>.yaml``."""
    doc = dict(load_yaml("safelight.demo", f"vocabulary_{lang}.yaml"))
    notes = tuple(doc.pop("notes", ()))
    return Vocabulary(**doc, notes=notes)


UA = load_vocabulary("uk")  # ua-hotline
PL = load_vocabulary("pl")  # pl-ngo
DE = load_vocabulary("de")  # de-police
IT = load_vocabulary("it")  # it-labour
HT = load_vocabulary("htcds")  # ng-ngo: HTCDS 2.0 system values [4]
RO = load_vocabulary("ro")  # ro-ngo

SEX_OF_GENDER = {"female": "female", "male": "male", "trans_nonconforming": "other"}


def inverse(vocab: dict[str, str], extra: dict[str, str] | None = None) -> dict[str, str]:
    """local term -> canonical code (the first code wins when two codes share a term)."""
    out: dict[str, str] = {}
    for code, term in vocab.items():
        out.setdefault(term, code)
    out.update(extra or {})
    return out


def terms(codes: Sequence[str], vocab: dict[str, str], sep: str) -> str:
    """The terms for ``codes`` joined by ``sep`` (unknown codes and repeats dropped)."""
    out: list[str] = []
    for c in codes:
        t = vocab.get(c)
        if t and t not in out:
            out.append(t)
    return sep.join(out)
