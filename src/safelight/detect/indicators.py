"""Trafficking and recruitment-fraud indicators in ad text: every hit explained, combined score.

Contract
--------
* :func:`load_lexicon` reads ``indicators.yaml`` (shipped next to this module; documented there,
  with the ILO indicator and the study behind every entry) or another file of the same shape.
  It refuses (:class:`IndicatorLexiconError`) a lexicon where one indicator alone would reach the
  flag level, so **a single indicator never flags an ad** by construction.
* :func:`find_indicators` returns the :class:`Hit` objects of one text: indicator, the lexicon
  term, its language, the character span in the *original* text, the matched words, the ILO
  indicator and the sources. Matching folds case, diacritics and apostrophes (``fără`` =
  ``fara``, ``ЖИТЛО`` = ``житло``), lets a term's words stand up to ``gap`` words apart, and a
  word ending in ``*`` matches inflected forms (``житл*``). One rule is numeric: a pay amount in
  EUR/USD/GBP far above what unskilled work earns (see :data:`HIGH_PAY`) counts as ``easy_money``.
* :func:`score_hits` combines the *distinct* indicators hit into a probability
  ``1 / (1 + exp(-(prior + Σ weight)))`` (weights are log-likelihood ratios; many hits of one
  indicator count once) and says whether the ad is *flagged*: score ≥ ``flag_score`` and at least
  ``flag_min_indicators`` distinct indicators. A flag is a prompt for a human, never a verdict.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from safelight.errors import SafelightError

__all__ = ["HIGH_PAY", "Hit", "Indicator", "IndicatorLexiconError", "IndicatorScore",
           "IndicatorTable", "Lexicon", "find_indicators", "fold", "load_lexicon", "score_hits",
           "score_text"]

DEFAULT_LEXICON = Path(__file__).with_name("indicators.yaml")
_TOKEN_RE = re.compile(r"\w+(?:['’ʼ`]\w+)*")
_APOSTROPHES = str.maketrans("", "", "'’ʼ`")

#: Pay per period (EUR, USD or GBP) from which an offer is "far above market" for work that asks
#: no qualification: about 3x the 2024 EU median hourly/daily/weekly/monthly gross wage.
HIGH_PAY = {"hour": 60.0, "day": 450.0, "week": 2500.0, "month": 9000.0}
_CUR = r"(?:€|\$|£|eur|euro|euros|usd|dollars?|gbp|pounds?|євро|евро|долар\w*|доллар\w*)"
_NUM = r"(\d{1,3}(?:[ .,]\d{3})+|\d+)(?:[.,]\d{1,2})?"
_PERIODS = {
    "hour": r"hour|hr|h|час|годину|hora|ora",
    "day": r"day|daily|день|сутки|добу|dia|día|zi",
    "week": r"week|weekly|неделю|тиждень|semana|saptamana|săptămână",
    "month": r"month|monthly|mo|месяц|місяць|mes|luna|lună",
}
_PERIOD = "|".join(f"(?P<{k}>{v})" for k, v in _PERIODS.items())
# (the leading lookahead names the characters a match can start with — a digit or a currency's
# first character, case-folded as the rest — so the scan skips every other position)
_PAY_RE = re.compile(
    rf"(?=[\d€$£eudgpєед])(?:{_CUR}\s?{_NUM}|{_NUM}\s?{_CUR})\s*(?:/|per|a|an|в|на|за|al|por|pe|la)?\s*(?:{_PERIOD})\b",
    re.IGNORECASE)


class IndicatorLexiconError(SafelightError):
    """The indicator lexicon file is malformed or would let one indicator flag an ad."""

    exit_code = 4


class _FoldTable(dict):
    """``str.translate`` table filled on first use: a character -> its folded form."""

    def __missing__(self, code: int) -> str:
        decomposed = unicodedata.normalize("NFKD", chr(code))
        folded = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
        folded = folded.translate(_APOSTROPHES)
        self[code] = folded
        return folded


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """Case-, diacritic- and apostrophe-folded form of ``text`` (the matching view)."""
    return text.translate(_FOLD)


@dataclass(frozen=True)
class Indicator:
    """One lexicon entry: ``terms`` maps a language code to its term strings."""

    id: str
    name: str
    ilo: str
    sources: tuple[str, ...]
    weight: float
    terms: dict[str, tuple[str, ...]]
    rule: str | None = None


@dataclass
class Lexicon:
    """The loaded lexicon and its combination settings."""

    indicators: dict[str, Indicator]
    sources: dict[str, str]
    prior_log_odds: float
    flag_score: float
    flag_min_indicators: int
    gap: int
    path: str
    # first word of a term -> (indicator id, language, term, compiled term); exact and prefix
    _exact: dict[str, list[_Term]] = field(default_factory=dict, repr=False)
    _prefix: dict[str, list[_Term]] = field(default_factory=dict, repr=False)
    _prefix_lengths: tuple[int, ...] = field(default=(), repr=False)
    # folded word -> the terms that may start at it (filled on first use: words repeat a lot)
    _starts: dict[str, list[_Term]] = field(default_factory=dict, repr=False, compare=False)
    _terms: list[tuple[str, str, str]] = field(default_factory=list, repr=False, compare=False)
    # folded word -> one alternation of the terms that may start at it (None: not cached)
    _gates: dict[str, re.Pattern[str]] = field(default_factory=dict, repr=False, compare=False)
    # folded word -> the second words of the terms that may start at it: (exact words,
    # prefixes), or None when one of them has a single word (see :func:`_second_word_near`)
    _seconds: dict[str, tuple[frozenset[str], tuple[str, ...]] | None] = field(
        default_factory=dict, repr=False, compare=False)
    # term -> its folded words (``*`` as the suffix "star_mark")
    _words: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        _LEXICONS.append(weakref.ref(self))

    def forget_words(self) -> None:
        """Empty the caches of words seen in ads (this lexicon's and the process's folded
        words): an analysis's words must not outlive it in a long-lived process."""
        self._starts.clear()
        self._gates.clear()
        self._seconds.clear()
        _FOLDED.clear()
        _ODD.clear()

    def _candidates(self, w: str) -> list[_Term]:
        """The terms that may start at folded word ``w`` (exact first word or prefix)."""
        got = self._starts.get(w)
        if got is None:
            got = list(self._exact.get(w, ()))
            for k in self._prefix_lengths:
                if k > len(w):
                    break
                got.extend(self._prefix.get(w[:k], ()))
            if len(self._starts) < 500_000:
                self._starts[w] = got
                if got:  # (a word that starts no term is never tried)
                    self._seconds[w] = self._second_words(got)
        return got

    def _second_words(self, terms: list[_Term]
                      ) -> tuple[frozenset[str], tuple[str, ...]] | None:
        """The second words of ``terms``, exact and as prefixes (``*``); None when one of
        them has a single word (it matches wherever it may start)."""
        exact: set[str] = set()
        prefixes: list[str] = []
        for t in terms:
            words = self._words.get(t[2])
            if words is None:
                words = self._words[t[2]] = _term_words(t[2])
            if len(words) < 2:
                return None
            if words[1].endswith("star_mark"):
                prefixes.append(words[1][:-len("star_mark")])
            else:
                exact.add(words[1])
        return frozenset(exact), tuple(prefixes)

    def _gate(self, w: str, terms: list[_Term]) -> re.Pattern[str] | None:
        """One pattern matching where any of ``terms`` (those that may start at folded word
        ``w``) matches: where it does not, none does."""
        got = self._gates.get(w)
        if got is None and len(self._gates) < 500_000:
            got = re.compile("|".join(f"(?:{t[3].pattern})" for t in terms))
            self._gates[w] = got
        return got

    def term_table(self) -> list[tuple[str, str, str]]:
        """Every (indicator id, term, language) a hit can carry, numeric pay rules included,
        in a fixed order (the compact :class:`IndicatorTable` stores positions in it)."""
        if not self._terms:
            for ind in self.indicators.values():
                for lang, ts in ind.terms.items():
                    self._terms.extend((ind.id, t, lang) for t in ts)
                if ind.rule == "high_pay":
                    self._terms.extend((ind.id, _pay_term(p), "numeric") for p in HIGH_PAY)
        return self._terms

    def single_indicator_score(self, indicator_id: str) -> float:
        """Score of an ad whose only hit is ``indicator_id``."""
        return _sigmoid(self.prior_log_odds + self.indicators[indicator_id].weight)


