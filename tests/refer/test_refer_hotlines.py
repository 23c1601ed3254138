"""Checks of the cited hotline file (``safelight/refer/data/hotlines.csv``) that a hand edit can break."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

from safelight.refer import finder
from safelight.standard import geography

COLUMNS = ["country", "name", "number", "dial", "hours", "source_url", "source_title", "retrieved", "note"]


def _rows() -> list[dict[str, str]]:
    finder.load_hotlines.cache_clear()
    return list(finder.load_hotlines())


def test_header_is_the_documented_one():
    text = (finder.resources.files("safelight.refer") / "data" / "hotlines.csv").read_text(encoding="utf-8")
    header = next(csv.reader(io.StringIO("\n".join(ln for ln in text.splitlines() if ln and not ln.startswith("#")))))
    assert header == COLUMNS


def test_dial_is_the_number_with_only_digits_and_plus():
    for r in _rows():
        assert re.fullmatch(r"\+?\d{3,}", r["dial"]), r
        assert r["dial"] == "".join(ch for ch in r["number"] if ch.isdigit() or ch == "+"), (
            f"{r['country']} {r['name']}: dial {r['dial']!r} is not the digits of {r['number']!r}")


def test_countries_are_iso_alpha3_and_country_numbers_unique():
    seen: set[tuple[str, str]] = set()
    for r in _rows():
        assert geography.country(r["country"]).alpha3 == r["country"]
        key = (r["country"], r["dial"])
        assert key not in seen, f"duplicate row for {key}"
        seen.add(key)


def test_every_row_names_its_line_and_page_and_has_a_real_date():
    for r in _rows():
        assert r["name"].strip() and r["source_title"].strip(), r
        assert re.fullmatch(r"https?://\S+", r["source_url"]), r["source_url"]
        assert dt.date.fromisoformat(r["retrieved"]) <= dt.date.today() + dt.timedelta(days=1)
