"""Parsers for one distinct raw value: dates, whole numbers, published counts, codes.

Each parser maps a raw string to ``(value, error)`` where ``error`` is ``None`` or a
``(rule, message)`` pair naming the quarantine rule. The converter calls them once per distinct
value of a chunk; dates also have a vectorised regular-expression form (:func:`date_regex`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from safelight.ingest.profile import FieldMap
from safelight.standard.codelists import codelist
from safelight.standard.crosswalk import normalise_key
from safelight.standard.schema import Field

MISSING = object()  # a lookup found nothing (distinct from an explicit null mapping)
# Each parser maps one distinct normalised raw value to (canonical value, error) where error is
# None or (rule, message).

ParseResult = tuple[Any, tuple[str, str] | None]

NUMERIC_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%Y/%m/%d", "%d-%m-%Y", "%Y.%m.%d",
                         "%Y-%m", "%m.%Y", "%m/%Y", "%Y")
_SIMPLE_FMT = re.compile(r"^%([dmY])([-./ ]?)%([dmY])(?:\2%([dmY]))?$|^%Y$")


def _compile_date_format(fmt: str) -> Callable[[str], tuple[int, int | None, int | None] | None]:
    """A fast parser for numeric formats (%d %m %Y with one separator); strptime otherwise."""
    if fmt == "%Y":
        def parse_year(s: str):
            return (int(s), None, None) if len(s) == 4 and s.isdigit() else None
        return parse_year
    m = _SIMPLE_FMT.match(fmt)
    if m and m.group(2):
        order = [g for g in (m.group(1), m.group(3), m.group(4)) if g]
        sep = m.group(2)

        def parse(s: str):
            parts = s.split(sep)
            if len(parts) != len(order) or not all(p.isdigit() for p in parts):
                return None
            got = dict(zip(order, parts, strict=True))
            if len(got["Y"]) != 4 or any(len(got[k]) > 2 for k in "dm" if k in got):
                return None
            return int(got["Y"]), int(got["m"]) if "m" in got else None, int(got["d"]) if "d" in got else None
        return parse

    def parse_strptime(s: str):
        try:
            d = dt.datetime.strptime(s, fmt)
        except ValueError:
            return None
        return d.year, d.month if "%m" in fmt or "%b" in fmt or "%B" in fmt else None, d.day if "%d" in fmt else None
    return parse_strptime


@lru_cache(maxsize=64)
def date_regex(fmt: str) -> str | None:
    """A numeric strftime format as a regex with named groups (``%d.%m.%Y`` → ``^(?P<d>...)``).

    Only ``%d``, ``%m`` and ``%Y`` and literal characters are supported; other formats return
    None and are parsed value by value.
    """
    out = ["^"]
    i = 0
    seen = set()
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            code = fmt[i + 1]
            if code not in "dmY" or code in seen:
                return None
            seen.add(code)
            out.append(f"(?P<{code}>[0-9]{{4}})" if code == "Y" else f"(?P<{code}>[0-9]{{1,2}})")
            i += 2
        else:
            out.append(re.escape(fmt[i]))
            i += 1
    return "".join(out) + "$" if "Y" in seen else None


def make_date_parser(formats: tuple[str, ...], *, past_only: bool) -> Callable[[str], ParseResult]:
    today = dt.date.today()  # taken when the parser is made, so a long-running process stays right
    parsers = [_compile_date_format(f) for f in (formats or NUMERIC_DATE_FORMATS)]
    tried = ", ".join(formats or NUMERIC_DATE_FORMATS)

    def parse(raw: str) -> ParseResult:
        s = raw.strip()
        if len(s) >= 19 and s[10] in " T" and s[4] == "-":  # spreadsheet datetime
            s = s[:10]
        for p in parsers:
            parts = p(s)
            if parts is None:
                continue
            y, m, d = parts
            if not 1800 <= y <= 2200:
                return None, ("invalid_date", f"year {y} is not plausible")
            if m is not None and not 1 <= m <= 12:
                return None, ("invalid_date", f"month {m} does not exist")
            if d is not None:
                try:
                    date = dt.date(y, m, d)  # type: ignore[arg-type]
                except ValueError:
                    return None, ("invalid_date", f"{raw!r} is not a calendar date")
            else:
                date = None
            if past_only and (date or dt.date(y, m or 1, 1)) > today:
                return None, ("date_in_future", f"{raw!r} lies in the future")
            return (y, m, d, date), None
        return None, ("invalid_date", f"{raw!r} matches none of the date formats ({tried})")
    return parse


def int_parser(f: Field) -> Callable[[str], ParseResult]:
    def parse(raw: str) -> ParseResult:
        s = raw.strip().replace(" ", "")
        try:
            value = float(s) if ("." in s or "e" in s.lower()) else int(s)
        except ValueError:
            return None, ("invalid_integer", f"{raw!r} is not a whole number")
        if isinstance(value, float):
            if not value.is_integer():
                return None, ("invalid_integer", f"{raw!r} is not a whole number")
            value = int(value)
        if (f.minimum is not None and value < f.minimum) or (f.maximum is not None and value > f.maximum):
            return None, ("out_of_range", f"{value} is outside {f.minimum}–{f.maximum}")
        return value, None
    return parse


def count_parser(raw: str) -> ParseResult:
    """Published counts: '12' → (12, 12, 12); '<5' → (None, 1, 4) — a censored small count."""
    s = raw.strip().replace(",", "").replace(" ", "")
    if s.startswith("<"):
        try:
            bound = int(float(s[1:]))
        except ValueError:
            return None, ("invalid_count", f"{raw!r} is not a count")
        return (None, 1, max(bound - 1, 1)), None
    try:
        value = float(s)
    except ValueError:
        return None, ("invalid_count", f"{raw!r} is not a count")
    if value < 0 or value != value:
        return None, ("invalid_count", f"{raw!r} is negative")
    v = int(round(value)) if abs(value - round(value)) < 1e-9 else value
    return (v, v, v), None


def code_lookup(fm: FieldMap) -> Callable[[str], Any]:
    """Normalised raw value → canonical code(s), None (explicitly missing) or MISSING (unknown)."""
    cl = codelist(fm.field.codelist) if fm.field.codelist else None
    own: dict[str, Any] = dict(fm.values)
    if cl is not None:
        for code in cl.codes.values():
            own.setdefault(normalise_key(code.code), code.code)
            own.setdefault(normalise_key(code.label), code.code)

    def lookup(key: str) -> Any:
        return own.get(key, MISSING)
    return lookup