@dataclass(frozen=True)
class Hit:
    """One indicator found in a text: where (``start``/``end`` in the original text) and why."""

    indicator: str
    name: str
    term: str
    language: str
    start: int
    end: int
    matched: str
    ilo: str
    sources: tuple[str, ...]

    def explain(self) -> str:
        """One line in words: what was found, which indicator it is, and on whose authority."""
        return (f"{self.name} — “{self.matched}” (term “{self.term}”, {self.language}, "
                f"chars {self.start}–{self.end}; ILO: {self.ilo}; {', '.join(self.sources)})")


@dataclass(frozen=True)
class IndicatorScore:
    """Combined score of one ad: probability, flag, and the distinct indicators behind it."""

    score: float
    flagged: bool
    indicators: tuple[str, ...]
    hits: tuple[Hit, ...]

    def reasons(self) -> list[str]:
        """The explanation of every hit, one line each (empty when nothing was found)."""
        return [h.explain() for h in self.hits]


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


_Term = tuple[str, str, str, "re.Pattern[str]"]


def _term_words(term: str) -> list[str]:
    words = [fold(w) for w in _TOKEN_RE.findall(term.replace("*", "STAR_MARK"))]
    if not words:
        raise IndicatorLexiconError(f"indicator term {term!r} has no word — remove it")
    return words


def _term_regex(term: str, gap: int) -> str:
    words = _term_words(term)
    parts = []
    for w in words:
        if w.endswith("star_mark"):
            parts.append(re.escape(w[:-len("star_mark")]) + r"\S*")
        else:
            parts.append(re.escape(w) + r"(?!\S)")
    between = rf"(?:\s\S+){{0,{gap}}}?\s"
    return r"(?<!\S)" + between.join(parts)


def _parse(data: object, path: str) -> Lexicon:
    if not isinstance(data, dict) or not isinstance(data.get("indicators"), list):
        raise IndicatorLexiconError(f"{path}: expected a mapping with an 'indicators' list — "
                                    "see src/safelight/detect/indicators.yaml for the shape")
    sources = {str(k): str(v) for k, v in (data.get("sources") or {}).items()}
    indicators: dict[str, Indicator] = {}
    for k, raw in enumerate(data["indicators"]):
        where = f"{path}: indicators[{k}]"
        try:
            ind = Indicator(id=str(raw["id"]), name=str(raw["name"]), ilo=str(raw["ilo"]),
                            sources=tuple(str(s) for s in raw["sources"]),
                            weight=float(raw["weight"]),
                            terms={str(lang): tuple(str(t) for t in ts)
                                   for lang, ts in raw["terms"].items()},
                            rule=raw.get("rule"))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise IndicatorLexiconError(f"{where}: missing or invalid field ({exc}) — each "
                                        "indicator needs id, name, ilo, sources, weight, terms"
                                        ) from exc
        unknown = [s for s in ind.sources if s not in sources]
        if unknown:
            raise IndicatorLexiconError(f"{where} ({ind.id}): source(s) {unknown} not in "
                                        "'sources' — cite them there")
        if ind.id in indicators:
            raise IndicatorLexiconError(f"{where}: indicator id {ind.id!r} repeated")
        indicators[ind.id] = ind
    lex = Lexicon(indicators=indicators, sources=sources,
                  prior_log_odds=float(data.get("prior_log_odds", -3.0)),
                  flag_score=float(data.get("flag_score", 0.5)),
                  flag_min_indicators=int(data.get("flag_min_indicators", 2)),
                  gap=int(data.get("gap", 2)), path=path)
    if lex.flag_min_indicators < 2:
        raise IndicatorLexiconError(f"{path}: flag_min_indicators must be at least 2 (a single "
                                    "indicator never flags an ad)")
    for ind in indicators.values():
        if lex.single_indicator_score(ind.id) >= lex.flag_score:
            raise IndicatorLexiconError(
                f"{path}: indicator {ind.id!r} alone scores "
                f"{lex.single_indicator_score(ind.id):.2f} ≥ flag_score {lex.flag_score} — "
                "lower its weight or the prior (a single indicator must never flag an ad)")
    for ind in indicators.values():
        for lang, ts in ind.terms.items():
            for t in ts:
                first = _term_words(t)[0]
                entry = (ind.id, lang, t, re.compile(_term_regex(t, lex.gap)))
                if first.endswith("star_mark"):
                    lex._prefix.setdefault(first[:-len("star_mark")], []).append(entry)
                else:
                    lex._exact.setdefault(first, []).append(entry)
    lex._prefix_lengths = tuple(sorted({len(k) for k in lex._prefix}))
    return lex


#: every lexicon of the process, so that :func:`forget_all_words` reaches them all (the one
#: an analysis was given and the cached one its in-process indicator step loads by path)
_LEXICONS: list[weakref.ref[Lexicon]] = []


def forget_all_words() -> None:
    """Empty the word caches of every lexicon in the process and the folded words
    (:meth:`Lexicon.forget_words`): an analysis calls it when it ends."""
    _FOLDED.clear()
    _ODD.clear()
    live = [ref for ref in _LEXICONS if ref() is not None]
    _LEXICONS[:] = live
    for ref in live:
        lex = ref()
        if lex is not None:
            lex.forget_words()


@lru_cache(maxsize=8)
def _load_cached(path: str) -> Lexicon:
    try:
        data = yaml.safe_load(Path(path).read_text("utf-8"))
    except OSError as exc:
        raise IndicatorLexiconError(f"{path}: cannot read the indicator lexicon ({exc})") from exc
    except yaml.YAMLError as exc:
        raise IndicatorLexiconError(f"{path}: not valid YAML ({exc}) — fix the file") from exc
    return _parse(data, path)


def load_lexicon(path: str | Path | None = None) -> Lexicon:
    """The lexicon at ``path`` (default: the shipped ``indicators.yaml``), parsed and checked."""
    return _load_cached(str(Path(path or DEFAULT_LEXICON).resolve()))


# a text without a currency word or sign cannot hold a pay amount (gate before the slow pattern)
_CUR_GATE = ("€", "$", "£", "eur", "usd", "dollar", "gbp", "pound", "євро", "евро", "долар",
             "доллар")


def _pay_term(period: str) -> str:
    """The term a numeric pay hit shows (its reason)."""
    return f"pay ≥ {HIGH_PAY[period]:g} per {period}"


def _high_pay(text: str) -> list[tuple[int, int, str]]:
    low = text.casefold()  # casefold: as re.IGNORECASE, ſ is s
    if not any(c in low for c in _CUR_GATE):
        return []
    found: list[tuple[int, int, str]] = []
    for m in _PAY_RE.finditer(text):
        amount = next(g for g in m.groups()[:2] if g)
        value = float(re.sub(r"[ .,]", "", amount))
        period = next(k for k in HIGH_PAY if m.group(k))
        if value >= HIGH_PAY[period]:
            found.append((m.start(), m.end(), _pay_term(period)))
    return found


#: folded form of every word seen (a plain dict read through ``map(dict.get)`` in C: cheaper
#: than a cache wrapper per word); bounded, and emptied by :meth:`Lexicon.forget_words`
_FOLDED: dict[str, str] = {}
_FOLDED_MAX = 262_144
#: folded words that are empty or hold white space (ﷺ folds to four words): a text with one
#: is matched without the second-word test (emptied with :data:`_FOLDED`)
_ODD: set[str] = set()

def _token_starts(text: str, words: list[str], upto: int) -> list[int]:
    """Start offsets in ``text`` of tokens ``0..upto`` (``words`` are ``_TOKEN_RE.findall``'s).

    Every word character of ``text`` belongs to a token, so between two tokens there is none,
    and the first occurrence of a token's text from the previous token's end is the token."""
    out: list[int] = []
    pos = 0
    find = text.find
    for w in words[:upto + 1]:
        pos = find(w, pos)
        out.append(pos)
        pos += len(w)
    return out


def _fold_words(words: list[str]) -> list[str]:
    """``[fold(w) for w in words]``, through the :data:`_FOLDED` cache."""
    folded = list(map(_FOLDED.get, words))
    if None in folded:
        for k, w in enumerate(words):
            if folded[k] is None:
                f = fold(w)
                folded[k] = f
                if f.split() != [f]:
                    _ODD.add(f)
                if len(_FOLDED) < _FOLDED_MAX:
                    _FOLDED[w] = f
    return folded  # type: ignore[return-value]


#: a word that may start this many terms or more is first tried against all of them at once
_GATE_MIN = 3


def _second_word_near(lex: Lexicon, folded: list[str], at: list[int]) -> list[int]:
    """The places of ``at`` (word positions in ``folded``) where a term may match: some term
    that may start there has its second word among the words after it that the gap allows
    (exact, or by prefix for ``*``), or has a single word (or the word is not known). A
    term's pattern lets at most ``gap`` whole words stand between its first and second word,
    over words joined by single spaces, so its second word is a whole word among these."""
    seconds = lex._seconds
    reach = lex.gap + 2
    starts = str.startswith
    keep = []
    for t0 in at:
        second = seconds.get(folded[t0])
        if second is not None:
            after = folded[t0 + 1:t0 + reach]
            if second[0].isdisjoint(after) and not (
                    second[1] and any(map(starts, after, itertools.repeat(second[1])))):
                continue
        keep.append(t0)
    return keep


def _match_terms(lex: Lexicon, word: str, terms: list[_Term], joined: str, pos: int
                 ) -> list[tuple[str, str, str, int]]:
    """(indicator, language, term, end offset) of each of ``terms`` (those that may start at
    folded word ``word``) that matches ``joined`` at ``pos``; a word that starts many terms
    first tries them all at once (see :meth:`Lexicon._gate`)."""
    if len(terms) >= _GATE_MIN:
        gate = lex._gate(word, terms)
        if gate is not None and not gate.match(joined, pos):
            return []
    out = []
    for ind_id, lang, term, rx in terms:
        m = rx.match(joined, pos)
        if m:
            out.append((ind_id, lang, term, m.end()))
    return out


def _raw_hits(text: str | None, lex: Lexicon) -> list[tuple[int, int, str, str, str]]:
    """The hits of :func:`find_indicators` as (start, end, indicator, term, language)."""
    if not text:
        return []
    # words folded and looked up through map (in C: cached words by a dict lookup); only the
    # words where a term may start are visited, and of those only where a term's second word
    # follows within the gap; a word that starts many terms (без, no, 24) first tries all of
    # them at once (one alternation)
    words = _TOKEN_RE.findall(text)
    if not words:
        return []
    folded = _fold_words(words)
    cands = list(map(lex._starts.get, folded))
    if None in cands:
        cands = [c if c is not None else lex._candidates(w)
                 for c, w in zip(cands, folded, strict=True)]
    found: dict[str, list[tuple[int, int, str, str]]] = {}
    at = list(itertools.compress(range(len(cands)), cands))
    if at and (not _ODD or _ODD.isdisjoint(folded)):
        # the words are the \S+ runs of ``joined`` one by one (none is empty or holds a
        # space): a term's second word is one of the gap + 1 words after its first
        at = _second_word_near(lex, folded, at)
    if at:
        joined = " ".join(folded)
        n = len(folded)
        matched: list[tuple[int, int, str, str, str]] = []  # token span, indicator, term, lang
        pos0, prev = 0, 0  # offset in ``joined`` of word ``prev``
        for t0 in at:
            pos0 += sum(map(len, folded[prev:t0])) + t0 - prev
            prev = t0
            for ind_id, lang, term, end in _match_terms(lex, folded[t0], cands[t0], joined,
                                                        pos0):
                # the word holding the match's last character: the last whose start <= end - 1
                t1, p = t0, pos0
                while t1 + 1 < n and p + len(folded[t1]) + 1 <= end - 1:
                    p += len(folded[t1]) + 1
                    t1 += 1
                matched.append((t0, t1, ind_id, term, lang))
        if matched:  # character offsets only for texts with a hit
            pos = _token_starts(text, words, max(t1 for _, t1, _, _, _ in matched))
            for t0, t1, ind_id, term, lang in matched:
                found.setdefault(ind_id, []).append((pos[t0], pos[t1] + len(words[t1]),
                                                     term, lang))
    for ind_id, ind in lex.indicators.items():
        if ind.rule == "high_pay":
            found.setdefault(ind_id, []).extend((a, b, why, "numeric")
                                                for a, b, why in _high_pay(text))
    hits: list[tuple[int, int, str, str, str]] = []
    for ind_id, cands in found.items():
        end = -1
        for a, b, term, lang in sorted(cands, key=lambda c: (c[0], -c[1])):
            if a >= end:  # overlapping hits of one indicator count once (the longest first)
                hits.append((a, b, ind_id, term, lang))
                end = b
    hits.sort(key=lambda h: (h[0], h[2]))
    return hits


def find_indicators(text: str | None, lexicon: Lexicon | None = None) -> list[Hit]:
    """Every indicator hit in ``text``, in text order (see the module docstring)."""
    lex = lexicon or load_lexicon()
    hits = []
    for a, b, ind_id, term, lang in _raw_hits(text, lex):
        ind = lex.indicators[ind_id]
        hits.append(Hit(ind_id, ind.name, term, lang, a, b, text[a:b], ind.ilo,  # type: ignore[index]
                        ind.sources))
    return hits


def score_hits(hits: Sequence[Hit], lexicon: Lexicon | None = None) -> IndicatorScore:
    """Combine hits into a score and a flag (distinct indicators only; see the module)."""
    lex = lexicon or load_lexicon()
    distinct = tuple(sorted({h.indicator for h in hits}))
    logit = lex.prior_log_odds + sum(lex.indicators[i].weight for i in distinct)
    score = _sigmoid(logit)
    flagged = score >= lex.flag_score and len(distinct) >= lex.flag_min_indicators
    return IndicatorScore(score, flagged, distinct, tuple(hits))


def score_text(text: str | None, lexicon: Lexicon | None = None) -> IndicatorScore:
    """:func:`find_indicators` then :func:`score_hits`."""
    lex = lexicon or load_lexicon()
    return score_hits(find_indicators(text, lex), lex)


class IndicatorTable(Sequence[IndicatorScore]):
    """The indicator scores of many ads in compact arrays (about 30 bytes per ad instead of
    close to a kilobyte of objects); ``table[i]`` rebuilds ad ``i``'s :class:`IndicatorScore`,
    its hits' matched words cut from the ad's text.

    ``score`` (float64) and ``flagged`` (bool) per ad; hits in CSR form: ``hit_ptr`` (per ad),
    ``hit_term`` (position in :meth:`Lexicon.term_table`), ``hit_start``/``hit_end`` (span in
    the ad's text), in the order :func:`find_indicators` gives them.
    """

    def __init__(self, lexicon: Lexicon, texts: Sequence[str], score: np.ndarray,
                 flagged: np.ndarray, hit_ptr: np.ndarray, hit_term: np.ndarray,
                 hit_start: np.ndarray, hit_end: np.ndarray) -> None:
        self.lexicon, self.texts = lexicon, texts
        self.score, self.flagged = score, flagged
        self.hit_ptr, self.hit_term = hit_ptr, hit_term
        self.hit_start, self.hit_end = hit_start, hit_end
        terms = lexicon.term_table()
        ids = sorted(lexicon.indicators)
        self._term_ind = np.array([ids.index(t[0]) for t in terms], dtype=np.int64)
        self._ids = ids
        # distinct indicators of every ad as a bit mask (at most 63 indicators: else None)
        self._mask: np.ndarray | None = None
        self._mask_ids: dict[int, tuple[str, ...]] = {}
        self._explain_parts: list[tuple[str, str, str]] | None = None
        if len(ids) < 64 and hit_term.size:
            bits = np.left_shift(np.int64(1), self._term_ind[hit_term])
            nonempty = np.flatnonzero(np.diff(hit_ptr) > 0)
            self._mask = np.zeros(len(score), dtype=np.int64)
            self._mask[nonempty] = np.bitwise_or.reduceat(bits, hit_ptr[nonempty])

    @staticmethod
    def pack(scores: Sequence[IndicatorScore], lexicon: Lexicon
             ) -> tuple[np.ndarray, ...]:
        """The arrays of ``scores`` (a worker's chunk), ready for :meth:`concat`."""
        index = {t: k for k, t in enumerate(lexicon.term_table())}
        hits = [h for sc in scores for h in sc.hits]
        return (np.array([sc.score for sc in scores], dtype=np.float64),
                np.array([sc.flagged for sc in scores], dtype=bool),
                np.array([len(sc.hits) for sc in scores], dtype=np.int64),
                np.array([index[(h.indicator, h.term, h.language)] for h in hits],
                         dtype=np.int32),
                np.array([h.start for h in hits], dtype=np.int32),
                np.array([h.end for h in hits], dtype=np.int32))

    @staticmethod
    def pack_texts(texts: Sequence[str], lexicon: Lexicon) -> tuple[np.ndarray, ...]:
        """``pack([score_text(t, lexicon) for t in texts], lexicon)``, without building the
        :class:`Hit` and :class:`IndicatorScore` objects (the same arrays)."""
        index = {t: k for k, t in enumerate(lexicon.term_table())}
        weights = {k: ind.weight for k, ind in lexicon.indicators.items()}
        prior, need = lexicon.prior_log_odds, lexicon.flag_min_indicators
        scores, flags, counts = [], [], []
        terms: list[int] = []
        starts: list[int] = []
        ends: list[int] = []
        for text in texts:
            hits = _raw_hits(text, lexicon)
            distinct = sorted({h[2] for h in hits})
            score = _sigmoid(prior + sum(weights[i] for i in distinct))
            scores.append(score)
            flags.append(score >= lexicon.flag_score and len(distinct) >= need)
            counts.append(len(hits))
            for a, b, ind_id, term, lang in hits:
                terms.append(index[(ind_id, term, lang)])
                starts.append(a)
                ends.append(b)
        return (np.array(scores, dtype=np.float64), np.array(flags, dtype=bool),
                np.array(counts, dtype=np.int64), np.array(terms, dtype=np.int32),
                np.array(starts, dtype=np.int32), np.array(ends, dtype=np.int32))

    @classmethod
    def concat(cls, parts: Sequence[tuple[np.ndarray, ...]], texts: Sequence[str],
               lexicon: Lexicon) -> IndicatorTable:
        """One table from the packed chunks of consecutive ads."""
        def cat(k: int, dtype: type) -> np.ndarray:
            return (np.concatenate([p[k] for p in parts]) if parts
                    else np.zeros(0, dtype=dtype))
        counts = cat(2, np.int64)
        ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return cls(lexicon, texts, cat(0, np.float64), cat(1, bool), ptr, cat(3, np.int32),
                   cat(4, np.int32), cat(5, np.int32))

    def __len__(self) -> int:
        return int(self.score.size)

    def indicator_ids(self, i: int) -> tuple[str, ...]:
        """The distinct indicators of ad ``i``, sorted (without building its hits)."""
        if self._mask is not None:
            return self._ids_of_mask(int(self._mask[i]))
        ks = self._term_ind[self.hit_term[self.hit_ptr[i]:self.hit_ptr[i + 1]]]
        return tuple(self._ids[k] for k in sorted(set(ks.tolist())))

    def indicator_counts(self, idx: np.ndarray) -> dict[str, int]:
        """How many of the ads ``idx`` hold each indicator (only those held; the same counts
        as from :meth:`indicator_ids` ad by ad — counted per distinct set of indicators)."""
        counts: dict[str, int] = {}
        if self._mask is None:
            for i in idx.tolist():
                for ind in self.indicator_ids(i):
                    counts[ind] = counts.get(ind, 0) + 1
            return counts
        masks = self._mask[idx]
        bits = (masks[:, None] >> np.arange(len(self._ids), dtype=np.int64)[None, :]) & 1
        per = bits.sum(axis=0)
        for k in np.flatnonzero(per).tolist():
            counts[self._ids[k]] = int(per[k])
        return counts

    def _ids_of_mask(self, m: int) -> tuple[str, ...]:
        got = self._mask_ids.get(m)
        if got is None:
            got = tuple(self._ids[k] for k in range(len(self._ids)) if m >> k & 1)
            self._mask_ids[m] = got
        return got

    def n_with_hits(self) -> int:
        """Ads with at least one hit."""
        return int((np.diff(self.hit_ptr) > 0).sum())

    def explained(self, i: int) -> tuple[str, str]:
        """Ad ``i``'s indicators joined by ``;`` and its hits' explanations
        (:meth:`Hit.explain`) joined by `` | `` — the same strings as from ``table[i]``,
        made from each term's fixed parts without building the hits."""
        lo, hi = int(self.hit_ptr[i]), int(self.hit_ptr[i + 1])
        if lo == hi:
            return "", ""
        if self._explain_parts is None:
            self._explain_parts = []
            for ind_id, term, lang in self.lexicon.term_table():
                ind = self.lexicon.indicators[ind_id]
                self._explain_parts.append((f"{ind.name} — “", f"” (term “{term}”, {lang}, chars ",
                                            f"; ILO: {ind.ilo}; {', '.join(ind.sources)})"))
        text = self.texts[i]
        lines = []
        for t, a, b in zip(self.hit_term[lo:hi].tolist(), self.hit_start[lo:hi].tolist(),
                           self.hit_end[lo:hi].tolist(), strict=True):
            pre, mid, post = self._explain_parts[t]
            lines.append(f"{pre}{text[a:b]}{mid}{a}–{b}{post}")
        return ";".join(self.indicator_ids(i)), " | ".join(lines)

    def __getitem__(self, i):  # type: ignore[override]  # noqa: ANN001, ANN204
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        terms = self.lexicon.term_table()
        text = self.texts[i]
        hits = []
        for k in range(int(self.hit_ptr[i]), int(self.hit_ptr[i + 1])):
            ind_id, term, lang = terms[int(self.hit_term[k])]
            ind = self.lexicon.indicators[ind_id]
            a, b = int(self.hit_start[k]), int(self.hit_end[k])
            hits.append(Hit(ind_id, ind.name, term, lang, a, b, text[a:b], ind.ilo,
                            ind.sources))
        return IndicatorScore(float(self.score[i]), bool(self.flagged[i]),
                              tuple(sorted({h.indicator for h in hits})), tuple(hits))
